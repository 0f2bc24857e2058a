import { Cluster, type Redis } from 'ioredis';
import { keys } from './keys';
import type { Logger } from './logger';
import type { RedisClient } from './redis';
import { indexSnapshot, rankFromIndex, type RankIndex } from './snapshot-rank';
import { parseSnapshot, SnapshotStore, type ItemSnapshot } from './snapshot-store';

/** What a {@link SnapshotCache} works with. */
export interface SnapshotCacheOptions {
  /** The process's Redis client: the cache reads stored snapshots with it and duplicates it to subscribe. */
  redis: RedisClient;
  /**
   * The admission tick interval assumed for a snapshot that does not carry its own `tickMs`, milliseconds; also how
   * often items whose snapshot did not arrive are read from Redis. Default 1000.
   */
  tickMs?: number;
  logger: Logger;
  /** Most items held (and subscribed to); an item beyond them is never served from memory. Default 10,000. */
  maxItems?: number;
}

interface Held {
  snapshot?: ItemSnapshot;
  index?: RankIndex;
  /**
   * performance.now() when `snapshot` was taken as seen from this host, ms (arrival of a published one; a stored one
   * read: the read less its age on the Redis clock): an elapsed interval on this host, not a point in time.
   */
  takenAt: number;
}

/** A poll answered from a snapshot: the place's rank and the snapshot it was counted from. */
export interface SnapshotRank {
  /** 1-based rank among waiting users, as of the snapshot. */
  rank: number;
  snapshot: ItemSnapshot;
}

/**
 * The latest snapshot of each item an api process was asked about (snapshot-store.ts): kept from the scheduler's
 * messages on the item's channel (SUBSCRIBE on a single Redis, SSUBSCRIBE on a Cluster, over one dedicated
 * connection), and read from the item's stored snapshot when none arrived for a tick (a missed message, or the
 * first ask). A snapshot replaces the held one only when its version is higher (or, after the item's snapshot key
 * was lost and its versions began again, when it was taken more than two ticks after the held one).
 *
 * Nothing is served while the process's Redis connection is down (its status is not `ready`).
 *
 * Freshness is the time since a snapshot was taken, measured on this host's monotonic clock from its arrival (or,
 * for a stored one, from the read less its age on the Redis clock): an interval, never a point in time; what is
 * decided about the queue uses the snapshot's own Redis times.
 */
export class SnapshotCache {
  private readonly held = new Map<string, Held>();
  private readonly store: SnapshotStore;
  private readonly subscriber: Redis | Cluster;
  private readonly timer: NodeJS.Timeout;
  private readonly tickMs: number;

  constructor(private readonly o: SnapshotCacheOptions) {
    this.tickMs = o.tickMs ?? 1000;
    this.store = new SnapshotStore(o.redis);
    // Its own connection, connected now and queueing SUBSCRIBEs until it is (the shared client's options may say
    // lazyConnect and no offline queue); ioredis subscribes again after a reconnect.
    this.subscriber =
      o.redis instanceof Cluster
        ? o.redis.duplicate([], { shardedSubscribers: true, enableOfflineQueue: true, lazyConnect: false })
        : o.redis.duplicate({ enableOfflineQueue: true, lazyConnect: false });
    const onMessage = (channel: string, body: string) => this.offer(channel, parseSnapshot(body), 0);
    this.subscriber.on('message', onMessage);
    this.subscriber.on('smessage', onMessage);
    this.subscriber.on('error', (err: Error) => o.logger.warn({ err: err.message }, 'snapshot subscriber error'));
    this.timer = setInterval(() => void this.refreshStale(), this.tickMs);
    this.timer.unref();
  }

  /**
   * The latest snapshot of `itemId` if it was taken within the last two ticks; else undefined (the caller asks Redis).
   * The first ask for an item starts holding it ({@link hold}).
   */
  fresh(itemId: string): ItemSnapshot | undefined {
    return this.freshHeld(itemId)?.snapshot;
  }

  /**
   * The rank of the waiting place `place` of `itemId` from the item's fresh snapshot (snapshot-rank.ts
   * {@link rankFromIndex}), or undefined when there is no fresh snapshot or it cannot say the rank exactly.
   */
  rank(itemId: string, place: number): SnapshotRank | undefined {
    const h = this.freshHeld(itemId, false);
    if (!h?.index) return undefined;
    const rank = rankFromIndex(h.index, place);
    return rank === undefined ? undefined : { rank, snapshot: h.snapshot! };
  }

