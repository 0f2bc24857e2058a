import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ItemStore } from '@waiting-queue/core/item-store';
import { keys } from '@waiting-queue/core/keys';
import { type Logger } from '@waiting-queue/core/logger';
import { QueueStore } from '@waiting-queue/core/queue-store';
import { type RedisClient } from '@waiting-queue/core/redis';
import { apiRoutes } from '@waiting-queue/http/route-tables';
import { pathOf } from '@waiting-queue/http/routes';
import { resetRequestMetrics } from './metrics';

/** Header that marks the api's own warm-up requests, with the process's random key as its value. */
export const WARMUP_HEADER = 'x-wq-warmup';

/** What {@link WarmUp.run} needs. */
export interface WarmUpRunOptions {
  redis: RedisClient;
  /** The api's own server, listening. */
  server: Server;
  /** A URL that reaches this process's own server (a cluster worker's private door); default its own address. */
  baseUrl?: string;
  logger: Logger;
  /** Bearer of /internal/v1, when set. */
  internalToken?: string;
  /** Registrations to drive (each with a poll), default 200. */
  rounds?: number;
}

/**
 * The api's warm-up and its bypass, in one place. Until {@link run} has finished, the api is warming up: it is not
 * ready, it sheds nothing (only its own requests arrive), and a request carrying {@link WARMUP_HEADER} = this
 * process's random key (never sent anywhere else) takes its userId from the `user-id` header and skips the rate
 * limits, so that warm-up works in JWT identity mode and under tight limits. Afterwards the header means nothing.
 */
export class WarmUp {
  private readonly key = randomBytes(24).toString('hex');
  private warming = true;

  /** True until {@link run} has finished. */
  get active(): boolean {
    return this.warming;
  }

  /** Whether `req` is one of this process's own warm-up requests: only while warming up, and only with the key. */
  owns(req: IncomingMessage): boolean {
    return this.warming && req.headers[WARMUP_HEADER] === this.key;
  }

  /**
   * Drives the warm-up ({@link driveWarmUp}) at the api's own server, forgets what its requests recorded in the
   * metrics, and ends warm-up (the bypass with it).
   * @throws when a warm-up request fails or Redis is unreachable: the api then fails to start.
   */
  async run(o: WarmUpRunOptions): Promise<void> {
    await driveWarmUp(o, o.baseUrl ?? selfUrl(o.server.address()), this.key);
    resetRequestMetrics();
    this.warming = false;
  }
}

/**
 * The URL at which this process reaches its own server: the address it bound (`server.address()`), or loopback
 * when it bound every address (`0.0.0.0`, `::`). With `API_HOST` set to one address, 127.0.0.1 may not be served.
 * @param bound what `server.address()` returned for a TCP server.
 * @returns e.g. `http://127.0.0.2:8080`, `http://[::1]:8080`.
 * @throws Error when the server is not bound to a TCP address (a pipe, or not listening).
 */
export function selfUrl(bound: AddressInfo | string | null): string {
  if (bound === null || typeof bound === 'string')
    throw new Error(`the api is not bound to a TCP address: ${String(bound)}`);
  let host = bound.address;
  if (host === '0.0.0.0') host = '127.0.0.1';
  else if (host === '::') host = '::1';
  return `http://${host.includes(':') ? `[${host}]` : host}:${bound.port}`;
}

/**
 * Warms the api's hot paths up before it reports ready: loads the Lua scripts on the server, and lets V8 compile
 * the register, poll, validate and consume routes, by driving real HTTP requests at the server itself.
 *
 * It uses a throw-away item `wq_warmup_<random>` that is not in the item registry (the scheduler never sees it)
 * and deletes every key of it afterwards, so no token lands in any real queue (warm-up tokens at the front of a
 * real queue would take the places of shoppers).
 *
 * @param baseUrl the server's own URL ({@link selfUrl}), e.g. `http://127.0.0.1:8080`.
 * @param key the process's warm-up key, sent in {@link WARMUP_HEADER} so that warm-up passes identity and limits.
 */
async function driveWarmUp(o: WarmUpRunOptions, baseUrl: string, key: string): Promise<void> {
  const { redis, logger, internalToken, rounds = 200 } = o;
  const itemId = `wq_warmup_${randomBytes(6).toString('hex')}`;
  const items = new ItemStore(redis);
  const queue = new QueueStore(redis);
  const started = Date.now();
  const auth: Record<string, string> = internalToken ? { authorization: `Bearer ${internalToken}` } : {};
  const pass: Record<string, string> = { [WARMUP_HEADER]: key };
  try {
    await items.upsert(
      itemId,
      { itemName: 'warm-up', remainCount: rounds, waitingQueueEnabled: true },
      { register: false },
    );
    const tokens: string[] = [];
    for (let i = 0; i < rounds; i += 20) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(20, rounds - i) }, async (_, j) => {
          const userId = `warmup${i + j}`;
          const reg = await fetch(baseUrl + pathOf(apiRoutes.register, { itemId }), {
            method: 'POST',
            headers: { 'user-id': userId, ...pass },
          });
          const token = ((await reg.json()) as { data: { waitingQueueToken: string } }).data.waitingQueueToken;
          await (
            await fetch(baseUrl + pathOf(apiRoutes.poll, { itemId, waitingQueueToken: token }), {
              headers: { 'user-id': userId, ...pass },
            })
          ).arrayBuffer();
          return token;
        }),
      );
      tokens.push(...batch);
    }
    await queue.admit(itemId, { tokenCountToMove: rounds, admissionTtlMs: 60_000, fence: 1, tickMs: 1000 });
    for (const token of tokens.slice(0, 50)) {
      await (
        await fetch(baseUrl + pathOf(apiRoutes.validate, { itemId, waitingQueueToken: token }), { headers: auth })
      ).arrayBuffer();
      await (
        await fetch(baseUrl + pathOf(apiRoutes.consume, { itemId, waitingQueueToken: token }), {
          method: 'POST',
          headers: auth,
        })
      ).arrayBuffer();
    }
    logger.info({ ms: Date.now() - started, rounds }, 'warm-up done');
  } finally {
    await redis.del(...keys.queue(itemId), keys.lastPoll(itemId), keys.outbox(itemId));
  }
}
