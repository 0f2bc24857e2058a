import { ItemStore } from '@waiting-queue/core/item-store';
import { keys } from '@waiting-queue/core/keys';
import { QueueStore } from '@waiting-queue/core/queue-store';
import { connectRedis, type RedisClient } from '@waiting-queue/core/redis';
import { call, startService, type ServiceProcess } from './helpers/processes';
import { useStack } from './helpers/stack';
import { startServices } from './helpers/services';
import {
  ADMIN,
  consume,
  expectFailure,
  expectSuccess,
  poll,
  putTokenCountToMove,
  register,
  sleep,
  upsertItem,
  validate,
  waitFor,
} from './helpers/waiting-room-client';

/**
 * Admission by real scheduler processes (cron every second) against one api process and one redis-server: the
 * global N (pause, change, persistence across restarts), two schedulers at once, and admission expiry.
 * Tests run in order and each stops the schedulers it started.
 */
describe('scheduler processes', () => {
  const env = useStack({ name: 'scheduler-test', services: [{ name: 'api', env: { LOG_LEVEL: 'warn' } }] });
  let redis: RedisClient;
  let items: ItemStore;
  let queue: QueueStore;
  let api: ServiceProcess | undefined;
  const schedulers: ServiceProcess[] = [];

  const startScheduler = async (extra: Record<string, string> = {}) => {
    const s = await startService('scheduler', { REDIS_URL: env.url, SCHEDULER_CRON: '* * * * * *', ...extra });
    schedulers.push(s);
    return s;
  };
  const stopSchedulers = async () => {
    await Promise.all(schedulers.splice(0).map((s) => s.stop()));
  };
  const registerAll = async (itemId: string, users: string[]) => {
    const replies = await Promise.all(users.map((u) => register(api!.url, itemId, u)));
    return replies.map((r) => expectSuccess(r).waitingQueueToken as string);
  };
  /**
   * Entry set of an item grouped by admission batch (one record per tick that admitted, keyed `<maxSeq>:<expiry>`):
   * each admitted user (score = sequence) belongs to the batch with the smallest maxSeq >= its sequence.
   */
  const entryGroups = async (itemId: string) => {
    const flat = await redis.zrange(keys.admitted(itemId), 0, -1, 'WITHSCORES');
    const batches = await redis.zrange(keys.admissionBatches(itemId), 0, -1, 'WITHSCORES');
    const groups = new Map<string, string[]>();
    for (let i = 0; i < flat.length; i += 2) {
      const seq = Number(flat[i + 1]);
      let batch = 'no batch';
      for (let b = 0; b < batches.length; b += 2) {
        if (Number(batches[b + 1]) >= seq) {
          batch = batches[b];
          break;
        }
      }
      groups.set(batch, [...(groups.get(batch) ?? []), flat[i]]);
    }
    return groups;
  };

  beforeAll(() => {
    redis = env.redis;
    items = new ItemStore(redis);
    queue = new QueueStore(redis);
    [api] = env.services;
  });

  afterEach(stopSchedulers, 30_000);

  test('N = 0 pauses admission; a new N applies from the next tick; the stored N survives a scheduler restart', async () => {
    const itemId = 'paused';
    const s1 = await startScheduler();
    const nUrl = `${s1.url}${ADMIN}/waiting-queue/token-count-to-move`;
    expect(expectSuccess(await call(nUrl)).tokenCountToMove).toBe(10);

    // Pause before the item exists, so no tick can have read an older N for it.
    expect(expectSuccess(await putTokenCountToMove(s1.url, 0))).toEqual({ tokenCountToMove: 0 });
    expectSuccess(
      await upsertItem(s1.url, itemId, { itemName: 'Paused', remainCount: 100, waitingQueueEnabled: true }),
    );
    const users = Array.from({ length: 60 }, (_, i) => `p${i}`);
    const tokens = await registerAll(itemId, users);
    const fenceBefore = await waitFor('a first tick over the item', () =>
      redis.hget(keys.item(itemId), 'fence').then((f) => f ?? undefined),
    );
    await sleep(2500);
    // Ticks kept running (the fence moved) but admitted nobody.
    expect(Number(await redis.hget(keys.item(itemId), 'fence'))).toBeGreaterThan(Number(fenceBefore));
    expect(await redis.zcard(keys.admitted(itemId))).toBe(0);
    expect(await redis.zcard(keys.waiting(itemId))).toBe(60);
    expect(expectSuccess(await poll(api!.url, itemId, tokens[0], users[0]))).toMatchObject({
      waitingQueueRank: 1,
      canOrder: false,
      estimatedWaitSeconds: null,
    });

    // N = 3: from the next tick on, each tick admits exactly 3.
    expectSuccess(await putTokenCountToMove(s1.url, 3));
    await waitFor('a tick with N = 3', async () => (await redis.zcard(keys.admitted(itemId))) > 0);
    await sleep(1500);
    const groups = await entryGroups(itemId);
    const admitted = [...groups.values()].flat();
    expect(admitted.length % 3).toBe(0);
    for (const g of groups.values()) expect(g).toHaveLength(3);
    // FIFO: the admitted users are the head of the queue.
    expect(admitted.sort()).toEqual(users.slice(0, admitted.length).sort());
    expect(admitted.length + (await redis.zcard(keys.waiting(itemId)))).toBe(60);
    expect(expectSuccess(await poll(api!.url, itemId, tokens[0], users[0]))).toMatchObject({
      waitingQueueRank: 0,
      canOrder: true,
    });

    // Restart with another TOKEN_COUNT_TO_MOVE: the operator's N stored in Redis wins.
    await stopSchedulers();
    const admittedBeforeRestart = await redis.zcard(keys.admitted(itemId));
    const s2 = await startScheduler({ TOKEN_COUNT_TO_MOVE: '10' });
    expect(expectSuccess(await call(`${s2.url}${ADMIN}/waiting-queue/token-count-to-move`))).toEqual({
      tokenCountToMove: 3,
    });
    expect(await redis.get(keys.tokenCountToMove)).toBe('3');
    await waitFor(
      'a tick of the restarted scheduler',
      async () => (await redis.zcard(keys.admitted(itemId))) > admittedBeforeRestart,
    );
    for (const g of (await entryGroups(itemId)).values()) expect(g).toHaveLength(3);
  });

  test('two schedulers at once admit exactly N per item per tick, and no token is both waiting and admitted', async () => {
    const n = 5;
    await items.setTokenCountToMove(n);
    const itemIds = ['twin_a', 'twin_b'];
    const registered = new Map<string, string[]>();
    for (const itemId of itemIds) {
      await items.upsert(itemId, { itemName: itemId, remainCount: 1000, waitingQueueEnabled: true });
      const users = Array.from({ length: 100 }, (_, i) => `${itemId}_u${i}`);
      await registerAll(itemId, users);
      registered.set(itemId, users);
    }
    // Everyone is queued before any scheduler runs, so every tick finds at least N waiting.
    const started = await startServices(
      [0, 1].map(() => ({ name: 'scheduler' as const, env: { REDIS_URL: env.url, SCHEDULER_CRON: '* * * * * *' } })),
    );
    schedulers.push(...started);
    await sleep(4000);
    await stopSchedulers();

    for (const itemId of itemIds) {
      const groups = await entryGroups(itemId);
      // At least two ticks ran; each admitted exactly N (one batch record per tick, covering its N tokens).
      expect(groups.size).toBeGreaterThanOrEqual(2);
      for (const [score, members] of groups)
        expect({ itemId, score, size: members.length }).toEqual({ itemId, score, size: n });
      const admitted = [...groups.values()].flat();
      const waiting = await redis.zrange(keys.waiting(itemId), 0, -1);
      const waitingSet = new Set(waiting);
      expect(admitted.filter((u) => waitingSet.has(u))).toEqual([]);
      expect(admitted.length + waiting.length).toBe(100);
      expect(new Set([...admitted, ...waiting])).toEqual(new Set(registered.get(itemId)));
      // FIFO across ticks: every admitted user registered before every waiting one.
      const flatEntry = await redis.zrange(keys.admitted(itemId), 0, -1, 'WITHSCORES');
      const entrySeq = new Map<string, number>();
      for (let i = 0; i < flatEntry.length; i += 2) entrySeq.set(flatEntry[i], Number(flatEntry[i + 1]));
      expect([...entrySeq.keys()].sort()).toEqual([...admitted].sort());
      const maxAdmitted = Math.max(...entrySeq.values());
      const minWaiting = Number((await redis.zrange(keys.waiting(itemId), 0, 0, 'WITHSCORES'))[1]);
      expect(maxAdmitted).toBe(admitted.length);
      expect(minWaiting).toBe(admitted.length + 1);
    }
  });

  test('one tick admits N once even when many schedulers run it at the same moment (the fence)', async () => {
    const itemId = 'fence_race';
    // Out of the item registry, so the schedulers of other tests never touch it.
    await items.upsert(itemId, { itemName: itemId, remainCount: 100, waitingQueueEnabled: true }, { register: false });
    await registerAll(
      itemId,
      Array.from({ length: 50 }, (_, i) => `f${i}`),
    );
    const other = await connectRedis({ url: env.url }, 'scheduler-test-2');
    try {
      const queues = [queue, new QueueStore(other)];
      const fence = Date.now();
      const params = { tokenCountToMove: 5, admissionTtlMs: 600_000, fence, tickMs: 1000 };
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => queues[i % 2].admit(itemId, params)));
      expect(results.filter((r) => r.status === 'OK')).toHaveLength(1);
      expect(results.filter((r) => r.status === 'STALE_FENCE')).toHaveLength(19);
      expect(results.reduce((s, r) => s + r.admittedCount, 0)).toBe(5);
      expect(await redis.zcard(keys.admitted(itemId))).toBe(5);
      // An older tick arriving late is rejected too; the next one admits N more.
      expect((await queue.admit(itemId, { ...params, fence: fence - 1000 })).status).toBe('STALE_FENCE');
      expect(await queue.admit(itemId, { ...params, fence: fence + 1000 })).toMatchObject({
        status: 'OK',
        admittedCount: 5,
      });
    } finally {
      other.disconnect();
    }
  });

  test('admissions expire after ENTRY_TTL_SECONDS: the poll becomes 404 and validation no longer admits', async () => {
    const itemId = 'short_ttl';
    await items.setTokenCountToMove(5);
    await items.upsert(itemId, { itemName: itemId, remainCount: 100, waitingQueueEnabled: true });
    const [token] = await registerAll(itemId, ['tina']);
    await startScheduler({ ENTRY_TTL_SECONDS: '1' });

    const view = await waitFor('the admission of tina', async () => {
      const v = expectSuccess(await poll(api!.url, itemId, token, 'tina'));
      return v.canOrder ? v : undefined;
    });
    expect(view.waitingQueueRank).toBe(0);
    // Admitted for one second (Redis and the test share this machine's clock).
    expect(view.admissionExpiresAt).toBeLessThanOrEqual(Date.now() + 1000 + 50);
    const v = expectSuccess(await validate(api!.url, itemId, token));
    expect(v).toMatchObject({ admitted: true, userId: 'tina', itemId });

    await sleep(Math.max(0, view.admissionExpiresAt - Date.now()) + 200);
    expectFailure(await poll(api!.url, itemId, token, 'tina'), 404, 'WAITING_QUEUE_NOT_FOUND');
    const after = await validate(api!.url, itemId, token);
    expectFailure(after, 404, 'WAITING_QUEUE_NOT_FOUND');
    expect(after.body.data?.admitted ?? false).toBe(false);
    expectFailure(await consume(api!.url, itemId, token), 409, 'NOT_ADMITTED');
    // The next ticks sweep the expired admission out of the entry set.
    await waitFor(
      'the sweep of the expired admission',
      async () =>
        (await redis.zcard(keys.admitted(itemId))) === 0 && (await redis.zcard(keys.admissionBatches(itemId))) === 0,
    );
    // Registering again gives a new place with a new token; the old one stays dead.
    const again = expectSuccess(await register(api!.url, itemId, 'tina'));
    expect(again.waitingQueueToken).not.toBe(token);
    expectFailure(await poll(api!.url, itemId, token, 'tina'), 404, 'WAITING_QUEUE_NOT_FOUND');
  });
});
