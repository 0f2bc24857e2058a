import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { apiRoutes, ItemStore, keys, pathOf, QueueStore, type Logger, type RedisClient } from '@waiting-queue/shared';
import { WARMUP_HEADER } from './operations';

/**
 * The URL at which this process reaches its own server: the address it bound (`server.address()`), or loopback
 * when it bound every address (`0.0.0.0`, `::`). With `API_HOST` set to one address, 127.0.0.1 may not be served.
 * @param bound what `server.address()` returned for a TCP server.
 * @returns e.g. `http://127.0.0.2:8080`, `http://[::1]:8080`.
 * @throws Error when the server is not bound to a TCP address (a pipe, or not listening).
 */
export function selfUrl(bound: AddressInfo | string | null): string {
  if (bound === null || typeof bound === 'string') throw new Error(`the api is not bound to a TCP address: ${String(bound)}`);
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
 * and deletes every key of it afterwards, so no token lands in any real queue (the original service put 160 junk
 * tokens at the front of its real queues).
 *
 * @param baseUrl the server's own URL ({@link selfUrl}), e.g. `http://127.0.0.1:8080`.
 * @param warmupKey the process's warm-up key (operations.ts WarmupPass), so warm-up passes identity and limits.
 * @param rounds registrations to drive (each with a poll), default 200.
 */
export async function warmUp(redis: RedisClient, baseUrl: string, logger: Logger, internalToken?: string, warmupKey?: string, rounds = 200): Promise<void> {
  const itemId = `wq_warmup_${randomBytes(6).toString('hex')}`;
  const items = new ItemStore(redis);
  const queue = new QueueStore(redis);
  const started = Date.now();
  const auth: Record<string, string> = internalToken ? { authorization: `Bearer ${internalToken}` } : {};
  const pass: Record<string, string> = warmupKey ? { [WARMUP_HEADER]: warmupKey } : {};
  try {
    await items.upsert(itemId, { itemName: 'warm-up', remainCount: rounds, waitingQueueEnabled: true }, { register: false });
    const tokens: string[] = [];
    for (let i = 0; i < rounds; i += 20) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(20, rounds - i) }, async (_, j) => {
          const userId = `warmup${i + j}`;
          const reg = await fetch(baseUrl + pathOf(apiRoutes.register, { itemId }), { method: 'POST', headers: { 'user-id': userId, ...pass } });
          const token = ((await reg.json()) as { data: { waitingQueueToken: string } }).data.waitingQueueToken;
          await (await fetch(baseUrl + pathOf(apiRoutes.poll, { itemId, waitingQueueToken: token }), { headers: { 'user-id': userId, ...pass } })).arrayBuffer();
          return token;
        }),
      );
      tokens.push(...batch);
    }
    await queue.admit(itemId, { tokenCountToMove: rounds, entryTtlMs: 60_000, fence: 1, tickMs: 1000 });
    for (const token of tokens.slice(0, 50)) {
      await (await fetch(baseUrl + pathOf(apiRoutes.validate, { itemId, waitingQueueToken: token }), { headers: auth })).arrayBuffer();
      await (await fetch(baseUrl + pathOf(apiRoutes.consume, { itemId, waitingQueueToken: token }), { method: 'POST', headers: auth })).arrayBuffer();
    }
    logger.info({ ms: Date.now() - started, rounds }, 'warm-up done');
  } finally {
    await redis.del(...keys.queue(itemId), keys.lastPoll(itemId), keys.outbox(itemId));
  }
}
