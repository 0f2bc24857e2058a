import type { ServerResponse } from 'node:http';
import { failure } from '@waiting-queue/http/envelope';
import { sendJson } from '@waiting-queue/http/http';

/**
 * Load shedding: at most `maxInFlight` requests are worked on at once by this process; the rest are answered at
 * once with 429 `TOO_MANY_REQUESTS` and `Retry-After: 1`, before any parsing or Redis work. Under a spike beyond
 * capacity, clients get a cheap, explicit "come back" instead of queueing inside the process until every request's
 * latency is past its timeout (the same reason Cloudflare's waiting room sheds at the edge).
 */
export class LoadShedder {
  private inFlight = 0;
  /** Requests shed since start. */
  shed = 0;

  /** @param maxInFlight concurrent requests per process; 0 switches shedding off. */
  constructor(private readonly maxInFlight: number) {}

  /**
   * Accepts the request (and releases its slot when the response closes), or sheds it: answers it with 429.
   * @returns true when the caller should go on handling the request.
   */
  accept(res: ServerResponse): boolean {
    if (this.maxInFlight <= 0) return true;
    if (this.inFlight >= this.maxInFlight) {
      this.shed++;
      sendJson(res, 429, failure('TOO_MANY_REQUESTS', 'the server is at capacity; retry shortly'), {
        'Retry-After': '1',
      });
      return false;
    }
    this.inFlight++;
    res.once('close', () => this.inFlight--);
    return true;
  }

  /** The cap, MAX_IN_FLIGHT (0: off). */
  get limit(): number {
    return this.maxInFlight;
  }

  /** Requests being worked on now. */
  get current(): number {
    return this.inFlight;
  }
}
