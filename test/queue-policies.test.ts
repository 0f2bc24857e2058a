import { keys } from '@waiting-queue/core/keys';
import { type RedisClient } from '@waiting-queue/core/redis';
import type { ServiceProcess } from './helpers/processes';
import { useStack } from './helpers/stack';
import {
  expectFailure,
  expectSuccess,
  poll,
  register,
  sleep,
  upsertItem,
  waitFor,
} from './helpers/waiting-room-client';

/**
 * Queue policies on real processes (one api, one scheduler ticking every second, ABANDON_AFTER_SECONDS=2 on both):
 * abandonment, queue capacity (maxWaiting) and time deals (startAt).
 */
describe('queue policies: abandonment, maxWaiting, time deals', () => {
  const common = { LOG_LEVEL: 'warn', ABANDON_AFTER_SECONDS: '2' };
  const env = useStack({
    name: 'policies-test',
    services: [
      { name: 'api', env: common },
      { name: 'scheduler', env: { ...common, SCHEDULER_CRON: '* * * * * *' } },
    ],
  });
  let redis: RedisClient;
  let api: ServiceProcess;
  let scheduler: ServiceProcess;

  beforeAll(() => {
    redis = env.redis;
    [api, scheduler] = env.services;
  });

  test('a waiting user who stops polling is dropped before admission; one who keeps polling is admitted', async () => {
    const itemId = 'aband';
    const item = { itemName: 'A', remainCount: 10, waitingQueueEnabled: true };
    expectSuccess(await upsertItem(scheduler.url, itemId, { ...item, tokenCountToMove: 0 }));
    const quitter = expectSuccess(await register(api.url, itemId, 'quitter')).waitingQueueToken;
    const first = expectSuccess(await register(api.url, itemId, 'poller'));
    expect(first.waitingQueueRank).toBe(2);
    // The advice to poll stays under half the abandonment time, so a client that follows it is never dropped.
    expect(first.pollAfterMs).toBeLessThanOrEqual(1000);
    const deadline = Date.now() + 4500;
    while (Date.now() < deadline) {
      const v = expectSuccess(await poll(api.url, itemId, first.waitingQueueToken, 'poller'));
      await sleep(Math.min(v.pollAfterMs, 500));
    }
    // The quitter is gone (no place, 404) and no longer ahead of the poller.
    expectFailure(await poll(api.url, itemId, quitter, 'quitter'), 404, 'WAITING_QUEUE_NOT_FOUND');
    expect(await redis.zrange(keys.waiting(itemId), 0, -1)).toEqual(['poller']);
    expect(expectSuccess(await poll(api.url, itemId, first.waitingQueueToken, 'poller')).waitingQueueRank).toBe(1);
    // Admission resumes: the poller is admitted; its last-poll record goes with it.
    expectSuccess(await upsertItem(scheduler.url, itemId, { ...item, tokenCountToMove: 10 }));
    await waitFor(
      'the poller admitted',
      async () => expectSuccess(await poll(api.url, itemId, first.waitingQueueToken, 'poller')).canOrder,
    );
    expect(await redis.zrange(keys.admitted(itemId), 0, -1)).toEqual(['poller']);
    await waitFor('no last-poll record left', async () => (await redis.exists(keys.lastPoll(itemId))) === 0);
    // The quitter may come back, to the end of the queue, with a new token.
    const back = expectSuccess(await register(api.url, itemId, 'quitter'));
    expect(back.waitingQueueToken).not.toBe(quitter);
  });

  test('maxWaiting: 409 QUEUE_FULL beyond it; a user already waiting gets their place; room frees as users are admitted', async () => {
    const itemId = 'capped';
    const item = { itemName: 'C', remainCount: 10, waitingQueueEnabled: true, maxWaiting: 3 };
    expectSuccess(await upsertItem(scheduler.url, itemId, { ...item, tokenCountToMove: 0 }));
    for (const u of ['a', 'b', 'c']) expectSuccess(await register(api.url, itemId, u));
    const full = await register(api.url, itemId, 'd');
    expectFailure(full, 409, 'QUEUE_FULL');
    expect(full.body.data).toEqual({ itemId });
    expect(expectSuccess(await register(api.url, itemId, 'b')).waitingQueueRank).toBe(2);
    expect(await redis.zcard(keys.waiting(itemId))).toBe(3);
    expectSuccess(await upsertItem(scheduler.url, itemId, { ...item, tokenCountToMove: 2 }));
    await waitFor('room in the queue', async () => (await register(api.url, itemId, 'd')).status === 200);
    expect(await redis.zcard(keys.waiting(itemId))).toBeLessThanOrEqual(3);
  });

  test('a TIME_DEAL refuses registration with 409 ITEM_NOT_OPEN {opensAt} until its startAt, then opens', async () => {
    const itemId = 'deal';
    const opensAt = Date.now() + 2000;
    expectSuccess(
      await upsertItem(scheduler.url, itemId, {
        itemName: 'D',
        remainCount: 5,
        waitingQueueEnabled: true,
        type: 'TIME_DEAL',
        startAt: new Date(opensAt).toISOString(),
      }),
    );
    const early = await register(api.url, itemId, 'eager');
    expectFailure(early, 409, 'ITEM_NOT_OPEN');
    expect(early.body.data).toEqual({ itemId, opensAt });
    expect(Number(early.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await redis.exists(keys.waiting(itemId))).toBe(0);
    await sleep(Math.max(0, opensAt - Date.now()) + 100);
    const v = expectSuccess(await register(api.url, itemId, 'eager'));
    await waitFor(
      'admission after the opening',
      async () => expectSuccess(await poll(api.url, itemId, v.waitingQueueToken, 'eager')).canOrder,
    );
  });
});
