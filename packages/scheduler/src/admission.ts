import { readAbandonAfterMs } from '@waiting-queue/core/abandonment';
import { isRedisUnavailable } from '@waiting-queue/core/errors';
import { type ItemStore } from '@waiting-queue/core/item-store';
import { type Logger } from '@waiting-queue/core/logger';
import { type AdmitResult, type QueueStore } from '@waiting-queue/core/queue-store';
import { type RedisClient } from '@waiting-queue/core/redis';
import { type ReservationStore } from '@waiting-queue/core/reservation-store';
import { type SnapshotStore } from '@waiting-queue/core/snapshot-store';

/** Settings of the admission tick. */
export interface AdmissionOptions {
  /** Global N used until an operator stores one in Redis (TOKEN_COUNT_TO_MOVE). */
  defaultTokenCountToMove: number;
  /** Admission lifetime, milliseconds (ENTRY_TTL_SECONDS x 1000). */
  admissionTtlMs: number;
  /** Interval between ticks, milliseconds (from the cron expression). */
  tickMs: number;
  /**
   * Abandonment (ABANDON_AFTER_SECONDS x 1000): drop waiting users silent for this long; 0/absent: off. Used only
   * while no api has published its setting to Redis (abandonment.ts): the api's published value wins.
   */
  abandonAfterMs?: number;
  /** Retention of settled reservations, milliseconds (RESERVATION_RETENTION_SECONDS x 1000). */
  reservationRetentionMs: number;
}

/** What an {@link AdmissionTicker} works with. */
export interface AdmissionTickerOptions {
  items: ItemStore;
  queue: QueueStore;
  settings: AdmissionOptions;
  logger: Logger;
  /** With it, each item's due reservations are expired before its admission. */
  reservations?: ReservationStore;
  /** Where the api publishes its abandonment setting; absent: `settings.abandonAfterMs` only. */
  redis?: RedisClient;
  /** With it, each item this tick moved gets its snapshot taken, stored and published after its admission. */
  snapshots?: SnapshotStore;
}

/** Something that runs admission ticks: the {@link AdmissionTicker}, or a wrapper of it (metrics, history). */
export interface Ticker {
  /**
   * Runs one tick for the slot `slotMs` (epoch ms on the Redis clock, the fencing token).
   * @throws when the item registry or the global N cannot be read (Redis unreachable and nothing read before).
   */
  tick(slotMs: number): Promise<TickReport>;
}

/** Reservations expired (and settled ones purged) per item per tick, at most. */
export const RESERVATION_SWEEP_LIMIT = 1000;

/** What one tick did. */
export interface TickReport {
  /** The tick's slot, epoch ms on the Redis clock (its fencing token). */
  slotMs: number;
  tokenCountToMove: number;
  /** Tokens admitted this tick, over all items. */
  admittedCount: number;
  expired: number;
  items: (AdmitResult & { itemId: string })[];
  /** Items whose admission failed (Redis errors), retried next tick. */
  failed: string[];
  /** PENDING reservations expired this tick (their stock restored). */
  reservationsExpired: number;
  /** Waiting users dropped this tick for not polling. */
  abandoned: number;
}

/**
 * One admission tick over every registered item: for each, one Lua call that sweeps expired admissions and moves
 * up to N tokens from the waiting queue into the entry set (lua/admit-7.lua). Calls for all items are sent
 * together (auto-pipelining), so a tick costs about one round trip per Redis node. With a ReservationStore, each
 * item's due reservations are expired first (lua/expire-reservations-6.lua, sent just before the admission on the
 * same connection, so stock they restore reopens the item in the same tick); that sweep is idempotent, so two
 * schedulers running it at once restore each reservation's stock once. With a SnapshotStore, each item this run
 * moved then gets its snapshot taken, stored and published (snapshot-store.ts) for the api processes.
 */
export class AdmissionTicker implements Ticker {
  private readonly items: ItemStore;
  private readonly queue: QueueStore;
  private readonly options: AdmissionOptions;
  private readonly logger: Logger;
  private readonly reservations?: ReservationStore;
  private readonly redis?: RedisClient;
  private readonly snapshots?: SnapshotStore;

  constructor(o: AdmissionTickerOptions) {
    this.items = o.items;
    this.queue = o.queue;
    this.options = o.settings;
    this.logger = o.logger;
    this.reservations = o.reservations;
    this.redis = o.redis;
    this.snapshots = o.snapshots;
  }

