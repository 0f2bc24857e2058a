import fc from 'fast-check';
import { ItemStore } from '@waiting-queue/core/item-store';
import { keys } from '@waiting-queue/core/keys';
import { createLogger } from '@waiting-queue/core/logger';
import { LANE_SPAN } from '@waiting-queue/core/lua-constants';
import { PollRecorder } from '@waiting-queue/core/poll-recorder';
import { QueueStore } from '@waiting-queue/core/queue-store';
import { indexSnapshot, rankFromIndex } from '@waiting-queue/core/snapshot-rank';
import { SnapshotStore } from '@waiting-queue/core/snapshot-store';
import { register } from './helpers/queue';
import { useRedis } from './helpers/stack';

/**
 * Polls answered from memory give what Redis gives: for every place, the rank a snapshot computes (snapshot-rank.ts)
 * is the rank the status script reads from the waiting queue at the same moment, or the snapshot declines and the
 * poll reads Redis. Checked over random histories of registrations in lanes, abandonment and admission ticks.
 */
describe('polls answered from a snapshot', () => {
  const env = useRedis('poll-from-memory-test');
  let queue: QueueStore;
  let items: ItemStore;
  let snapshots: SnapshotStore;
  let fence = 1_000;
  let n = 0;

  beforeAll(() => {
    queue = new QueueStore(env.redis);
    items = new ItemStore(env.redis);
    snapshots = new SnapshotStore(env.redis);
  });

  /** Makes every user in `userIds` look as if their last poll was long ago, so that the next tick drops them. */
  async function goQuiet(itemId: string, userIds: string[]): Promise<void> {
    for (const u of userIds) await env.redis.zadd(keys.lastPoll(itemId), 1, u);
  }

  /** Each user's place and its rank in Redis (undefined: no waiting place). */
  async function redisRanks(itemId: string, userIds: string[]): Promise<Map<string, { place: number; rank?: number }>> {
    const out = new Map<string, { place: number; rank?: number }>();
    for (const u of userIds) {
      const p = await queue.status(itemId, u);
      if (typeof p === 'string') continue;
      out.set(u, { place: Number(p.seq), rank: p.status === 'WAITING' ? p.rank : undefined });
    }
    return out;
  }

  const step = fc.oneof(
    fc.record({
      kind: fc.constant('register' as const),
      users: fc.integer({ min: 1, max: 6 }),
      lane: fc.constantFrom(0 as const, 1 as const, 2 as const),
    }),
    fc.record({ kind: fc.constant('quit' as const), every: fc.integer({ min: 2, max: 4 }) }),
    fc.record({ kind: fc.constant('tick' as const), n: fc.integer({ min: 0, max: 5 }) }),
  );

  test('the rank from a snapshot equals the rank in Redis, before and after later registrations', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 3, maxLength: 12 }), async (steps) => {
        const itemId = `pm${n++}`;
        const lanes = ['gold', 'silver', 'std'];
        await items.upsert(itemId, { itemName: 'a', remainCount: 1000, waitingQueueEnabled: true, lanes });
        const users: string[] = [];
        const laneName = (l: 0 | 1 | 2) => lanes[2 - l];
        for (const s of steps) {
          if (s.kind === 'register') {
            for (let i = 0; i < s.users; i++) {
              const u = `u${users.length}`;
              users.push(u);
              await register(queue, itemId, u, { lane: laneName(s.lane), trackPoll: true });
            }
          } else if (s.kind === 'quit') {
            await goQuiet(
              itemId,
              users.filter((_, i) => i % s.every === 0),
            );
          } else {
            await queue.admit(itemId, {
              tokenCountToMove: s.n,
              admissionTtlMs: 60_000,
              fence: fence++,
              tickMs: 1000,
              abandonAfterMs: 1000,
            });
          }
        }
        const snapshot = (await snapshots.publish(itemId, fence, 1000))!;
        const index = indexSnapshot(snapshot);
        // Later registrations, in every lane: ranked after the snapshot's waiting users of their lane and above.
        const late: string[] = [];
        for (const l of [0, 2, 1, 0] as const) {
          const u = `late${late.length}`;
          late.push(u);
          await register(queue, itemId, u, { lane: laneName(l) });
        }
        const truth = await redisRanks(itemId, [...users, ...late]);
        const laneOf = (x: number) => (x > 0 ? 0 : Math.ceil((1 - x) / LANE_SPAN));
        let fromMemory = 0;
        for (const [u, { place, rank }] of truth) {
          const memory = rankFromIndex(index, place);
          if (memory === undefined) continue;
          fromMemory++;
          // Never a rank for a place that does not wait (Redis answers those: admitted, or 404).
          expect({ u, rank }).toEqual({ u, rank: expect.any(Number) });
          // Exact as of the snapshot: the later registrations in higher lanes, ahead in Redis, are not counted.
          const higherLate = late.filter((o) => laneOf(truth.get(o)!.place) > laneOf(place)).length;
          expect({ u, memory }).toEqual({ u, memory: rank! - higherLate });
        }
        // Every user still waiting at the snapshot is answered from memory: lanes have their own sequences, and
        // the places abandonment removed are listed.
        const waitingAtSnapshot = [...truth].filter(([u, t]) => users.includes(u) && t.rank !== undefined).length;
        expect(fromMemory).toBeGreaterThanOrEqual(waitingAtSnapshot + late.length);
      }),
      { numRuns: 25 },
    );
  }, 120_000);

  test('places numbered by the shared sequence of an older version are not answered from memory', async () => {
    const itemId = 'legacy';
    await items.upsert(itemId, { itemName: 'a', remainCount: 10, waitingQueueEnabled: true, lanes: ['vip', 'std'] });
    // As the shared sequence numbered them: std 1, vip 2 - 2^40, std 3, vip 4 - 2^40.
    await env.redis.zadd(keys.waiting(itemId), 1, 'a', 2 - LANE_SPAN, 'b', 3, 'c', 4 - LANE_SPAN, 'd');
    await env.redis.hset(keys.item(itemId), 'seq', 4);
    const index = indexSnapshot((await snapshots.publish(itemId, fence++, 1000))!);
    for (const place of [1, 3, 2 - LANE_SPAN, 4 - LANE_SPAN]) expect(rankFromIndex(index, place)).toBeUndefined();
    // New registrations number each lane on its own, after every older place: those are answered.
    const e = await register(queue, itemId, 'e', { lane: 'std' });
    const f = await register(queue, itemId, 'f', { lane: 'vip' });
    expect(typeof e !== 'string' && e.seq).toBe('5');
    expect(typeof f !== 'string' && f.seq).toBe(String(5 - LANE_SPAN));
    const later = indexSnapshot((await snapshots.publish(itemId, fence++, 1000))!);
    expect(rankFromIndex(later, 5)).toBeUndefined(); // std's places 1..5 have gaps the snapshot cannot account for
    // A place after the snapshot counts from the lane's own sequence: vip b, d, f; std a, c, e; then g.
    const g = await register(queue, itemId, 'g', { lane: 'std' });
    expect(typeof g !== 'string' && g.rank).toBe(7);
    expect(rankFromIndex(later, 6)).toBe(7);
  });

  test('registrations ever made count every lane, from the shared sequence of an older version on', async () => {
    const itemId = 'counted';
    await items.upsert(itemId, { itemName: 'a', remainCount: 10, waitingQueueEnabled: true, lanes: ['vip', 'std'] });
    // Two places numbered by the shared sequence of an older version, which counted every lane.
    await env.redis.zadd(keys.waiting(itemId), 1, 'old1', 2 - LANE_SPAN, 'old2');
    await env.redis.hset(keys.item(itemId), 'seq', 2);
    await register(queue, itemId, 'v1', { lane: 'vip' });
    for (const u of ['s1', 's2']) await register(queue, itemId, u, { lane: 'std' });
    await register(queue, itemId, 'v2', { lane: 'vip' });
    await register(queue, itemId, 's1', { lane: 'std' }); // already waiting: not a new registration
    expect((await items.getWithSchedulerState(itemId))!.state.registered).toBe(6);
  });

  test('an item whose lanes no longer cover every waiting place is not answered from memory', async () => {
    const itemId = 'relaned';
    await items.upsert(itemId, { itemName: 'a', remainCount: 10, waitingQueueEnabled: true, lanes: ['vip', 'std'] });
    await register(queue, itemId, 'v', { lane: 'vip' });
    await register(queue, itemId, 's', { lane: 'std' });
    await items.upsert(itemId, { itemName: 'a', remainCount: 10, waitingQueueEnabled: true, lanes: null });
    const snapshot = (await snapshots.publish(itemId, fence++, 1000))!;
    expect(snapshot.waiting).toBe(2);
    expect(snapshot.lanes.map((l) => l.waiting)).toEqual([1]);
    expect(rankFromIndex(indexSnapshot(snapshot), 1)).toBeUndefined();
  });

  test('last polls written behind: one call per item, Redis time, only users still waiting', async () => {
    const itemId = 'behind';
    await items.upsert(itemId, { itemName: 'a', remainCount: 10, waitingQueueEnabled: true });
    for (const u of ['w1', 'w2', 'gone']) await register(queue, itemId, u, { trackPoll: true });
    await env.redis.zadd(keys.lastPoll(itemId), 5, 'w1', 5, 'w2');
    await env.redis.zrem(keys.lastPoll(itemId), 'gone'); // as admission does
    const recorder = new PollRecorder({
      redis: env.redis,
      logger: createLogger('poll-recorder', 'silent'),
      intervalMs: 60_000,
    });
    try {
      for (const u of ['w1', 'gone', 'w1']) recorder.record(itemId, u);
      expect(recorder.size).toBe(2);
      const [seconds] = await env.redis.time();
      await recorder.flush();
      expect(recorder.size).toBe(0);
      expect(Number(await env.redis.zscore(keys.lastPoll(itemId), 'w1'))).toBeGreaterThanOrEqual(
        Number(seconds) * 1000,
      );
      expect(await env.redis.zscore(keys.lastPoll(itemId), 'w2')).toBe('5');
      expect(await env.redis.zscore(keys.lastPoll(itemId), 'gone')).toBeNull();
    } finally {
      await recorder.close();
    }
  });

  test('a flush that fails keeps its users for the next one', async () => {
    const itemId = 'behind2';
    await items.upsert(itemId, { itemName: 'a', remainCount: 10, waitingQueueEnabled: true });
    await register(queue, itemId, 'w', { trackPoll: true });
    await env.redis.zadd(keys.lastPoll(itemId), 5, 'w');
    const recorder = new PollRecorder({
      redis: env.redis,
      logger: createLogger('poll-recorder', 'silent'),
      intervalMs: 60_000,
    });
    try {
      recorder.record(itemId, 'w');
      // A WRONGTYPE error stands for any failed call: the key is briefly not a sorted set.
      await env.redis.rename(keys.lastPoll(itemId), 'tmp-last-poll');
      await env.redis.set(keys.lastPoll(itemId), 'x');
      await recorder.flush();
      expect(recorder.size).toBe(1);
      await env.redis.del(keys.lastPoll(itemId));
      await env.redis.rename('tmp-last-poll', keys.lastPoll(itemId));
      await recorder.flush();
      expect(recorder.size).toBe(0);
      expect(Number(await env.redis.zscore(keys.lastPoll(itemId), 'w'))).toBeGreaterThan(5);
    } finally {
      await recorder.close();
    }
  });
});
