import { Cluster, type Redis } from 'ioredis';
import { keys } from './keys';
import type { Logger } from './logger';
import type { RedisClient } from './redis';
import { parseSnapshot, SnapshotStore, type ItemSnapshot } from './snapshot-store';

/** What a {@link SnapshotCache} works with. */
export interface SnapshotCacheOptions {
  /** The process's Redis client: the cache reads stored snapshots with it and duplicates it to subscribe. */
  redis: RedisClient;
  /** The admission tick interval, milliseconds: a snapshot older than two ticks is not served. */
  tickMs: number;
  logger: Logger;
  /** Most items held (and subscribed to); an item beyond them is never served from memory. Default 10,000. */
  maxItems?: number;
}

interface Held {
  snapshot?: ItemSnapshot;
  /** performance.now() when `snapshot` arrived, ms: an elapsed interval on this host, not a point in time. */
  receivedAt: number;
}

/**
 * The latest snapshot of each item an api process was asked about (snapshot-store.ts): kept from the scheduler's
 * messages on the item's channel (SUBSCRIBE on a single Redis, SSUBSCRIBE on a Cluster, over one dedicated
 * connection), and read from the item's stored snapshot when none arrived for a tick (a missed message, or the
 * first ask). A snapshot replaces the held one only when its version is higher.
 *
 * Freshness is the time since a snapshot arrived, measured on this host's monotonic clock: an interval, never a
 * point in time; what is decided about the queue uses the snapshot's own Redis times.
 */
export class SnapshotCache {
  private readonly held = new Map<string, Held>();
  private readonly store: SnapshotStore;
  private readonly subscriber: Redis | Cluster;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly o: SnapshotCacheOptions) {
    this.store = new SnapshotStore(o.redis);
    // Its own connection, connected now and queueing SUBSCRIBEs until it is (the shared client's options may say
    // lazyConnect and no offline queue); ioredis subscribes again after a reconnect.
    this.subscriber =
      o.redis instanceof Cluster
        ? o.redis.duplicate([], { shardedSubscribers: true, enableOfflineQueue: true, lazyConnect: false })
        : o.redis.duplicate({ enableOfflineQueue: true, lazyConnect: false });
    const onMessage = (channel: string, body: string) => this.offer(channel, parseSnapshot(body));
    this.subscriber.on('message', onMessage);
    this.subscriber.on('smessage', onMessage);
    this.subscriber.on('error', (err: Error) => o.logger.warn({ err: err.message }, 'snapshot subscriber error'));
    this.timer = setInterval(() => void this.refreshStale(), o.tickMs);
    this.timer.unref();
  }

  /**
   * The latest snapshot of `itemId` if it arrived within the last two ticks; else undefined (the caller asks Redis).
   * The first ask for an item subscribes to its channel and reads its stored snapshot, in the background.
   */
  fresh(itemId: string): ItemSnapshot | undefined {
    const h = this.held.get(itemId);
    if (!h) {
      if (this.held.size < (this.o.maxItems ?? 10_000)) this.watch(itemId);
      return undefined;
    }
    return h.snapshot && performance.now() - h.receivedAt <= 2 * this.o.tickMs ? h.snapshot : undefined;
  }

  /** Stops the subscriber connection and the refresh timer. */
  close(): Promise<void> {
    clearInterval(this.timer);
    this.subscriber.disconnect();
    return Promise.resolve();
  }

  private watch(itemId: string): void {
    this.held.set(itemId, { receivedAt: performance.now() });
    const channel = keys.snapshotChannel(itemId);
    const subscribed =
      this.subscriber instanceof Cluster ? this.subscriber.ssubscribe(channel) : this.subscriber.subscribe(channel);
    subscribed.catch((err: Error) =>
      this.o.logger.warn({ itemId, err: err.message }, 'snapshot subscription failed; reading the stored one'),
    );
    void this.read(itemId);
  }

  private offer(channel: string, snapshot: ItemSnapshot | undefined): void {
    const itemId = /^wq:\{(.*)\}:snapshot-channel$/.exec(channel)?.[1];
    if (itemId === undefined || !snapshot) return;
    const h = this.held.get(itemId);
    if (h && h.snapshot && h.snapshot.version >= snapshot.version) return;
    this.held.set(itemId, { snapshot, receivedAt: performance.now() });
  }

  private async read(itemId: string): Promise<void> {
    try {
      this.offer(keys.snapshotChannel(itemId), await this.store.read(itemId));
    } catch (err) {
      this.o.logger.warn({ itemId, err: (err as Error).message }, 'stored snapshot unreadable; polls go to Redis');
    }
  }

  /** Reads the stored snapshot of each item that got none for more than a tick. */
  private async refreshStale(): Promise<void> {
    const now = performance.now();
    const stale = [...this.held].filter(([, h]) => now - h.receivedAt > this.o.tickMs).map(([itemId]) => itemId);
    await Promise.all(stale.map((itemId) => this.read(itemId)));
  }
}
