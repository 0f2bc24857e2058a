import { Cluster } from 'ioredis';
import { isRedisUnavailable } from '@waiting-queue/core/errors';
import { keys } from '@waiting-queue/core/keys';
import { type Logger } from '@waiting-queue/core/logger';
import { type RedisClient } from '@waiting-queue/core/redis';

/**
 * The tick's slot on the Redis clock: Redis `TIME` rounded to the nearest multiple of `tickMs`, epoch ms. Every
 * scheduler that fires for one tick gets the same slot whatever its own host clock says (within half a tick of
 * jitter), and the slot is at most half a tick ahead of Redis time, so admit-7.lua accepts it as a fence.
 * On a Cluster, TIME goes to the first master that answers (connected ones first), so a failing-over master does
 * not stop the tick.
 * @param tickMs the admission tick interval, milliseconds (> 0).
 * @throws when Redis is unreachable (on a Cluster: no master answered).
 */
export async function redisSlotMs(redis: RedisClient, tickMs: number): Promise<number> {
  const [sec, usec] = await redisTime(redis);
  const nowMs = Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
  return Math.round(nowMs / tickMs) * tickMs;
}

/** Redis TIME as [seconds, microseconds], from any master of a Cluster that answers. */
export async function redisTime(redis: RedisClient): Promise<(string | number)[]> {
  if (!(redis instanceof Cluster)) return redis.time();
  const masters = redis.nodes('master').sort((a, b) => Number(b.status === 'ready') - Number(a.status === 'ready'));
  let last: unknown = new Error("Cluster isn't ready: no master");
  for (const node of masters) {
    try {
      return await node.time();
    } catch (err) {
      last = err;
    }
  }
  throw last;
}

/**
 * The run election of the admission tick on Redis: of all scheduler processes, the first to `SET NX` a slot's key
 * (`wq:{scheduler}:run:<slot ISO>`, the slot from {@link redisSlotMs}, so from the Redis clock) runs that tick; the
 * others skip it. It is a liveness aid, not the safety net: admit-7.lua's fence (the slot, per item) keeps N per
 * tick even if two processes were both elected (e.g. Redis lost the key in a failover). While the election key's
 * master is unreachable (a Cluster failover), every scheduler runs the tick and the fence alone elects, per item:
 * that master must not stop the items of the other masters.
 */
export class RedisRunCoordinator {
  private readonly redis: RedisClient;
  private readonly instanceId: string;
  private readonly logger?: Logger;

  /**
   * @param o.instanceId this scheduler process's id, the value of the election keys it wins.
   * @param o.logger where an unreachable election key is reported (once a minute at most).
   */
  constructor(o: { redis: RedisClient; instanceId: string; logger?: Logger }) {
    this.redis = o.redis;
    this.instanceId = o.instanceId;
    this.logger = o.logger;
  }

  /**
   * @param slotMs the tick's slot, epoch ms (Redis clock).
   * @param ttlMs how long the election record is kept, milliseconds.
   * @returns true when this process runs the tick: it won the election, or the election key is unreachable
   * (isRedisUnavailable; the fence decides per item).
   * @throws other Redis errors.
   */
  async shouldRun(slotMs: number, ttlMs: number): Promise<boolean> {
    try {
      return (
        (await this.redis.set(
          keys.schedulerRun(new Date(slotMs).toISOString()),
          this.instanceId,
          'PX',
          ttlMs,
          'NX',
        )) === 'OK'
      );
    } catch (err) {
      if (!isRedisUnavailable(err)) throw err;
      const now = Date.now();
      if (now - this.lastWarning >= 60_000) {
        this.lastWarning = now;
        this.logger?.warn(
          { err: (err as Error).message },
          'run election key unreachable; running the tick, the per-item fence elects',
        );
      }
      return true;
    }
  }

  /** Host time of the last warning about an unreachable election key, ms (one a minute at most). */
  private lastWarning = -Infinity;
}