  /**
   * When `itemId`'s next admission tick is due, from its fresh snapshot: the tick after the snapshot's slot
   * (`tickSlotMs + tickMs`, Redis clock), less the time since the snapshot was taken (`nowMs`, plus the time this
   * host has held it, measured on its monotonic clock). Undefined without a fresh snapshot.
   * @returns `inMs` until that tick (negative when it is overdue), and `perTick`, the admissions a tick makes at the
   *   snapshot's admission rate.
   */
  nextTick(itemId: string): { inMs: number; perTick: number } | undefined {
    const h = this.freshHeld(itemId, false);
    const s = h?.snapshot;
    if (!h || !s) return undefined;
    const tickMs = s.tickMs ?? this.tickMs;
    const elapsed = performance.now() - h.takenAt;
    return { inMs: s.tickSlotMs + tickMs - (s.nowMs + elapsed), perTick: (s.admitRate * tickMs) / 1000 };
  }

  /**
   * Starts holding `itemId`'s snapshots (subscribes and reads the stored one, in the background) unless it is held
   * or the cache is full. {@link rank} does not start it: the waiting room calls this once a poll of the item was
   * answered from Redis with a verified token, so that requests for made-up items cannot fill the cache.
   */
  hold(itemId: string): void {
    if (!this.held.has(itemId) && this.held.size < (this.o.maxItems ?? 10_000)) this.watch(itemId);
  }

  /** Stops the subscriber connection and the refresh timer. */
  close(): Promise<void> {
    clearInterval(this.timer);
    this.subscriber.disconnect();
    return Promise.resolve();
  }

  private freshHeld(itemId: string, hold = true): Held | undefined {
    // While the process's connection to Redis is down, nothing is answered from memory: its polls get the 503 of
    // every Redis-backed route, as its readiness says, rather than a rank no process can move on from.
    if (this.o.redis.status !== 'ready') return undefined;
    const h = this.held.get(itemId);
    if (!h) {
      if (hold) this.hold(itemId);
      return undefined;
    }
    const s = h.snapshot;
    return s && performance.now() - h.takenAt <= 2 * (s.tickMs ?? this.tickMs) ? h : undefined;
  }

  private watch(itemId: string): void {
    this.held.set(itemId, { takenAt: performance.now() });
    const channel = keys.snapshotChannel(itemId);
    const subscribed =
      this.subscriber instanceof Cluster ? this.subscriber.ssubscribe(channel) : this.subscriber.subscribe(channel);
    subscribed.catch((err: Error) =>
      this.o.logger.warn({ itemId, err: err.message }, 'snapshot subscription failed; reading the stored one'),
    );
    void this.read(itemId);
  }

  /** Holds `snapshot` (taken `ageMs` ago) when it is newer than the held one. */
  private offer(channel: string, snapshot: ItemSnapshot | undefined, ageMs: number): void {
    const itemId = /^wq:\{(.*)\}:snapshot-channel$/.exec(channel)?.[1];
    if (itemId === undefined || !snapshot) return;
    const h = this.held.get(itemId);
    const held = h?.snapshot;
    // An older version never replaces a newer one, unless it was taken well after it on the Redis clock: the
    // item's snapshot key was lost (a FLUSHALL, a failover without it) and its versions began again.
    if (held && held.version >= snapshot.version) {
      const restarted = snapshot.nowMs > held.nowMs + 2 * (held.tickMs ?? this.tickMs);
      if (!restarted) return;
    }
    this.held.set(itemId, { snapshot, index: indexSnapshot(snapshot), takenAt: performance.now() - ageMs });
  }

  private async read(itemId: string): Promise<void> {
    try {
      const stored = await this.store.readWithAge(itemId);
      if (stored) this.offer(keys.snapshotChannel(itemId), stored.snapshot, stored.ageMs);
    } catch (err) {
      this.o.logger.warn({ itemId, err: (err as Error).message }, 'stored snapshot unreadable; polls go to Redis');
    }
  }

  /** Reads the stored snapshot of each item that got none for more than a tick. */
  private async refreshStale(): Promise<void> {
    const now = performance.now();
    const stale = [...this.held]
      .filter(([, h]) => now - h.takenAt > (h.snapshot?.tickMs ?? this.tickMs))
      .map(([itemId]) => itemId);
    await Promise.all(stale.map((itemId) => this.read(itemId)));
  }
}
