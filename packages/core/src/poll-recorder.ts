import { keys } from './keys';
import type { Logger } from './logger';
import type { RedisClient } from './redis';
import { callScript } from './scripts';

/** What a {@link PollRecorder} works with. */
export interface PollRecorderOptions {
  redis: RedisClient;
  logger: Logger;
  /** How often each item's recorded polls are flushed, milliseconds. Default 1000. */
  intervalMs?: number;
  /**
   * Most users held per item between flushes; a poll beyond them is written through at the next flush only if a
   * slot frees, else counted in the warning the flush logs. Default 100,000.
   */
  maxPerItem?: number;
}

/**
 * Last polls written behind: with abandonment on, a poll answered from memory records its user here, and each
 * item's users are flushed to the item's last-poll set at most once per `intervalMs`, in one script call
 * (lua/touch-polls-1.lua: ZADD XX at one Redis time), instead of one write per poll. Abandonment allows this: a
 * user is dropped after ABANDON_AFTER_SECONDS without a poll, and `pollAfterMs` stays below half of that.
 *
 * A flush that fails keeps its users for the next one (a user polls again well within the abandonment window
 * anyway); users over `maxPerItem` are dropped with a logged count, never silently.
 */
export class PollRecorder {
  private pending = new Map<string, Set<string>>();
  private readonly timer: NodeJS.Timeout;
  private readonly maxPerItem: number;
  private overflow = 0;
  private flushing?: Promise<void>;

  constructor(private readonly o: PollRecorderOptions) {
    this.maxPerItem = o.maxPerItem ?? 100_000;
    this.timer = setInterval(() => void this.flush(), o.intervalMs ?? 1000);
    this.timer.unref();
  }

  /** Records that `userId` (a waiting user of `itemId`) polled now; written at the next flush. */
  record(itemId: string, userId: string): void {
    let users = this.pending.get(itemId);
    if (!users) this.pending.set(itemId, (users = new Set()));
    if (users.size < this.maxPerItem) users.add(userId);
    else if (!users.has(userId)) this.overflow++;
  }

  /** Users waiting to be flushed, over all items. */
  get size(): number {
    let n = 0;
    for (const users of this.pending.values()) n += users.size;
    return n;
  }

  /**
   * Writes every recorded poll now: one script call per item. Calls made while one runs share it.
   * Never throws: a failed item keeps its users for the next flush, and the failure is logged.
   */
  flush(): Promise<void> {
    this.flushing ??= this.flushOnce().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  /** Stops the timer and flushes what is recorded. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private async flushOnce(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    if (this.overflow > 0) {
      this.o.logger.warn(
        { dropped: this.overflow, maxPerItem: this.maxPerItem },
        'last polls over the per-item bound were not recorded; those users poll again before abandonment',
      );
      this.overflow = 0;
    }
    await Promise.all(
      [...batch].map(async ([itemId, users]) => {
        try {
          await callScript<number>(this.o.redis, 'wq_touch_polls', [keys.lastPoll(itemId)], [...users]);
        } catch (err) {
          this.o.logger.warn(
            { itemId, users: users.size, err: (err as Error).message },
            'last polls not written; kept for the next flush',
          );
          for (const u of users) this.record(itemId, u);
        }
      }),
    );
  }
}
