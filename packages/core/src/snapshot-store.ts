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
  /** Highest place number the lane's own sequence has given out; null before its first registration under it. */
  issuedThrough: string | null;
  /**
   * Place numbers strictly between head and tail that no longer wait (abandoned), ascending; null when they and the
   * waiting places do not account for every number from head to tail (the lane is then not answered from memory).
   */
  removed: string[] | null;
}

/** An item's state after an admission tick, as lua/snapshot-5.lua takes it. */
export interface ItemSnapshot {
  /** +1 per snapshot of the item: a subscriber that sees a gap missed one. */
  version: number;
  /** Redis time when the snapshot was taken, epoch ms. */
  nowMs: number;
  /** The tick's slot, epoch ms on the Redis clock. */
  tickSlotMs: number;
  /** The admission tick interval, milliseconds (absent from snapshots of an older scheduler). */
  tickMs?: number;
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
    if (typeof s.version !== 'number' || !Array.isArray(s.lanes)) return undefined;
    // Lua's cjson writes an empty list as {}; a snapshot of an older scheduler has no `removed` at all.
    for (const l of s.lanes as Array<Omit<LaneSnapshot, 'removed'> & { removed?: unknown }>) {
      if (l.removed !== null && !Array.isArray(l.removed)) l.removed = typeof l.removed === 'object' ? [] : null;
      l.issuedThrough ??= null;
    }
    return s;
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
   * Takes `itemId`'s snapshot (lua/snapshot-5.lua: one script, atomic with the state it reads), stores it in
   * `keys.snapshot(itemId)` and publishes it on `keys.snapshotChannel(itemId)`.
   * @param tickSlotMs the tick's slot, epoch ms on the Redis clock.
   * @param tickMs the admission tick interval, milliseconds (api processes serve a snapshot for two of them).
   * @returns the snapshot, or undefined when the item does not exist (nothing stored or published).
   * @throws Redis errors.
   */
  async publish(itemId: string, tickSlotMs: number, tickMs: number): Promise<ItemSnapshot | undefined> {
    const body = await callScript<string>(
      this.redis,
      'wq_snapshot',
      [
        keys.item(itemId),
        keys.waiting(itemId),
        keys.admissionBatches(itemId),
        keys.snapshot(itemId),
        keys.removedPlaces(itemId),
      ],
      [tickSlotMs, tickMs],
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

  /**
   * The stored snapshot of `itemId` and its age on the Redis clock (Redis TIME at the read less the snapshot's
   * `nowMs`, milliseconds, at least 0), read together in one round trip. @returns undefined when none was taken.
   * @throws Redis errors.
   */
  async readWithAge(itemId: string): Promise<{ snapshot: ItemSnapshot; ageMs: number } | undefined> {
    const replies = await this.redis.pipeline().hget(keys.snapshot(itemId), 'body').time().exec();
    const [[bodyErr, body], [timeErr, time]] = replies as [[Error | null, string | null], [Error | null, string[]]];
    if (bodyErr) throw bodyErr;
    if (timeErr) throw timeErr;
    const snapshot = parseSnapshot(body);
    if (!snapshot) return undefined;
    const redisNowMs = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
    return { snapshot, ageMs: Math.max(0, redisNowMs - snapshot.nowMs) };
  }
}
