import { readOutbox } from '@waiting-queue/core/events';
import { ItemStore } from '@waiting-queue/core/item-store';
import { keys } from '@waiting-queue/core/keys';
import { QueueStore } from '@waiting-queue/core/queue-store';
import { connectRedis, type RedisClient } from '@waiting-queue/core/redis';
import { startService, type ServiceProcess } from './helpers/processes';
import { testRedis } from './helpers/redis';
import { startServices } from './helpers/services';
import { getReservation, reserve, restock, settle } from './helpers/stock-client';
import {
  consume,
  expectFailure,
  expectSuccess,
  poll,
  register,
  sleep,
  upsertItem,
  waitFor,
} from './helpers/waiting-room-client';

const INTERNAL = 'stock-internal-token';

/**
 * Stock that is never oversold, on real processes: one api (reservations, RESERVATION_TTL_SECONDS=2) and two
 * schedulers (cron every second: both sweep expired reservations), one redis-server. Items the test admits by hand
 * are kept out of the item registry, so the schedulers never touch them.
 */
describe('stock and reservations', () => {
  let env: Awaited<ReturnType<typeof testRedis>>;
  let redis: RedisClient;
  let items: ItemStore;
  let queue: QueueStore;
  let api: ServiceProcess;
  let schedulers: ServiceProcess[] = [];
  let fence = 1;

  /** Registers `users` through the api, admits them all by hand (an unregistered item); returns their tokens. */
  const admitAll = async (itemId: string, users: string[]) => {
    const tokens = new Map<string, string>();
    for (let i = 0; i < users.length; i += 50) {
      const replies = await Promise.all(users.slice(i, i + 50).map((u) => register(api.url, itemId, u)));
      replies.forEach((r, j) => tokens.set(users[i + j], expectSuccess(r).waitingQueueToken));
    }
    await queue.admit(itemId, {
      tokenCountToMove: users.length,
      admissionTtlMs: 600_000,
      fence: fence++,
      tickMs: 1000,
    });
    return tokens;
  };
  const stockOf = async (itemId: string) => Number(await redis.hget(keys.item(itemId), 'remainCount'));
  const body = (token: string, userId: string, quantity?: number) => ({
    waitingQueueToken: token,
    userId,
    ...(quantity === undefined ? {} : { quantity }),
  });

  beforeAll(async () => {
    env = await testRedis();
    redis = await connectRedis({ url: env.url }, 'stock-test');
    items = new ItemStore(redis);
    queue = new QueueStore(redis);
    const common = { REDIS_URL: env.url, LOG_LEVEL: 'warn' };
    [api, ...schedulers] = await startServices([
      { name: 'api', env: { ...common, INTERNAL_TOKEN: INTERNAL, RESERVATION_TTL_SECONDS: '2' } },
      { name: 'scheduler', env: { ...common, SCHEDULER_CRON: '* * * * * *', TOKEN_COUNT_TO_MOVE: '1000' } },
      { name: 'scheduler', env: { ...common, SCHEDULER_CRON: '* * * * * *', TOKEN_COUNT_TO_MOVE: '1000' } },
    ]);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([api, ...schedulers].map((p) => p?.stop()));
    redis?.disconnect();
    await env?.stop();
  }, 30_000);

  test('bad requests: 401 without the bearer, 400 bad body or ids, 403 TOKEN_MISMATCH, 403 NOT_ADMITTED, 409 LIMIT_EXCEEDED', async () => {
    const itemId = 'rq';
    await items.upsert(
      itemId,
      { itemName: itemId, remainCount: 10, waitingQueueEnabled: true, maxPerUser: 2 },
      { register: false },
    );
    const tokens = await admitAll(itemId, ['ann', 'bob']);
    const waiting = expectSuccess(await register(api.url, itemId, 'wes')).waitingQueueToken;
    const ann = tokens.get('ann')!;

    expectFailure(await reserve(api.url, itemId, body(ann, 'ann')), 401, 'UNAUTHORIZED');
    const bad: unknown[] = [
      {},
      null,
      [body(ann, 'ann')],
      { ...body(ann, 'ann'), quantity: 0 },
      { ...body(ann, 'ann'), quantity: 1.5 },
      { ...body(ann, 'ann'), quantity: '1' },
      { ...body(ann, 'ann'), extra: 1 },
      { waitingQueueToken: 'not-a-token', userId: 'ann' },
      { waitingQueueToken: ann, userId: 'bad-id' },
      { waitingQueueToken: 5, userId: 'ann' },
    ];
    for (const b of bad) expectFailure(await reserve(api.url, itemId, b, INTERNAL), 400, 'INVALID_PARAMETER');
    expectFailure(await reserve(api.url, 'bad-item', body(ann, 'ann'), INTERNAL), 400, 'INVALID_PARAMETER');
    // Another user's token, or the token on another item.
    expectFailure(await reserve(api.url, itemId, body(ann, 'bob'), INTERNAL), 403, 'TOKEN_MISMATCH');
    expectFailure(await reserve(api.url, 'other', body(ann, 'ann'), INTERNAL), 403, 'TOKEN_MISMATCH');
    // Waiting (not admitted) and forged tokens: 403 NOT_ADMITTED (consume keeps its 409 for the same code).
    expectFailure(await reserve(api.url, itemId, body(waiting, 'wes'), INTERNAL), 403, 'NOT_ADMITTED');
    const forged = `ann-${itemId}-00000000-0000-4000-8000-000000000000`;
    expectFailure(await reserve(api.url, itemId, body(forged, 'ann'), INTERNAL), 403, 'NOT_ADMITTED');
    // maxPerUser 2: 3 is over the limit (and the admission stays usable); 2 works.
    const over = await reserve(api.url, itemId, body(ann, 'ann', 3), INTERNAL);
    expectFailure(over, 409, 'LIMIT_EXCEEDED');
    expect(over.body.data).toMatchObject({ maxPerUser: 2, held: 0 });
    const ok = expectSuccess(await reserve(api.url, itemId, body(ann, 'ann', 2), INTERNAL));
    expect(ok).toMatchObject({
      reservationId: `${itemId}.1`,
      itemId,
      userId: 'ann',
      quantity: 2,
      status: 'PENDING',
      remainCount: 8,
    });
    expect(ok.expiresAt - ok.createdAt).toBe(2000);
    // The admission is used: reserving or consuming with it again is refused (403 here, 409 on consume).
    expectFailure(await reserve(api.url, itemId, body(ann, 'ann', 1), INTERNAL), 403, 'NOT_ADMITTED');
    expectFailure(await consume(api.url, itemId, ann, INTERNAL), 409, 'NOT_ADMITTED');
    // quantity defaults to 1.
    expect(expectSuccess(await reserve(api.url, itemId, body(tokens.get('bob')!, 'bob'), INTERNAL))).toMatchObject({
      quantity: 1,
      remainCount: 7,
    });
    // Reservation ids: malformed 400, unknown 404.
    expectFailure(await settle(api.url, 'no-dot', 'confirm', INTERNAL), 400, 'INVALID_PARAMETER');
    expectFailure(await settle(api.url, `${itemId}.999`, 'confirm', INTERNAL), 404, 'RESERVATION_NOT_FOUND');
    expectFailure(await getReservation(api.url, `${itemId}.999`, INTERNAL), 404, 'RESERVATION_NOT_FOUND');
    expect(expectSuccess(await getReservation(api.url, `${itemId}.1`, INTERNAL))).toMatchObject({
      userId: 'ann',
      status: 'PENDING',
    });
  });

  test('200 concurrent reservations for 50 stock: exactly 50, never oversold; sold out stops the queue; a cancel reopens it', async () => {
    const itemId = 'flash';
    await items.upsert(itemId, { itemName: itemId, remainCount: 50, waitingQueueEnabled: true }, { register: false });
    const users = Array.from({ length: 200 }, (_, i) => `f${i}`);
    const tokens = await admitAll(itemId, users);
    const waiter = expectSuccess(await register(api.url, itemId, 'waiter')).waitingQueueToken;

    const replies = await Promise.all(users.map((u) => reserve(api.url, itemId, body(tokens.get(u)!, u), INTERNAL)));
    const won = replies.filter((r) => r.status === 200);
    expect(won).toHaveLength(50);
    for (const r of replies.filter((x) => x.status !== 200)) expectFailure(r, 409, 'INSUFFICIENT_STOCK');
    expect(new Set(won.map((r) => r.body.data.reservationId)).size).toBe(50);
    expect(new Set(won.map((r) => r.body.data.userId)).size).toBe(50);
    expect(await stockOf(itemId)).toBe(0);

    // Sold out: registration is refused and waiting users' polls say soldOut, so clients stop polling.
    const late = await register(api.url, itemId, 'late');
    expectFailure(late, 409, 'ITEM_CANNOT_USE_WAITING_QUEUE');
    expect(late.body.data).toEqual({ itemId, reason: 'SOLD_OUT' });
    expect(expectSuccess(await poll(api.url, itemId, waiter, 'waiter'))).toMatchObject({
      soldOut: true,
      canOrder: false,
    });

    // Confirm one, cancel another: the cancel gives the unit back and the queue reopens.
    const [a, b] = won.map((r) => r.body.data.reservationId as string);
    expect(expectSuccess(await settle(api.url, a, 'confirm', INTERNAL))).toMatchObject({
      reservationId: a,
      status: 'CONFIRMED',
    });
    expect(expectSuccess(await settle(api.url, a, 'confirm', INTERNAL))).toMatchObject({ status: 'CONFIRMED' });
    const cancelConfirmed = await settle(api.url, a, 'cancel', INTERNAL);
    expectFailure(cancelConfirmed, 409, 'RESERVATION_NOT_PENDING');
    expect(cancelConfirmed.body.data).toMatchObject({ status: 'CONFIRMED' });
    expect(expectSuccess(await settle(api.url, b, 'cancel', INTERNAL))).toMatchObject({
      reservationId: b,
      status: 'CANCELLED',
    });
    expectFailure(await settle(api.url, b, 'confirm', INTERNAL), 409, 'RESERVATION_NOT_PENDING');
    expect(await stockOf(itemId)).toBe(1);
    expect(expectSuccess(await poll(api.url, itemId, waiter, 'waiter')).soldOut).toBe(false);
    expect(expectSuccess(await register(api.url, itemId, 'late')).waitingQueueRank).toBe(2);

    const events = await readOutbox(redis, itemId);
    const count = (t: string) => events.filter((e) => e.type === t).length;
    expect([
      count('reservation.created'),
      count('reservation.confirmed'),
      count('reservation.cancelled'),
      count('item.sold_out'),
      count('item.reopened'),
    ]).toEqual([50, 1, 1, 1, 1]);
  });

  test('two schedulers expire unconfirmed reservations once; confirms racing the expiry either win (200) or get 410, never both', async () => {
    const itemId = 'exp';
    // In the registry: the schedulers sweep its reservations (and admit its users, N = 1000 per tick).
    expectSuccess(
      await upsertItem(schedulers[0].url, itemId, { itemName: itemId, remainCount: 40, waitingQueueEnabled: true }),
    );
    const users = Array.from({ length: 40 }, (_, i) => `x${i}`);
    const tokens = new Map<string, string>();
    for (const u of users) tokens.set(u, expectSuccess(await register(api.url, itemId, u)).waitingQueueToken);
    await waitFor('all 40 admitted', async () => (await redis.zcard(keys.admitted(itemId))) === 40);
    const rs = await Promise.all(
      users.map((u) => reserve(api.url, itemId, body(tokens.get(u)!, u), INTERNAL).then(expectSuccess)),
    );
    expect(await stockOf(itemId)).toBe(0);

    // 10 confirmed at once; 10 left to expire; 20 confirmed around their expiry (from 400 ms before to 400 ms after).
    const early = rs.slice(0, 10);
    for (const r of early) expectSuccess(await settle(api.url, r.reservationId, 'confirm', INTERNAL));
    const racing = rs.slice(20);
    const outcomes = await Promise.all(
      racing.map(async (r, i) => {
        await sleep(Math.max(0, r.expiresAt - Date.now() - 400 + (i % 9) * 100));
        const reply = await settle(api.url, r.reservationId, 'confirm', INTERNAL);
        if (reply.status !== 200) expectFailure(reply, 410, 'RESERVATION_EXPIRED');
        return { id: r.reservationId as string, confirmed: reply.status === 200 };
      }),
    );
    await waitFor(
      'every reservation settled',
      async () => (await redis.zcard(keys.reservationsPending(itemId))) === 0,
      20_000,
    );

    const confirmed = new Set([
      ...early.map((r) => r.reservationId as string),
      ...outcomes.filter((o) => o.confirmed).map((o) => o.id),
    ]);
    const events = await readOutbox(redis, itemId);
    const expiredIds = events
      .filter((e) => e.type === 'reservation.expired')
      .map((e) => e.payload.reservationId as string);
    // Each reservation settled exactly once: confirmed, or expired with one event; never both.
    expect(new Set(expiredIds).size).toBe(expiredIds.length);
    expect(expiredIds.filter((id) => confirmed.has(id))).toEqual([]);
    expect(confirmed.size + expiredIds.length).toBe(40);
    expect(events.filter((e) => e.type === 'reservation.confirmed')).toHaveLength(confirmed.size);
    // The stock got back exactly the expired units.
    expect(await stockOf(itemId)).toBe(expiredIds.length);
    for (const o of outcomes) {
      const r = expectSuccess(await getReservation(api.url, o.id, INTERNAL));
      expect({ id: o.id, status: r.status }).toEqual({ id: o.id, status: o.confirmed ? 'CONFIRMED' : 'EXPIRED' });
    }
    // A late confirm of an expired one is 410 and changes nothing.
    const lateId = rs[15].reservationId as string;
    expectFailure(await settle(api.url, lateId, 'confirm', INTERNAL), 410, 'RESERVATION_EXPIRED');
    expect(await stockOf(itemId)).toBe(expiredIds.length);
    expect(events.filter((e) => e.type === 'item.reopened')).toHaveLength(1);
  });

  test('restock (admin API) reopens a sold-out queue: registration works again and the waiting are admitted', async () => {
    const admin = schedulers[0].url;
    const itemId = 'rst';
    expectSuccess(await upsertItem(admin, itemId, { itemName: itemId, remainCount: 1, waitingQueueEnabled: true }));
    const t1 = expectSuccess(await register(api.url, itemId, 'first')).waitingQueueToken;
    await waitFor('first admitted', async () => expectSuccess(await poll(api.url, itemId, t1, 'first')).canOrder);
    expectSuccess(await reserve(api.url, itemId, body(t1, 'first'), INTERNAL));
    expectFailure(await register(api.url, itemId, 'second'), 409, 'ITEM_CANNOT_USE_WAITING_QUEUE');

    expectFailure(await restock(admin, itemId, { quantity: 0 }), 400, 'INVALID_PARAMETER');
    expectFailure(await restock(admin, itemId, { quantity: '3' }), 400, 'INVALID_PARAMETER');
    expectFailure(await restock(admin, itemId, {}), 400, 'INVALID_PARAMETER');
    expectFailure(await restock(admin, 'never_made', { quantity: 3 }), 404, 'WAITING_ITEM_NOT_FOUND');
    expect(expectSuccess(await restock(admin, itemId, { quantity: 3 }))).toEqual({
      itemId,
      quantity: 3,
      remainCount: 3,
    });
    const t2 = expectSuccess(await register(api.url, itemId, 'second')).waitingQueueToken;
    await waitFor(
      'second admitted after the restock',
      async () => expectSuccess(await poll(api.url, itemId, t2, 'second')).canOrder,
    );
    const types = (await readOutbox(redis, itemId)).map((e) => e.type).filter((t) => t !== 'batch.admitted');
    // admin.changed: the audit entries of the admin upsert that created the item and of the restock (console audit trail).
    expect(types).toEqual([
      'admin.changed',
      'reservation.created',
      'item.sold_out',
      'item.restocked',
      'item.reopened',
      'admin.changed',
    ]);
  });

  test('the admin API shows the new item fields; a TIME_DEAL needs a startAt; bad policy fields are 400', async () => {
    const admin = schedulers[0].url;
    const base = { itemName: 'policy', remainCount: 5, waitingQueueEnabled: true };
    const startAt = '2031-01-01T00:00:00.000Z';
    const full = {
      ...base,
      type: 'TIME_DEAL',
      startAt,
      maxPerUser: 3,
      queueMode: 'WAITING',
      lanes: ['vip', 'regular'],
      maxWaiting: 100,
    };
    const created = expectSuccess(await upsertItem(admin, 'policy', full));
    expect(created).toMatchObject({
      type: 'TIME_DEAL',
      startAt: Date.parse(startAt),
      maxPerUser: 3,
      queueMode: 'WAITING',
      lanes: ['vip', 'regular'],
      maxWaiting: 100,
    });
    // Absent fields are kept; null clears.
    expect(expectSuccess(await upsertItem(admin, 'policy', base))).toMatchObject({
      maxPerUser: 3,
      lanes: ['vip', 'regular'],
    });
    const cleared = expectSuccess(
      await upsertItem(admin, 'policy', {
        ...base,
        type: 'GENERAL',
        startAt: null,
        maxPerUser: null,
        lanes: null,
        maxWaiting: null,
      }),
    );
    expect(cleared).toEqual({
      itemId: 'policy',
      ...base,
      tokenCountToMove: null,
      maxActiveUsers: null,
      type: 'GENERAL',
      queueMode: 'WAITING',
    });
    const bad: unknown[] = [
      { ...base, type: 'TIME_DEAL' },
      { ...base, type: 'FLASH' },
      { ...base, startAt: 'tomorrow' },
      { ...base, maxPerUser: 0 },
      { ...base, queueMode: 'QUEUE' },
      { ...base, lanes: [] },
      { ...base, lanes: ['vip', 'vip'] },
      { ...base, lanes: ['v-ip'] },
      { ...base, lanes: Array.from({ length: 9 }, (_, i) => `l${i}`) },
      { ...base, maxWaiting: 0 },
    ];
    for (const b of bad) expectFailure(await upsertItem(admin, 'policy', b), 400, 'INVALID_PARAMETER');
  });
});

