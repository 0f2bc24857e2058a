import { Cluster } from 'ioredis';
import { keys } from './keys';
import { callScript } from './scripts';
import type { RedisClient } from './redis';

/** One lane of an {@link ItemSnapshot}. Place numbers are decimal strings (see lua/includes/lanes.lua). */
export interface LaneSnapshot {
  /** The lane's name; null on an item without lanes. */
  name: string | null;
  /** r of the lane: 0 is the last (default) lane; lane r owns the place numbers (-r * 2^40, (1 - r) * 2^40]. */
  rank: number;
  /** Users waiting in the lane. */
  waiting: number;
  /** Lowest waiting place number of the lane; null when none wait. */
  head: string | null;
  /** Highest waiting place number of the lane; null when none wait. */
  tail: string | null;
  /** Highest place number admitted so far in the lane; null when none was. */
  admittedThrough: string | null;
}

/** An item's state after an admission tick, as lua/snapshot-4.lua takes it. */
export interface ItemSnapshot {
  /** +1 per snapshot of the item: a subscriber that sees a gap missed one. */
  version: number;
  /** Redis time when the snapshot was taken, epoch ms. */
  nowMs: number;
  /** The tick's slot, epoch ms on the Redis clock. */
  tickSlotMs: number;
  enabled: boolean;
  soldOut: boolean;
  remainCount: number;
  /** Admission capacity, tokens per second. */
  admitRate: number;
  /** Users waiting in the item, all lanes: more than the lanes' sum when a removed lane's places still wait. */
  waiting: number;
  /** A TIME_DEAL's start (epoch ms) and whether it is open; null for other items. */
  timeDeal: { startAt: number; open: boolean } | null;
  /** Lanes, highest priority first; one (name null) on an item without lanes. */
  lanes: LaneSnapshot[];
}

/**
 * Parses a snapshot body (JSON, as stored and published).
 * @returns the snapshot, or undefined when `body` is empty or not JSON of that shape's version and lanes.
 */
export function parseSnapshot(body: string | null | undefined): ItemSnapshot | undefined {
  if (!body) return undefined;
  try {
    const s = JSON.parse(body) as ItemSnapshot;
    return typeof s.version === 'number' && Array.isArray(s.lanes) ? s : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes, stores and publishes item snapshots (the scheduler, after each tick), and reads the stored one (the api's
 * fallback when a published one was missed). Publishes with SPUBLISH on a Redis Cluster (sharded pub/sub: the
 * channel's hash tag is the item's, so the message stays on the item's shard), PUBLISH on a single Redis.
 */
export class SnapshotStore {
  constructor(private readonly redis: RedisClient) {}

  /**
   * Takes `itemId`'s snapshot (lua/snapshot-4.lua: one script, atomic with the state it reads), stores it in
   * `keys.snapshot(itemId)` and publishes it on `keys.snapshotChannel(itemId)`.
   * @param tickSlotMs the tick's slot, epoch ms on the Redis clock.
   * @returns the snapshot, or undefined when the item does not exist (nothing stored or published).
   * @throws Redis errors.
   */
  async publish(itemId: string, tickSlotMs: number): Promise<ItemSnapshot | undefined> {
    const body = await callScript<string>(
      this.redis,
      'wq_snapshot',
      [keys.item(itemId), keys.waiting(itemId), keys.admissionBatches(itemId), keys.snapshot(itemId)],
      [tickSlotMs],
    );
    if (!body) return undefined;
    const channel = keys.snapshotChannel(itemId);
    if (this.redis instanceof Cluster) await this.redis.spublish(channel, body);
    else await this.redis.publish(channel, body);
    return parseSnapshot(body);
  }

  /**
   * The stored snapshot of `itemId`. @returns undefined when none was taken (or the item is unknown).
   * @throws Redis errors.
   */
  async read(itemId: string): Promise<ItemSnapshot | undefined> {
    return parseSnapshot(await this.redis.hget(keys.snapshot(itemId), 'body'));
  }
}