  /**
   * Publishes `itemId`'s snapshot after this tick's admission (status OK: this run moved the item). A failure is
   * logged and the tick goes on: api processes fall back to reading the stored snapshot or Redis.
   */
  private async publishSnapshot(itemId: string, result: AdmitResult, slotMs: number): Promise<void> {
    if (!this.snapshots || result.status !== 'OK') return;
    try {
      await this.snapshots.publish(itemId, slotMs, this.options.tickMs);
    } catch (err) {
      this.logger.warn({ itemId, err: (err as Error).message }, 'snapshot not published for item; next tick retries');
    }
  }

  /** The last global settings read from Redis, used while their key's master is unreachable (a failover). */
  private lastKnown: { tokenCountToMove?: number; ids?: string[]; abandonAfterMs?: number } = {};

  /**
   * `read()`, remembered under `name`; when it fails because Redis is unreachable (see isRedisUnavailable) and a
   * value was read before, that value, logged at warn. On Redis Cluster the registry, N and the abandonment
   * setting each live on one master: its failover must not stop the items of the other masters.
   * @throws read()'s error when it is not an outage or nothing was read yet.
   */
  private async orLastKnown<K extends keyof AdmissionTicker['lastKnown']>(
    name: K,
    read: () => Promise<NonNullable<AdmissionTicker['lastKnown'][K]>>,
  ): Promise<NonNullable<AdmissionTicker['lastKnown'][K]>> {
    try {
      const v = await read();
      this.lastKnown[name] = v;
      return v;
    } catch (err) {
      const last = this.lastKnown[name];
      if (last === undefined || !isRedisUnavailable(err)) throw err;
      this.logger.warn(
        { err: (err as Error).message, setting: name },
        'global setting unreachable; the tick goes on with the last known value',
      );
      return last;
    }
  }

  /** The abandonment setting of this tick, milliseconds (0: off): the api's, published in Redis, else our own. */
  private abandonAfterMs(): Promise<number> {
    return this.redis
      ? readAbandonAfterMs(this.redis, this.options.abandonAfterMs ?? 0)
      : Promise.resolve(this.options.abandonAfterMs ?? 0);
  }

  /**
   * Runs the tick of slot `slotMs` (epoch ms on the Redis clock, see coordinator.ts redisSlotMs; must grow from tick
   * to tick, it fences each item).
   * The item registry, N and the abandonment setting are read each tick; while one of them is unreachable the
   * tick goes on with its last known value.
   * @throws when the item registry or N cannot be read and was never read before (Redis down since the start);
   * per-item failures are reported instead.
   */
  async tick(slotMs: number): Promise<TickReport> {
    const [tokenCountToMove, ids, abandonAfterMs] = await Promise.all([
      this.orLastKnown('tokenCountToMove', () => this.items.getTokenCountToMove(this.options.defaultTokenCountToMove)),
      this.orLastKnown('ids', () => this.items.listIds()),
      this.orLastKnown('abandonAfterMs', () => this.abandonAfterMs()),
    ]);
    const failed: string[] = [];
    let reservationsExpired = 0;
    const sweeps = this.reservations
      ? ids.map((itemId) =>
          this.reservations!.expireDue(itemId, {
            limit: RESERVATION_SWEEP_LIMIT,
            retentionMs: this.options.reservationRetentionMs,
          }).then(
            (r) => void (reservationsExpired += r.expired),
            (err: Error) =>
              this.logger.warn({ itemId, err: err.message }, 'reservation sweep failed for item; retrying next tick'),
          ),
        )
      : [];
    const results = await Promise.all(
      ids.map((itemId) =>
        this.queue
          .admit(itemId, {
            tokenCountToMove,
            admissionTtlMs: this.options.admissionTtlMs,
            fence: slotMs,
            tickMs: this.options.tickMs,
            ...(abandonAfterMs > 0 ? { abandonAfterMs } : {}),
          })
          .then((r) => ({ itemId, ...r }))
          .catch((err: Error) => {
            failed.push(itemId);
            this.logger.warn({ itemId, err: err.message }, 'admission failed for item; retrying next tick');
            return null;
          })
          .then(async (r) => {
            if (r) await this.publishSnapshot(itemId, r, slotMs);
            return r;
          }),
      ),
    );
    await Promise.all(sweeps);
    const items = results.filter((r): r is AdmitResult & { itemId: string } => r !== null);
    return {
      slotMs,
      tokenCountToMove,
      admittedCount: items.reduce((s, r) => s + r.admittedCount, 0),
      expired: items.reduce((s, r) => s + r.expired, 0),
      items,
      failed,
      reservationsExpired,
      abandoned: items.reduce((s, r) => s + r.abandoned, 0),
    };
  }
}