/** The api's default reservation lifetime (no RESERVATION_TTL_SECONDS): 120 s. */
describe('reservation TTL from the environment', () => {
  let env: Awaited<ReturnType<typeof testRedis>>;
  let api: ServiceProcess | undefined;

  beforeAll(async () => {
    env = await testRedis();
  });
  afterAll(async () => {
    await api?.stop();
    await env?.stop();
  });

  test('RESERVATION_TTL_SECONDS defaults to 120', async () => {
    api = await startService('api', { REDIS_URL: env.url, LOG_LEVEL: 'warn' });
    const redis = await connectRedis({ url: env.url }, 'ttl-test');
    try {
      await new ItemStore(redis).upsert(
        'ttl',
        { itemName: 'ttl', remainCount: 1, waitingQueueEnabled: true },
        { register: false },
      );
      const token = expectSuccess(await register(api.url, 'ttl', 'u')).waitingQueueToken;
      await new QueueStore(redis).admit('ttl', { tokenCountToMove: 1, admissionTtlMs: 60_000, fence: 1, tickMs: 1000 });
      const r = expectSuccess(await reserve(api.url, 'ttl', { waitingQueueToken: token, userId: 'u', quantity: 1 }));
      expect(r.expiresAt - r.createdAt).toBe(120_000);
    } finally {
      redis.disconnect();
    }
  });
});
