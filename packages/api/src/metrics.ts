import { toWqError } from '@waiting-queue/core/errors';
import { Counter, Gauge, metricsRegistry } from '@waiting-queue/core/metrics';
import { httpRequestDuration } from '@waiting-queue/http/http-metrics';
import type { Operations } from './operations';

/**
 * `wq_registrations_total{result}`: registrations the api answered, `result` = `ok` (a new place or the place the
 * user already holds: registration is idempotent) or the errorCode of the refusal (e.g. `ITEM_CANNOT_USE_WAITING_QUEUE`,
 * `TOO_MANY_REQUESTS`): a bounded set of label values.
 */
export const registrations = new Counter({
  name: 'wq_registrations_total',
  help: 'Registrations answered by the api, by result (ok or the errorCode)',
  labelNames: ['result'] as const,
  registers: [metricsRegistry],
});

/** `wq_consumes_total{result}`: admissions consumed by order services (`ok`) and refused consumes (errorCode). */
export const consumes = new Counter({
  name: 'wq_consumes_total',
  help: 'Consumes of admissions answered by the api, by result (ok or the errorCode)',
  labelNames: ['result'] as const,
  registers: [metricsRegistry],
});

/**
 * `wq_polls_total{source}`: shopper polls answered, by where the answer came from: `memory` (the item's snapshot in
 * this process) or `redis`. Refused polls (400, 403, 404) are not counted.
 */
export const polls = new Counter({
  name: 'wq_polls_total',
  help: 'Shopper polls answered, by source (memory: the item snapshot in the api process; redis)',
  labelNames: ['source'] as const,
  registers: [metricsRegistry],
});

function counted<T>(counter: Counter<'result'>, work: Promise<T>): Promise<T> {
  return work.then(
    (v) => {
      counter.inc({ result: 'ok' });
      return v;
    },
    (err: unknown) => {
      counter.inc({ result: toWqError(err).errorCode });
      throw err;
    },
  );
}

/**
 * Wraps the api's operations so that registrations and consumes are counted, on both transports (the express
 * routes and the fast path call the same operations). Poll, validate and claim are not wrapped: the HTTP histogram counts
 * them by route and status already.
 */
export function instrumentOperations(ops: Operations): Operations {
  return {
    register: (req, itemId) => counted(registrations, ops.register(req, itemId)),
    poll: (req, itemId, token) => ops.poll(req, itemId, token),
    pollNow: (req, itemId, token) => ops.pollNow(req, itemId, token),
    validate: (req, itemId, token) => ops.validate(req, itemId, token),
    consume: (req, itemId, token) => counted(consumes, ops.consume(req, itemId, token)),
    claim: (req, itemId) => ops.claim(req, itemId),
  };
}

/**
 * Forgets what the request metrics recorded so far (HTTP durations, registrations, consumes, polls); the warm-up calls it
 * once it is done, so that the metrics start with the first real request.
 */
export function resetRequestMetrics(): void {
  httpRequestDuration.reset();
  registrations.reset();
  consumes.reset();
  polls.reset();
}

/**
 * Exposes the load shedder on scrape: `wq_requests_shed_total` (requests answered 429 at capacity, MAX_IN_FLIGHT),
 * `wq_requests_in_flight` (requests being worked on now) and `wq_requests_in_flight_limit` (MAX_IN_FLIGHT; 0: no
 * shedding), so that an alert can compare the two. Read when scraped: nothing on the request path.
 */
export function shedderMetrics(shedder: { shed: number; current: number; limit: number }): void {
  let reported = 0;
  new Counter({
    name: 'wq_requests_shed_total',
    help: 'Requests answered 429 by the load shedder (MAX_IN_FLIGHT)',
    registers: [metricsRegistry],
    collect() {
      this.inc(shedder.shed - reported);
      reported = shedder.shed;
    },
  });
  new Gauge({
    name: 'wq_requests_in_flight',
    help: 'Requests being worked on by this api process now (api workers: the busiest one)',
    registers: [metricsRegistry],
    aggregator: 'max',
    collect() {
      this.set(shedder.current);
    },
  });
  new Gauge({
    name: 'wq_requests_in_flight_limit',
    help: 'MAX_IN_FLIGHT of this api process: requests beyond it are shed with 429 (0: shedding off; per api worker)',
    registers: [metricsRegistry],
    aggregator: 'first',
    collect() {
      this.set(shedder.limit);
    },
  });
}
