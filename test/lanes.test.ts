import { readOutbox } from '@waiting-queue/core/events';
import { keys } from '@waiting-queue/core/keys';
import { type RedisClient } from '@waiting-queue/core/redis';
import { parseSnapshot } from '@waiting-queue/core/snapshot-store';
import type { ServiceProcess } from './helpers/processes';
import { call } from './helpers/processes';
import { useStack } from './helpers/stack';
import { registerInLane } from './helpers/stock-client';
import { ADMIN, expectFailure, expectSuccess, poll, upsertItem, waitFor } from './helpers/waiting-room-client';

/**
 * Priority lanes on real processes (one api, one scheduler ticking every second): the lane comes from the trusted
 * gateway's `user-tier` header; admission drains higher lanes first and keeps each lane FIFO; tokens, polls and
 * counts work across lanes.
 */
describe('priority lanes', () => {
  const env = useStack({
    name: 'lanes-test',
    services: [
      { name: 'api', env: { LOG_LEVEL: 'warn' } },
      { name: 'scheduler', env: { LOG_LEVEL: 'warn', SCHEDULER_CRON: '* * * * * *' } },
    ],
  });
  let redis: RedisClient;
  let api: ServiceProcess;
  let scheduler: ServiceProcess;

  beforeAll(() => {
    redis = env.redis;
    [api, scheduler] = env.services;
  });

  test('vip before regular, each lane FIFO, N per tick across lanes; late vips overtake waiting regulars', async () => {
    const itemId = 'lanes';
    const item = { itemName: 'Lanes', remainCount: 1000, waitingQueueEnabled: true, lanes: ['vip', 'regular'] };
    // Paused (N = 0 for this item) while everyone registers.
    expectSuccess(await upsertItem(scheduler.url, itemId, { ...item, tokenCountToMove: 0 }));
    const order: { u: string; lane: 'vip' | 'regular' }[] = [];
    for (let i = 0; i < 30; i++) order.push({ u: `p${i}`, lane: i % 3 === 2 ? 'vip' : 'regular' });
    const tokens = new Map<string, string>();
    for (const [i, { u, lane }] of order.entries()) {
      // Regulars alternately with the header and without it (the last lane is the default).
      const tier = lane === 'vip' ? 'vip' : i % 2 ? 'regular' : undefined;
      tokens.set(u, expectSuccess(await registerInLane(api.url, itemId, u, tier)).waitingQueueToken);
    }
    const vips = order.filter((o) => o.lane === 'vip').map((o) => o.u);
    const regulars = order.filter((o) => o.lane === 'regular').map((o) => o.u);
    // Ranks are exact as of the latest tick's snapshot (polls are answered from it): wait for one taken after every
    // registration, so that the vips registered after a regular count ahead of it.
    await waitFor(
      'a snapshot with all 30 waiting',
      async () => parseSnapshot(await redis.hget(keys.snapshot(itemId), 'body'))?.waiting === 30,
      10_000,
    );
    await new Promise((r) => setTimeout(r, 300)); // its message reaches the api
    // Ranks: every vip is ahead of every regular.
    const rankOf = async (u: string) =>
      expectSuccess(await poll(api.url, itemId, tokens.get(u)!, u)).waitingQueueRank as number;
    expect(await Promise.all(vips.map(rankOf))).toEqual(vips.map((_, i) => i + 1));
    expect(await Promise.all(regulars.map(rankOf))).toEqual(regulars.map((_, i) => vips.length + i + 1));
    // Registering again with another tier keeps the place.
    expect(expectSuccess(await registerInLane(api.url, itemId, regulars[0], 'vip')).waitingQueueRank).toBe(
      vips.length + 1,
    );

    // N = 4 per tick: 10 vips take 2.5 ticks, then the regulars.
    expectSuccess(await upsertItem(scheduler.url, itemId, { ...item, tokenCountToMove: 4 }));
    await waitFor('two ticks of 4', async () => (await redis.zcard(keys.admitted(itemId))) >= 8, 20_000);
    // Pause again; a vip arriving now goes ahead of every waiting regular, behind the waiting vips.
    expectSuccess(await upsertItem(scheduler.url, itemId, { ...item, tokenCountToMove: 0 }));
    const waitingNow = await redis.zrange(keys.waiting(itemId), 0, -1);
    const vipsWaiting = waitingNow.filter((u) => vips.includes(u));
    const regularsWaiting = waitingNow.filter((u) => regulars.includes(u));
    expect(regularsWaiting.length).toBeGreaterThan(0);
    const late = expectSuccess(await registerInLane(api.url, itemId, 'late_vip', 'vip'));
    expect(late.waitingQueueRank).toBe(vipsWaiting.length + 1);
    expectSuccess(await upsertItem(scheduler.url, itemId, { ...item, tokenCountToMove: 4 }));
    await waitFor('everyone admitted', async () => (await redis.zcard(keys.waiting(itemId))) === 0, 30_000);

    const batches = (await readOutbox(redis, itemId)).filter((e) => e.type === 'batch.admitted');
    // Per tick (fence) N = 4 in total over the lanes, except the last one.
    const perTick = new Map<number, number>();
    for (const b of batches)
      perTick.set(
        b.payload.fence as number,
        (perTick.get(b.payload.fence as number) ?? 0) + (b.payload.count as number),
      );
    const counts = [...perTick.values()];
    expect(counts.slice(0, -1).every((c) => c === 4)).toBe(true);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(31);
    // Admission order from the ticks: the tick that admitted each user (the first batch of its lane covering it).
    const tickOf = new Map<string, number>();
    const entry = await redis.zrange(keys.admitted(itemId), 0, -1, 'WITHSCORES');
    for (let i = 0; i < entry.length; i += 2) {
      const seq = Number(entry[i + 1]);
      const lane = seq > 0 ? 'regular' : 'vip';
      const b = batches.find((x) => x.payload.lane === lane && Number(x.payload.maxSeq) >= seq)!;
      tickOf.set(entry[i], b.payload.fence as number);
    }
    expect(tickOf.size).toBe(31);
    // Every vip, the late one included, was admitted no later than the regulars waiting with it; each lane is
    // FIFO (tick order follows registration order).
    const firstRegularTick = Math.min(...regulars.map((u) => tickOf.get(u)!));
    expect(Math.max(...vips.map((u) => tickOf.get(u)!))).toBeLessThanOrEqual(firstRegularTick);
    expect(tickOf.get('late_vip')!).toBeLessThanOrEqual(Math.min(...regularsWaiting.map((u) => tickOf.get(u)!)));
    const nonDecreasing = (xs: number[]) => xs.every((x, i) => i === 0 || xs[i - 1] <= x);
    expect(nonDecreasing([...vips, 'late_vip'].map((u) => tickOf.get(u)!))).toBe(true);
    expect(nonDecreasing(regulars.map((u) => tickOf.get(u)!))).toBe(true);
    // Lane events name their lane; polls say admitted; counts see all 31 across lanes.
    expect(new Set(batches.map((b) => b.payload.lane))).toEqual(new Set(['vip', 'regular']));
    expect(expectSuccess(await poll(api.url, itemId, tokens.get(vips[0])!, vips[0]))).toMatchObject({
      canOrder: true,
      waitingQueueRank: 0,
    });
    const c = expectSuccess(
      await call(`${scheduler.url}${ADMIN}/waiting-queue/token-count`, {
        method: 'POST',
        body: { itemIdListToSearch: [itemId] },
      }),
    );
    expect(c.currentWaitingQueueList).toEqual([{ itemId, waitingTokenCount: 0, enteredTokenCount: 31 }]);
  });

  test('user-tier: malformed is 400; unknown lanes and items without lanes use the default lane', async () => {
    const itemId = 'tiers';
    expectSuccess(
      await upsertItem(scheduler.url, itemId, {
        itemName: 'T',
        remainCount: 10,
        waitingQueueEnabled: true,
        tokenCountToMove: 0,
        lanes: ['gold', 'basic'],
      }),
    );
    expectFailure(await registerInLane(api.url, itemId, 'u1', 'v-i-p'), 400, 'INVALID_PARAMETER');
    expectFailure(await registerInLane(api.url, itemId, 'u1', 'x'.repeat(33)), 400, 'INVALID_PARAMETER');
    expect(expectSuccess(await registerInLane(api.url, itemId, 'u1', 'platinum')).waitingQueueRank).toBe(1);
    expect(expectSuccess(await registerInLane(api.url, itemId, 'u2', 'gold')).waitingQueueRank).toBe(1);
    expect(Number(await redis.zscore(keys.waiting(itemId), 'u1'))).toBeGreaterThan(0);
    // No lanes on the item: the tier changes nothing (place number = sequence).
    expectSuccess(
      await upsertItem(scheduler.url, 'nolanes', {
        itemName: 'N',
        remainCount: 10,
        waitingQueueEnabled: true,
        tokenCountToMove: 0,
      }),
    );
    expect(expectSuccess(await registerInLane(api.url, 'nolanes', 'a')).waitingQueueRank).toBe(1);
    expect(expectSuccess(await registerInLane(api.url, 'nolanes', 'b', 'vip')).waitingQueueRank).toBe(2);
    expect(await redis.zrange(keys.waiting('nolanes'), 0, -1, 'WITHSCORES')).toEqual(['a', '1', 'b', '2']);
  });
});
