import { keys } from './keys';
import type { RedisClient } from './redis';

/**
 * Abandonment is one setting that the api and the scheduler both read. The api owns it, because only the api
 * records last polls: at start it publishes its `ABANDON_AFTER_SECONDS` (as milliseconds, 0 = off) to Redis
 * (`wq:config:abandon-after-ms`), and every admission tick reads it from there. So a scheduler started without the
 * variable still drops silent users and trims the last-poll sets the api fills, instead of letting them grow for
 * ever; and one started with it cannot drop users whose polls the api no longer records.
 */

/**
 * Publishes the api's abandonment setting.
 * @param abandonAfterMs milliseconds after which a silent waiting user is dropped; 0: off.
 */
export async function publishAbandonAfterMs(redis: RedisClient, abandonAfterMs: number): Promise<void> {
  await redis.set(keys.abandonAfterMs, String(Math.max(0, Math.floor(abandonAfterMs))));
}

/**
 * The abandonment setting of the admission tick: the value the api published, or `fallbackMs` (the scheduler's
 * own ABANDON_AFTER_SECONDS x 1000) while no api has published one.
 * @returns milliseconds; 0: off.
 */
export async function readAbandonAfterMs(redis: RedisClient, fallbackMs: number): Promise<number> {
  const v = await redis.get(keys.abandonAfterMs);
  if (v === null) return fallbackMs;
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? n : 0;
}
