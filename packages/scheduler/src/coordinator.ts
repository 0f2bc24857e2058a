import { keys, type RedisClient } from '@waiting-queue/shared';

/**
 * The tick's slot on the Redis clock: Redis `TIME` rounded to the nearest multiple of `tickMs`, epoch ms. Every
 * scheduler that fires for one tick gets the same slot whatever its own host clock says (within half a tick of
 * jitter), and the slot is at most half a tick ahead of Redis time, so admit-6.lua accepts it as a fence.
 * @param tickMs the admission tick interval, milliseconds (> 0).
 * @throws when Redis is unreachable.
 */
export async function redisSlotMs(redis: RedisClient, tickMs: number): Promise<number> {
  const [sec, usec] = await redis.time();
  const nowMs = Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
  return Math.round(nowMs / tickMs) * tickMs;
}

/**
 * The run election of the admission tick on Redis: of all scheduler processes, the first to `SET NX` a slot's key
 * (`wq:{scheduler}:run:<slot ISO>`, the slot from {@link redisSlotMs}, so from the Redis clock) runs that tick; the
 * others skip it. It is a liveness aid, not the safety net: admit-6.lua's fence (the slot, per item) keeps N per
 * tick even if two processes were both elected (e.g. Redis lost the key in a failover).
 */
export class RedisRunCoordinator {
  constructor(
    private readonly redis: RedisClient,
    private readonly instanceId: string,
  ) {}

  /**
   * @param slotMs the tick's slot, epoch ms (Redis clock).
   * @param ttlMs how long the election record is kept, milliseconds.
   * @returns true when this process runs the tick.
   */
  async shouldRun(slotMs: number, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(keys.schedulerRun(new Date(slotMs).toISOString()), this.instanceId, 'PX', ttlMs, 'NX')) === 'OK';
  }
}
