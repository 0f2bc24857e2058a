import { Redis } from 'ioredis';
import { ItemStore } from '@waiting-queue/core/item-store';
import { keys } from '@waiting-queue/core/keys';
import { createLogger } from '@waiting-queue/core/logger';
import { LANE_SPAN } from '@waiting-queue/core/lua-constants';
import { QueueStore } from '@waiting-queue/core/queue-store';
import { parseSnapshot, SnapshotStore, type ItemSnapshot } from '@waiting-queue/core/snapshot-store';
import { AdmissionTicker } from '../packages/scheduler/src/admission';
import { register } from './helpers/queue';
import { useRedis } from './helpers/stack';

/** The scheduler's per-item snapshot: taken after each tick, stored, and published on the item's channel. */
describe('item snapshots', () => {
  const env = useRedis('snapshot-test');
  let queue: QueueStore;
  let items: ItemStore;
  let snapshots: SnapshotStore;
  let fence = 1000;

  beforeAll(() => {
    queue = new QueueStore(env.redis);
    items = new ItemStore(env.redis);
    snapshots = new SnapshotStore(env.redis);
  });

  test('per lane: head, tail, waiting and the admitted watermark; item state; a version per snapshot', async () => {
    await items.upsert('snap1', { itemName: 'a', remainCount: 10, waitingQueueEnabled: true, lanes: ['vip', 'std'] });
    for (const u of ['r1', 'r2', 'r3']) await register(queue, 'snap1', u, { lane: 'std' });
    for (const u of ['v1', 'v2']) await register(queue, 'snap1', u, { lane: 'vip' });
    // Places: r1 1, r2 2, r3 3 (lane 0); v1 4 - 2^40, v2 5 - 2^40 (lane 1).
    expect(
      (await queue.admit('snap1', { tokenCountToMove: 3, admissionTtlMs: 60_000, fence: fence++, tickMs: 1000 }))
        .admittedCount,
    ).toBe(3);
    const s = (await snapshots.publish('snap1', 42, 1000))!;
    expect(s).toMatchObject({
      version: 1,
      tickSlotMs: 42,
      tickMs: 1000,
      enabled: true,
      soldOut: false,
      remainCount: 10,
      admitRate: 3,
      waiting: 2,
      timeDeal: null,
    });
    expect(typeof s.nowMs).toBe('number');
    expect(s.lanes).toEqual([
      {
        name: 'vip',
        rank: 1,
        waiting: 0,
        head: null,
        tail: null,
        admittedThrough: String(5 - LANE_SPAN),
        issuedThrough: String(5 - LANE_SPAN),
        removed: null,
      },
      {
        name: 'std',
        rank: 0,
        waiting: 2,
        head: '2',
        tail: '3',
        admittedThrough: '1',
        issuedThrough: '3',
        removed: [],
      },
    ]);
    expect(await snapshots.read('snap1')).toEqual(s);
    const next = (await snapshots.publish('snap1', 43, 1000))!;
    expect(next.version).toBe(2);
    expect(next.lanes).toEqual(s.lanes);
  });

  test('the watermark outlives the batches that expired; an item without lanes has one lane named null', async () => {
    await items.upsert('snap2', { itemName: 'a', remainCount: 1, waitingQueueEnabled: true });
    for (const u of ['a', 'b']) await register(queue, 'snap2', u);
    await queue.admit('snap2', { tokenCountToMove: 1, admissionTtlMs: 50, fence: fence++, tickMs: 1000 });
    expect((await snapshots.publish('snap2', 1, 1000))!.lanes).toEqual([
      {
        name: null,
        rank: 0,
        waiting: 1,
        head: '2',
        tail: '2',
        admittedThrough: '1',
        issuedThrough: '2',
        removed: [],
      },
    ]);
    await new Promise((r) => setTimeout(r, 100));
    await items.upsert('snap2', { itemName: 'a', remainCount: 0, waitingQueueEnabled: true });
    expect(
      (await queue.admit('snap2', { tokenCountToMove: 1, admissionTtlMs: 50, fence: fence++, tickMs: 1000 })).expired,
    ).toBe(1);
    const s = (await snapshots.publish('snap2', 2, 1000))!;
    expect(s).toMatchObject({ soldOut: true, remainCount: 0, admitRate: 0, waiting: 1 });
    expect(s.lanes[0]).toMatchObject({ waiting: 1, head: '2', admittedThrough: '1' });
  });

  test('a TIME_DEAL reports its start and whether it is open; an unknown item has no snapshot', async () => {
    const startAt = Date.now() + 3_600_000;
    await items.upsert('snap3', {
      itemName: 'a',
      remainCount: 5,
      waitingQueueEnabled: true,
      type: 'TIME_DEAL',
      startAt,
    });
    expect((await snapshots.publish('snap3', 1, 1000))!.timeDeal).toEqual({ startAt, open: false });
    expect(await snapshots.publish('nope', 1, 1000)).toBeUndefined();
    expect(await snapshots.read('nope')).toBeUndefined();
    expect(await env.redis.exists(keys.snapshot('nope'))).toBe(0);
  });

  test('the admission tick publishes each moved item on its channel, in version order', async () => {
    await items.upsert('snap4', { itemName: 'a', remainCount: 10, waitingQueueEnabled: true });
    for (const u of ['a', 'b', 'c']) await register(queue, 'snap4', u);
    const sub = new Redis(env.url!);
    const got: ItemSnapshot[] = [];
    try {
      sub.on('message', (channel: string, body: string) => {
        if (channel === keys.snapshotChannel('snap4')) got.push(parseSnapshot(body)!);
      });
      await sub.subscribe(keys.snapshotChannel('snap4'));
      const ticker = new AdmissionTicker({
        items,
        queue,
        settings: { defaultTokenCountToMove: 1, admissionTtlMs: 60_000, tickMs: 1000, reservationRetentionMs: 60_000 },
        logger: createLogger('snapshot-test', 'silent'),
        snapshots,
      });
      const redisNow = async () => Number((await env.redis.time())[0]) * 1000;
      const slot = await redisNow();
      await ticker.tick(slot);
      await ticker.tick(slot + 1);
      await ticker.tick(slot); // stale: this run moved nothing, so it publishes nothing
      for (let i = 0; i < 50 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 50));
      expect(got.map((s) => s.version)).toEqual([1, 2]);
      expect(got.map((s) => s.tickSlotMs)).toEqual([slot, slot + 1]);
      expect(got.map((s) => s.lanes[0].head)).toEqual(['2', '3']);
      expect(got[1].lanes[0]).toMatchObject({ waiting: 1, admittedThrough: '2' });
      expect(await snapshots.read('snap4')).toEqual(got[1]);
    } finally {
      sub.disconnect();
    }
  });
});
