import { readOutbox } from '@waiting-queue/core/events';
import { ItemStore } from '@waiting-queue/core/item-store';
import { keys } from '@waiting-queue/core/keys';
import { type RedisClient } from '@waiting-queue/core/redis';
import { call, type ServiceProcess } from './helpers/processes';
import { useStack } from './helpers/stack';
import { claim, restock } from './helpers/stock-client';
import { expectFailure, expectSuccess, register, upsertItem } from './helpers/waiting-room-client';

/**
 * First-come issuance (the coupon system) on real processes: `POST /api/v1/item/{itemId}/claims` on a DIRECT item,
 * two api processes, one redis-server. Load shedding is off (MAX_IN_FLIGHT=0) so that all 1,000 requests reach
 * the script.
 */
describe('first-come claims on DIRECT items', () => {
  const common = { LOG_LEVEL: 'warn', MAX_IN_FLIGHT: '0' };
  const env = useStack({
    name: 'claims-test',
    services: [
      { name: 'api', env: common },
      { name: 'api', env: common },
      // A cron that never fires here: claims need no scheduler; the admin API restocks.
      { name: 'scheduler', env: { ...common, SCHEDULER_CRON: '0 0 0 1 1 *' } },
    ],
  });
  let redis: RedisClient;
  let apis: ServiceProcess[];
  let admin: ServiceProcess;

  beforeAll(() => {
    redis = env.redis;
    apis = env.services.slice(0, 2);
    admin = env.services[2];
  });

  test('1,000 concurrent users, 100 coupons: exactly 100 issued, no user twice, the 900 refused are not recorded', async () => {
    const itemId = 'coupon';
    expectSuccess(
      await upsertItem(admin.url, itemId, {
        itemName: 'Coupon',
        remainCount: 100,
        waitingQueueEnabled: true,
        queueMode: 'DIRECT',
      }),
    );
    const users = Array.from({ length: 1000 }, (_, i) => `user${i}`);
    const replies = await Promise.all(users.map((u, i) => claim(apis[i % 2].url, itemId, u).then((r) => ({ u, r }))));
    const issued = replies.filter((x) => x.r.status === 200);
    expect(issued).toHaveLength(100);
    for (const x of replies.filter((y) => y.r.status !== 200)) expectFailure(x.r, 409, 'SOLD_OUT');
    for (const x of issued) expect(x.r.body.data).toMatchObject({ itemId, userId: x.u });
    expect(new Set(issued.map((x) => x.r.body.data.claimId)).size).toBe(100);
    expect(new Set(issued.map((x) => x.u)).size).toBe(100);
    expect(Number(await redis.hget(keys.item(itemId), 'remainCount'))).toBe(0);

    // Redis records exactly the winners.
    const recorded = await redis.hgetall(keys.claims(itemId));
    expect(Object.keys(recorded).sort()).toEqual(issued.map((x) => x.u).sort());
    const events = await readOutbox(redis, itemId);
    const claimEvents = events.filter((e) => e.type === 'claim.issued');
    expect(claimEvents).toHaveLength(100);
    expect(new Set(claimEvents.map((e) => e.id)).size).toBe(100);
    expect(new Set(claimEvents.map((e) => e.payload.userId)).size).toBe(100);
    expect(events.filter((e) => e.type === 'item.sold_out')).toHaveLength(1);

    // A winner claiming again: 409 ALREADY_CLAIMED with the claim it holds.
    const winner = issued[0];
    const again = await claim(apis[1].url, itemId, winner.u);
    expectFailure(again, 409, 'ALREADY_CLAIMED');
    expect(again.body.data).toEqual({ itemId, claimId: winner.r.body.data.claimId });

    // A user refused at sell-out was not marked: after a restock of 1 they get it.
    const loser = replies.find((x) => x.r.status === 409)!.u;
    expect(expectSuccess(await restock(admin.url, itemId, { quantity: 1 }))).toMatchObject({ remainCount: 1 });
    expect(expectSuccess(await claim(apis[0].url, itemId, loser))).toMatchObject({ userId: loser, remainCount: 0 });
    expectFailure(await claim(apis[0].url, itemId, 'another'), 409, 'SOLD_OUT');
  });

  test('the node:http fast path and express answer claims alike: without a body (fast path), with a JSON body (express), odd paths', async () => {
    const store = new ItemStore(redis);
    await store.upsert('alike', { itemName: 'a', remainCount: 2, waitingQueueEnabled: true, queueMode: 'DIRECT' });
    const url = `${apis[0].url}/api/v1/item/alike/claims`;
    const fast = await call(url, { method: 'POST', headers: { 'user-id': 'fast_user' } });
    const viaExpress = await call(url, { method: 'POST', headers: { 'user-id': 'express_user' }, body: {} });
    expect(expectSuccess(fast)).toMatchObject({ itemId: 'alike', userId: 'fast_user', remainCount: 1 });
    expect(expectSuccess(viaExpress)).toMatchObject({ itemId: 'alike', userId: 'express_user', remainCount: 0 });
    for (const r of [fast, viaExpress]) {
      expect(Object.keys(r.body)).toEqual(['state', 'errorCode', 'errorMessage', 'data']);
      expect(Object.keys(r.body.data).sort()).toEqual(['claimId', 'itemId', 'remainCount', 'userId']);
      expect(r.headers.get('x-request-id')).toBeTruthy();
      expect(r.headers.get('cache-control')).toBe('no-store');
    }
    // Refusals are the same on both: sold out, and already claimed with the claim held.
    const soldFast = await call(url, { method: 'POST', headers: { 'user-id': 'late1' } });
    const soldExpress = await call(url, { method: 'POST', headers: { 'user-id': 'late2' }, body: {} });
    expectFailure(soldFast, 409, 'SOLD_OUT');
    expectFailure(soldExpress, 409, 'SOLD_OUT');
    expect(soldFast.body).toEqual(soldExpress.body);
    const again = await call(url, { method: 'POST', headers: { 'user-id': 'fast_user' } });
    expectFailure(again, 409, 'ALREADY_CLAIMED');
    expect(again.body.data).toEqual({ itemId: 'alike', claimId: fast.body.data.claimId });
    // A malformed escape in the item id is a 400 on the fast path; a trailing slash goes to express, same answer.
    expectFailure(
      await call(`${apis[0].url}/api/v1/item/%E0%A4%A/claims`, { method: 'POST', headers: { 'user-id': 'u' } }),
      400,
      'INVALID_PARAMETER',
    );
    expectFailure(await call(`${url}/`, { method: 'POST', headers: { 'user-id': 'late3' } }), 409, 'SOLD_OUT');
    // Nothing above reached a second claim: exactly the two winners are recorded.
    expect(Object.keys(await redis.hgetall(keys.claims('alike'))).sort()).toEqual(['express_user', 'fast_user']);
  });

  test('claims and the waiting room do not mix; bad ids are 400; a TIME_DEAL claims only from its start', async () => {
    const store = new ItemStore(redis);
    await store.upsert('direct', { itemName: 'd', remainCount: 5, waitingQueueEnabled: true, queueMode: 'DIRECT' });
    await store.upsert('queued', { itemName: 'q', remainCount: 5, waitingQueueEnabled: true });
    const reg = await register(apis[0].url, 'direct', 'u1');
    expectFailure(reg, 409, 'ITEM_CANNOT_USE_WAITING_QUEUE');
    expect(reg.body.data).toEqual({ itemId: 'direct', reason: 'DIRECT' });
    expectFailure(await claim(apis[0].url, 'queued', 'u1'), 409, 'ITEM_NOT_DIRECT');
    expectFailure(await claim(apis[0].url, 'missing', 'u1'), 404, 'WAITING_ITEM_NOT_FOUND');
    expectFailure(await claim(apis[0].url, 'direct', 'bad-user'), 400, 'INVALID_PARAMETER');
    expectFailure(await claim(apis[0].url, 'bad-item', 'u1'), 400, 'INVALID_PARAMETER');
    await store.upsert('direct', { itemName: 'd', remainCount: 5, waitingQueueEnabled: false });
    expectFailure(await claim(apis[0].url, 'direct', 'u1'), 409, 'ITEM_CANNOT_USE_WAITING_QUEUE');

    const opensAt = Date.now() + 1500;
    await store.upsert('deal', {
      itemName: 'deal',
      remainCount: 5,
      waitingQueueEnabled: true,
      queueMode: 'DIRECT',
      type: 'TIME_DEAL',
      startAt: opensAt,
    });
    const early = await claim(apis[0].url, 'deal', 'u1');
    expectFailure(early, 409, 'ITEM_NOT_OPEN');
    expect(early.body.data).toEqual({ itemId: 'deal', opensAt });
    expect(Number(early.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await redis.hexists(keys.claims('deal'), 'u1')).toBe(0);
    await new Promise((r) => setTimeout(r, Math.max(0, opensAt - Date.now()) + 100));
    expect(expectSuccess(await claim(apis[0].url, 'deal', 'u1'))).toMatchObject({ remainCount: 4 });
  });
});
