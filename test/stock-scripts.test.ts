import { ClaimStore } from '@waiting-queue/core/claim-store';
import { readOutbox } from '@waiting-queue/core/events';
import { ItemStore } from '@waiting-queue/core/item-store';
import { keys } from '@waiting-queue/core/keys';
import { QueueStore, type QueuePosition } from '@waiting-queue/core/queue-store';
import { connectRedis, type RedisClient } from '@waiting-queue/core/redis';
import { ReservationStore } from '@waiting-queue/core/reservation-store';
import { register } from './helpers/queue';
import { useRedis } from './helpers/stack';

/**
 * The stock and queue policy Lua scripts on a real redis-server, called through their typed wrappers: stock never
 * oversold, reservation limits, settle-exactly-once under races, first-come claims, lanes in the waiting queue and the
 * entry batches, abandonment, and the outbox event each change appends.
 */
describe('stock, reservation, claim and lane scripts', () => {
  const env = useRedis('stock-scripts');
  let redis: RedisClient;
  let other: RedisClient;
  let queue: QueueStore;
  let items: ItemStore;
  let rsv: ReservationStore;
  let claims: ClaimStore;
  let fence = 1;
  const admit = (itemId: string, n: number, admissionTtlMs = 600_000, abandonAfterMs?: number) =>
    queue.admit(itemId, { tokenCountToMove: n, admissionTtlMs, fence: fence++, tickMs: 1000, abandonAfterMs });
  const placeOf = (p: QueuePosition | string): QueuePosition => {
    if (typeof p === 'string') throw new Error(`refused: ${p}`);
    return p;
  };
  /** Registers and admits `users` on `itemId`; returns each user's place number. */
  const admitted = async (itemId: string, users: string[]) => {
    const seqs = new Map<string, string>();
    for (const u of users) seqs.set(u, placeOf(await register(queue, itemId, u)).seq);
    await admit(itemId, users.length);
    return seqs;
  };
  const stock = async (itemId: string) => Number(await redis.hget(keys.item(itemId), 'remainCount'));
  const types = async (itemId: string) => (await readOutbox(redis, itemId)).map((e) => e.type);

  beforeAll(async () => {
    redis = env.redis;
    other = await connectRedis({ url: env.url }, 'stock-scripts-2');
    queue = new QueueStore(redis);
    items = new ItemStore(redis);
    rsv = new ReservationStore(redis);
    claims = new ClaimStore(redis);
  });
  afterAll(() => {
    other.disconnect();
  });

  test('an item without lanes keeps the old layout: place number = sequence, one batch record per tick, no last-poll key', async () => {
    await items.upsert('plain', { itemName: 'plain', remainCount: 10, waitingQueueEnabled: true });
    const seqs = [];
    for (const u of ['a', 'b', 'c']) seqs.push(placeOf(await register(queue, 'plain', u)).seq);
    expect(seqs).toEqual(['1', '2', '3']);
    await queue.status('plain', 'a');
    expect(await admit('plain', 2)).toMatchObject({ status: 'OK', admittedCount: 2, abandoned: 0 });
    expect(await redis.zrange(keys.admissionBatches('plain'), 0, -1)).toHaveLength(1);
    expect((await redis.zrange(keys.admissionBatches('plain'), 0, -1))[0]).toMatch(/^2:\d+$/);
    expect(await redis.exists(keys.lastPoll('plain'))).toBe(0);
    // The admission's event: one batch of the (only) lane.
    const [ev] = await readOutbox(redis, 'plain');
    expect(ev).toMatchObject({
      id: 'plain:1',
      type: 'batch.admitted',
      itemId: 'plain',
      payload: { lane: null, count: 2, maxSeq: '2' },
    });
  });

  test('lanes: higher lanes are admitted first, each lane FIFO; ranks count the users ahead in higher lanes', async () => {
    await items.upsert('ln', {
      itemName: 'ln',
      remainCount: 100,
      waitingQueueEnabled: true,
      lanes: ['vip', 'regular'],
    });
    const reg = async (u: string, lane?: string) => placeOf(await register(queue, 'ln', u, { lane }));
    expect((await reg('r1')).rank).toBe(1);
    expect((await reg('r2', 'regular')).rank).toBe(2);
    const v1 = await reg('v1', 'vip');
    expect(v1.rank).toBe(1);
    expect(Number(v1.seq)).toBeLessThan(0);
    expect((await reg('r3', 'gold')).rank).toBe(4); // unknown lane: the last one
    expect((await reg('v2', 'vip')).rank).toBe(2);
    expect(await redis.zrange(keys.waiting('ln'), 0, -1)).toEqual(['v1', 'v2', 'r1', 'r2', 'r3']);
    expect(placeOf(await queue.status('ln', 'r1')).rank).toBe(3);

    expect(await admit('ln', 3)).toMatchObject({ admittedCount: 3, waiting: 2 });
    expect((await redis.zrange(keys.admitted('ln'), 0, -1)).sort()).toEqual(['r1', 'v1', 'v2']);
    // One batch record per lane that admitted, and one batch.admitted event per lane.
    expect(await redis.zcard(keys.admissionBatches('ln'))).toBe(2);
    const events = (await readOutbox(redis, 'ln')).filter((e) => e.type === 'batch.admitted');
    expect(events.map((e) => [e.payload.lane, e.payload.count])).toEqual([
      ['vip', 2],
      ['regular', 1],
    ]);
    for (const u of ['v1', 'v2', 'r1']) expect(await queue.status('ln', u)).toMatchObject({ status: 'ADMITTED' });
    expect(await queue.status('ln', 'r2')).toMatchObject({ status: 'WAITING', rank: 1 });
    // A vip arriving later still goes ahead of the waiting regulars.
    await reg('v3', 'vip');
    await admit('ln', 1);
    expect(await queue.status('ln', 'v3')).toMatchObject({ status: 'ADMITTED' });
    expect(await queue.status('ln', 'r2')).toMatchObject({ status: 'WAITING', rank: 1 });
    // consume compares the (negative) place number as before.
    expect(await queue.consume('ln', 'v1', v1.seq)).toBe(true);
    expect(await queue.counts(['ln'])).toEqual([{ itemId: 'ln', waiting: 2, admitted: 3 }]);
  });

  test('lanes: expired batches are swept per lane, though an older-looking lane still holds unexpired ones', async () => {
    await items.upsert('lx', {
      itemName: 'lx',
      remainCount: 100,
      waitingQueueEnabled: true,
      lanes: ['vip', 'regular'],
    });
    for (const u of ['r1', 'r2']) await register(queue, 'lx', u);
    await admit('lx', 2, 200); // regulars, admitted for 200 ms
    await register(queue, 'lx', 'v1', { lane: 'vip' });
    await admit('lx', 1, 600_000); // a vip, for 10 min: its batch has the lowest score
    await new Promise((r) => setTimeout(r, 300));
    // Not swept yet, but no longer counted.
    expect(await queue.counts(['lx'])).toEqual([{ itemId: 'lx', waiting: 0, admitted: 1 }]);
    expect(await queue.status('lx', 'r1')).toBe('NOT_FOUND');
    const r = await admit('lx', 1);
    expect(r.expired).toBe(2);
    expect(await redis.zrange(keys.admitted('lx'), 0, -1)).toEqual(['v1']);
    expect(await redis.zcard(keys.admissionBatches('lx'))).toBe(1);
    expect(await queue.status('lx', 'v1')).toMatchObject({ status: 'ADMITTED' });
  });

  test('reserve: admitted + matching place only, 1 <= quantity <= maxPerUser minus holdings, stock checked, admission consumed', async () => {
    await items.upsert('rs', { itemName: 'rs', remainCount: 5, waitingQueueEnabled: true, maxPerUser: 2 });
    const seqs = await admitted('rs', ['u1', 'u2', 'u3']);
    await register(queue, 'rs', 'w1'); // waiting, not admitted
    const ttl = 60_000;
    expect(await rsv.reserve('rs', 'w1', '4', 1, ttl)).toEqual({ status: 'NOT_ADMITTED' });
    expect(await rsv.reserve('rs', 'u1', String(Number(seqs.get('u1')) + 1), 1, ttl)).toEqual({
      status: 'NOT_ADMITTED',
    });
    expect(await rsv.reserve('rs', 'u1', seqs.get('u1')!, 3, ttl)).toEqual({
      status: 'LIMIT_EXCEEDED',
      maxPerUser: 2,
      held: 0,
    });
    const ok = await rsv.reserve('rs', 'u1', seqs.get('u1')!, 2, ttl);
    if (ok.status !== 'OK') throw new Error(ok.status);
    expect(ok.reservation).toMatchObject({
      reservationId: 'rs.1',
      itemId: 'rs',
      userId: 'u1',
      quantity: 2,
      status: 'PENDING',
    });
    expect(ok.reservation.expiresAt - ok.reservation.createdAt).toBe(ttl);
    expect(ok.remainCount).toBe(3);
    // The admission is consumed: the same token cannot reserve again.
    expect(await rsv.reserve('rs', 'u1', seqs.get('u1')!, 1, ttl)).toEqual({ status: 'NOT_ADMITTED' });
    expect(await redis.hget(keys.holdings('rs'), 'u1')).toBe('2');
    // A new admission of u1: the allowance is used up (2 held of 2).
    const again = placeOf(await register(queue, 'rs', 'u1'));
    await admit('rs', 2); // w1 (ahead of u1), then u1
    expect(await rsv.reserve('rs', 'u1', again.seq, 1, ttl)).toEqual({
      status: 'LIMIT_EXCEEDED',
      maxPerUser: 2,
      held: 2,
    });
    // Stock: 3 left; u2 takes 2, u3 asks 2 but only 1 is left; a refused reservation keeps the admission.
    expect((await rsv.reserve('rs', 'u2', seqs.get('u2')!, 2, ttl)).status).toBe('OK');
    expect(await rsv.reserve('rs', 'u3', seqs.get('u3')!, 2, ttl)).toEqual({
      status: 'INSUFFICIENT_STOCK',
      remainCount: 1,
    });
    expect((await rsv.reserve('rs', 'u3', seqs.get('u3')!, 1, ttl)).status).toBe('OK');
    expect(await stock('rs')).toBe(0);
    expect(await types('rs')).toEqual([
      'batch.admitted',
      'reservation.created',
      'batch.admitted',
      'reservation.created',
      'reservation.created',
      'item.sold_out',
    ]);
  });

  test('200 concurrent reservations for 50 stock over two connections: exactly 50 succeed, stock ends at 0, sold out once', async () => {
    await items.upsert('race', { itemName: 'race', remainCount: 50, waitingQueueEnabled: true });
    const users = Array.from({ length: 200 }, (_, i) => `c${i}`);
    const seqs = await admitted('race', users);
    const stores = [rsv, new ReservationStore(other)];
    const results = await Promise.all(users.map((u, i) => stores[i % 2].reserve('race', u, seqs.get(u)!, 1, 60_000)));
    expect(results.filter((r) => r.status === 'OK')).toHaveLength(50);
    expect(results.filter((r) => r.status === 'INSUFFICIENT_STOCK')).toHaveLength(150);
    expect(await stock('race')).toBe(0);
    expect(await redis.hlen(keys.reservations('race'))).toBe(50);
    const evs = await types('race');
    expect(evs.filter((t) => t === 'reservation.created')).toHaveLength(50);
    expect(evs.filter((t) => t === 'item.sold_out')).toHaveLength(1);
  });

  test('confirm and cancel: PENDING -> CONFIRMED / CANCELLED once; cancel restores stock and allowance; idempotent repeats', async () => {
    await items.upsert('cc', { itemName: 'cc', remainCount: 2, waitingQueueEnabled: true });
    const seqs = await admitted('cc', ['a', 'b']);
    const ra = await rsv.reserve('cc', 'a', seqs.get('a')!, 1, 60_000);
    const rb = await rsv.reserve('cc', 'b', seqs.get('b')!, 1, 60_000);
    if (ra.status !== 'OK' || rb.status !== 'OK') throw new Error('reserve failed');
    const idA = ra.reservation.reservationId;
    const idB = rb.reservation.reservationId;
    expect(await stock('cc')).toBe(0);
    expect(await rsv.confirm(idA)).toMatchObject({ status: 'OK', reservation: { status: 'CONFIRMED' } });
    expect(await rsv.confirm(idA)).toMatchObject({ status: 'OK', reservation: { status: 'CONFIRMED' } });
    expect(await rsv.cancel(idA)).toMatchObject({ status: 'CONFIRMED' });
    expect(await rsv.cancel(idB)).toMatchObject({ status: 'OK', reservation: { status: 'CANCELLED' } });
    expect(await rsv.cancel(idB)).toMatchObject({ status: 'OK', reservation: { status: 'CANCELLED' } });
    expect(await rsv.confirm(idB)).toMatchObject({ status: 'CANCELLED' });
    expect(await stock('cc')).toBe(1);
    expect(await redis.hget(keys.holdings('cc'), 'a')).toBe('1');
    expect(await redis.hexists(keys.holdings('cc'), 'b')).toBe(0);
    expect(await rsv.confirm('cc.99')).toEqual({ status: 'NOT_FOUND' });
    expect(await rsv.get(idB)).toMatchObject({ status: 'CANCELLED', userId: 'b' });
    const evs = await readOutbox(redis, 'cc');
    expect(evs.slice(-4).map((e) => e.type)).toEqual([
      'item.sold_out',
      'reservation.confirmed',
      'reservation.cancelled',
      'item.reopened',
    ]);
    expect(evs.find((e) => e.type === 'reservation.cancelled')!.payload).toEqual({
      reservationId: idB,
      userId: 'b',
      quantity: 1,
      remainCount: 1,
    });
    // Event ids are unique and follow the item's counter.
    expect(evs.map((e) => e.id)).toEqual(evs.map((_, i) => `cc:${i + 1}`));
  });

  test('expiry restores stock exactly once, whatever races it: two sweepers, confirms and cancels at the same time', async () => {
    await items.upsert('ex', { itemName: 'ex', remainCount: 30, waitingQueueEnabled: true });
    const users = Array.from({ length: 30 }, (_, i) => `e${i}`);
    const seqs = await admitted('ex', users);
    const ids: string[] = [];
    for (const u of users) {
      const r = await rsv.reserve('ex', u, seqs.get(u)!, 1, 300);
      if (r.status !== 'OK') throw new Error(r.status);
      ids.push(r.reservation.reservationId);
    }
    expect(await stock('ex')).toBe(0);
    await new Promise((r) => setTimeout(r, 400));
    const stores = [rsv, new ReservationStore(other)];
    const params = { limit: 1000, retentionMs: 86_400_000 };
    const racing = await Promise.all([
      stores[0].expireDue('ex', params),
      stores[1].expireDue('ex', params),
      ...ids.map((id, i) => (i % 2 ? stores[i % 2].confirm(id) : stores[i % 2].cancel(id))),
      stores[1].expireDue('ex', params),
    ]);
    const sweeps = [racing[0], racing[1], racing[racing.length - 1]] as { expired: number }[];
    const settles = racing.slice(2, -1) as { status: string }[];
    // Every reservation was past its expiry: confirm and cancel report EXPIRED, nothing is confirmed.
    expect(settles.every((s) => s.status === 'EXPIRED')).toBe(true);
    const bySweep = sweeps.reduce((s, r) => s + r.expired, 0);
    const evs = await readOutbox(redis, 'ex');
    expect(evs.filter((e) => e.type === 'reservation.expired')).toHaveLength(30);
    expect(new Set(evs.filter((e) => e.type === 'reservation.expired').map((e) => e.payload.reservationId))).toEqual(
      new Set(ids),
    );
    expect(bySweep).toBeLessThanOrEqual(30);
    expect(await stock('ex')).toBe(30);
    expect(await redis.zcard(keys.reservationsPending('ex'))).toBe(0);
    expect(await redis.hlen(keys.holdings('ex'))).toBe(0);
    expect(evs.filter((e) => e.type === 'item.reopened')).toHaveLength(1);
    // Settled records are purged after the retention.
    expect(await rsv.expireDue('ex', { limit: 1000, retentionMs: 0 })).toEqual({ expired: 0, purged: 30 });
    expect(await redis.exists(keys.reservations('ex'), keys.reservationsDone('ex'))).toBe(0);
  });

  test('a confirm racing the sweep before expiry: the confirm wins, the sweep leaves it alone', async () => {
    await items.upsert('cr', { itemName: 'cr', remainCount: 1, waitingQueueEnabled: true });
    const seqs = await admitted('cr', ['x']);
    const r = await rsv.reserve('cr', 'x', seqs.get('x')!, 1, 60_000);
    if (r.status !== 'OK') throw new Error(r.status);
    const [confirmed, swept] = await Promise.all([
      rsv.confirm(r.reservation.reservationId),
      new ReservationStore(other).expireDue('cr', { limit: 10, retentionMs: 86_400_000 }),
    ]);
    expect(confirmed.status).toBe('OK');
    expect(swept.expired).toBe(0);
    expect(await stock('cr')).toBe(0);
  });

  test('claims: at most the stock and one per user; a refused user is not recorded and may claim after a restock', async () => {
    await items.upsert('cp', { itemName: 'cp', remainCount: 100, waitingQueueEnabled: true, queueMode: 'DIRECT' });
    const users = Array.from({ length: 1000 }, (_, i) => `k${i}`);
    const stores = [claims, new ClaimStore(other)];
    const results = await Promise.all(users.map((u, i) => stores[i % 2].claim('cp', u).then((r) => ({ u, r }))));
    const won = results.filter((x) => x.r.status === 'OK');
    expect(won).toHaveLength(100);
    expect(results.filter((x) => x.r.status === 'SOLD_OUT')).toHaveLength(900);
    expect(await redis.hlen(keys.claims('cp'))).toBe(100);
    expect(await stock('cp')).toBe(0);
    const loser = results.find((x) => x.r.status === 'SOLD_OUT')!.u;
    expect(await redis.hget(keys.claims('cp'), loser)).toBeNull();
    const winner = won[0];
    expect(await claims.claim('cp', winner.u)).toEqual({
      status: 'ALREADY_CLAIMED',
      claimId: (winner.r as { claimId: string }).claimId,
    });
    expect(await items.restock('cp', 1)).toBe(1);
    expect(await claims.claim('cp', loser)).toMatchObject({ status: 'OK', remainCount: 0 });
    const evs = await types('cp');
    expect(evs.filter((t) => t === 'claim.issued')).toHaveLength(101);
    expect(evs.filter((t) => t === 'item.sold_out')).toHaveLength(2);
    expect(evs.filter((t) => t === 'item.reopened')).toHaveLength(1);
    expect(evs.filter((t) => t === 'item.restocked')).toHaveLength(1);
    // A DIRECT item has no waiting room; a WAITING item has no claims.
    expect(await register(queue, 'cp', 'someone')).toBe('DIRECT');
    expect(await claims.claim('rs', 'someone')).toEqual({ status: 'NOT_DIRECT' });
    expect(await claims.claim('nope', 'someone')).toEqual({ status: 'NO_ITEM' });
  });

  test('restock reopens a sold-out item: registration refused at 0, accepted after; restock of an unknown item', async () => {
    await items.upsert('rk', { itemName: 'rk', remainCount: 0, waitingQueueEnabled: true });
    expect(await register(queue, 'rk', 'late')).toBe('SOLD_OUT');
    expect(await items.restock('rk', 5)).toBe(5);
    expect(placeOf(await register(queue, 'rk', 'late')).status).toBe('WAITING');
    expect(await types('rk')).toEqual(['item.restocked', 'item.reopened']);
    expect(await items.restock('never', 5)).toBe('NO_ITEM');
    expect(await redis.exists(keys.item('never'), keys.outbox('never'))).toBe(0);
  });

  test('time deal, queue capacity: NOT_OPEN before startAt (with it), QUEUE_FULL at maxWaiting', async () => {
    const opensAt = Date.now() + 60_000;
    await items.upsert('td', {
      itemName: 'td',
      remainCount: 5,
      waitingQueueEnabled: true,
      type: 'TIME_DEAL',
      startAt: opensAt,
    });
    expect(await queue.registerOrRefuse('td', 'u')).toEqual({
      refusal: 'NOT_OPEN',
      opensAt,
      nowMs: expect.any(Number),
    });
    await items.upsert('td', {
      itemName: 'td',
      remainCount: 5,
      waitingQueueEnabled: true,
      type: 'TIME_DEAL',
      startAt: new Date(Date.now() - 1000).toISOString(),
    });
    expect(placeOf(await register(queue, 'td', 'u')).status).toBe('WAITING');

    await items.upsert('full', { itemName: 'full', remainCount: 5, waitingQueueEnabled: true, maxWaiting: 2 });
    await register(queue, 'full', 'a');
    await register(queue, 'full', 'b');
    expect(await register(queue, 'full', 'c')).toBe('QUEUE_FULL');
    expect(placeOf(await register(queue, 'full', 'a')).rank).toBe(1); // an existing place is returned, not refused
    await admit('full', 1);
    expect(placeOf(await register(queue, 'full', 'c')).rank).toBe(2);
  });

  test('abandonment: users who stopped polling are dropped before admission; pollers are admitted', async () => {
    await items.upsert('ab', { itemName: 'ab', remainCount: 10, waitingQueueEnabled: true, tokenCountToMove: 0 });
    for (const u of ['gone1', 'stay', 'gone2', 'legacy']) await register(queue, 'ab', u, { trackPoll: u !== 'legacy' });
    await new Promise((r) => setTimeout(r, 400));
    await queue.status('ab', 'stay', { trackPoll: true });
    // Paused (N = 0): the silent ones are dropped anyway, so they hold no place and no slot.
    const paused = await queue.admit('ab', {
      tokenCountToMove: 0,
      admissionTtlMs: 60_000,
      fence: fence++,
      tickMs: 1000,
      abandonAfterMs: 300,
    });
    expect(paused).toMatchObject({ admittedCount: 0, abandoned: 2, waiting: 2 });
    expect(await queue.status('ab', 'gone1')).toBe('NOT_FOUND');
    await items.upsert('ab', { itemName: 'ab', remainCount: 10, waitingQueueEnabled: true, tokenCountToMove: 10 });
    const r = await queue.admit('ab', {
      tokenCountToMove: 10,
      admissionTtlMs: 60_000,
      fence: fence++,
      tickMs: 1000,
      abandonAfterMs: 300,
    });
    expect(r).toMatchObject({ admittedCount: 2, abandoned: 0 });
    // A user never tracked (registered before abandonment was on) is not dropped.
    expect((await redis.zrange(keys.admitted('ab'), 0, -1)).sort()).toEqual(['legacy', 'stay']);
    expect(await redis.exists(keys.lastPoll('ab'))).toBe(0);
  });
});
