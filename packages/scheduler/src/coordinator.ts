import type { RunCoordinator } from 'node-cron';
import { keys, type RedisClient } from '@waiting-queue/shared';

/**
 * node-cron's run coordinator on Redis: of all scheduler processes, the first to `SET NX` a tick's key runs that
 * tick; the others skip it. The key is node-cron's `<task name>:<scheduled time ISO>`, the same in every process.
 * It is a liveness aid, not the safety net: admit-6.lua's fencing (tick time per item) keeps N per tick even if
 * two processes were both elected (e.g. Redis lost the key in a failover).
 */
export class RedisRunCoordinator implements RunCoordinator {
  constructor(
    private readonly redis: RedisClient,
    private readonly instanceId: string,
  ) {}

  /** @param ttlMs how long the election record is kept, milliseconds. */
  async shouldRun(key: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(keys.schedulerRun(key), this.instanceId, 'PX', ttlMs, 'NX')) === 'OK';
  }
}
