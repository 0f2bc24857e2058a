import { randomUUID } from 'node:crypto';
import { TokenCodec } from '@waiting-queue/core/ids';
import { ItemStore } from '@waiting-queue/core/item-store';
import { keys } from '@waiting-queue/core/keys';
import { QueueStore } from '@waiting-queue/core/queue-store';
import { type RedisClient } from '@waiting-queue/core/redis';
import type { ServiceProcess } from './helpers/processes';
import { useStack } from './helpers/stack';
import {
  consume,
  expectFailure,
  expectSuccess,
  poll,
  register,
  validate,
  type Reply,
} from './helpers/waiting-room-client';

/**
 * The public and internal API against two real api processes sharing one redis-server: FIFO across processes,
 * one place per user, token binding, refusals, and the order service's validate/consume.
 */
const INTERNAL_TOKEN = 'api-test-internal-token';

describe('api processes (x2) on one redis', () => {
  // No TOKEN_SECRET: both processes must agree on the one generated and kept in Redis.
  const apiEnv = { INTERNAL_TOKEN, LOG_LEVEL: 'warn' };
  const env = useStack({
    name: 'api-test',
    services: [
      { name: 'api', env: apiEnv },
      { name: 'api', env: apiEnv },
    ],
    startTimeoutMs: 120_000,
  });
  let redis: RedisClient;
  let items: ItemStore;
  let queue: QueueStore;
  let codec: TokenCodec;
  let apis: ServiceProcess[] = [];
  let fence = 1;

  /** One admission tick of `itemId` moving up to `n`, as the scheduler does it (same Lua script, growing fence). */
  const admit = (itemId: string, n: number) =>
    queue.admit(itemId, { tokenCountToMove: n, admissionTtlMs: 600_000, fence: fence++, tickMs: 1000 });
  const seedItem = (itemId: string, remainCount = 1000, waitingQueueEnabled = true) =>
    items.upsert(itemId, { itemName: `item ${itemId}`, remainCount, waitingQueueEnabled });
  const tokenOf = (r: Reply): string => expectSuccess(r).waitingQueueToken;

  beforeAll(async () => {
    redis = env.redis;
    items = new ItemStore(redis);
    queue = new QueueStore(redis);
    apis = env.services;
    const secret = await redis.get(keys.tokenSecret);
    codec = new TokenCodec(secret ?? '');
  });

  test('FIFO: 1,000 concurrent registrations over 2 api processes get ranks 1..1000 in Redis sequence order, and admission follows that order', async () => {
    const itemId = 'fifo';
    await seedItem(itemId);
    const users = Array.from({ length: 1000 }, (_, i) => `fifo_user_${i}`);
    const replies = await Promise.all(users.map((u, i) => register(apis[i % 2].url, itemId, u)));
    const views = replies.map(expectSuccess);
    const rankOf = new Map(users.map((u, i) => [u, views[i].waitingQueueRank as number]));

    // Ranks handed out are a permutation of 1..1000.
    expect([...rankOf.values()].sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));

    // The waiting queue by score: scores are the item's sequence numbers 1..1000, without gap or repeat.
    const flat = await redis.zrange(keys.waiting(itemId), 0, -1, 'WITHSCORES');
    const order: string[] = [];
    const seqOf = new Map<string, number>();
    for (let i = 0; i < flat.length; i += 2) {
      order.push(flat[i]);
      seqOf.set(flat[i], Number(flat[i + 1]));
    }
    expect(order).toHaveLength(1000);
    expect(order.map((u) => seqOf.get(u))).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(await redis.hget(keys.item(itemId), 'seq')).toBe('1000');

    // Each user's rank at registration is their sequence number, and their token is the one of that sequence
    // (whichever process served them): the queue order is the order Redis sequenced the registrations in.
    users.forEach((u, i) => {
      expect({ u, rank: rankOf.get(u) }).toEqual({ u, rank: seqOf.get(u) });
      expect(views[i].waitingQueueToken).toBe(codec.tokenFor(itemId, u, seqOf.get(u)!));
      expect(views[i]).toMatchObject({ itemId, canOrder: false, admissionExpiresAt: null });
    });

    // Polling through the other process reports the same rank.
    const polls = await Promise.all(
      users.map((u, i) => poll(apis[(i + 1) % 2].url, itemId, views[i].waitingQueueToken, u)),
    );
    expect(polls.map((p) => expectSuccess(p).waitingQueueRank)).toEqual(users.map((u) => seqOf.get(u)));

    // Admission pops the head in exactly that order, step by step.
    let admitted = 0;
    for (const step of [1, 99, 250, 13, 400, 237]) {
      const r = await admit(itemId, step);
      expect(r).toMatchObject({ status: 'OK', admittedCount: step, waiting: 1000 - admitted - step });
      admitted += step;
      const entry = (await redis.zrange(keys.admitted(itemId), 0, -1)).sort();
      expect(entry).toEqual(order.slice(0, admitted).sort());
      expect(await redis.zrange(keys.waiting(itemId), 0, -1)).toEqual(order.slice(admitted));
    }
    // The entry set keeps each admitted user's sequence as its score (their token stays valid after admission).
    const flatEntry = await redis.zrange(keys.admitted(itemId), 0, -1, 'WITHSCORES');
    expect(flatEntry).toHaveLength(2000);
    const entrySeq = new Map<string, number>();
    for (let i = 0; i < flatEntry.length; i += 2) entrySeq.set(flatEntry[i], Number(flatEntry[i + 1]));
    for (const u of users) expect(entrySeq.get(u)).toBe(seqOf.get(u));
  });

  test('one place per user: 100 concurrent registrations of one user over 2 processes return one token', async () => {
    const itemId = 'same_user';
    await seedItem(itemId);
    const replies = await Promise.all(
      Array.from({ length: 100 }, (_, i) => register(apis[i % 2].url, itemId, 'only_user')),
    );
    const views = replies.map(expectSuccess);
    expect(new Set(views.map((v) => v.waitingQueueToken)).size).toBe(1);
    expect(views.every((v) => v.waitingQueueRank === 1)).toBe(true);
    expect(await redis.zcard(keys.waiting(itemId))).toBe(1);
    expect(await redis.zrange(keys.waiting(itemId), 0, -1)).toEqual(['only_user']);
    expect(await redis.hget(keys.item(itemId), 'seq')).toBe('1');
  });

  test('tokens are bound to user and item; ranks are 1-based; admitted users get rank 0 and canOrder', async () => {
    await seedItem('bind_a');
    await seedItem('bind_b');
    const [api0, api1] = apis;
    const alice = expectSuccess(await register(api0.url, 'bind_a', 'alice'));
    const bob = expectSuccess(await register(api1.url, 'bind_a', 'bob'));
    const aliceB = expectSuccess(await register(api0.url, 'bind_b', 'alice'));
    expect(alice).toMatchObject({ waitingQueueRank: 1, canOrder: false });
    expect(bob).toMatchObject({ waitingQueueRank: 2, canOrder: false });
    expect(aliceB.waitingQueueRank).toBe(1);
    expect(alice.waitingQueueToken).toMatch(
      /^alice-bind_a-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );

    // Another user's token.
    expectFailure(await poll(api1.url, 'bind_a', alice.waitingQueueToken, 'bob'), 403, 'TOKEN_MISMATCH');
    // A token of another item, on this item's path.
    expectFailure(await poll(api0.url, 'bind_a', aliceB.waitingQueueToken, 'alice'), 403, 'TOKEN_MISMATCH');
    expectFailure(await validate(api0.url, 'bind_a', aliceB.waitingQueueToken, INTERNAL_TOKEN), 403, 'TOKEN_MISMATCH');
    // Well-formed but never issued: a random uuid, an unregistered user, a sequence the user does not hold.
    expectFailure(
      await poll(api0.url, 'bind_a', `alice-bind_a-${randomUUID()}`, 'alice'),
      404,
      'WAITING_QUEUE_NOT_FOUND',
    );
    expectFailure(
      await poll(api0.url, 'bind_a', codec.tokenFor('bind_a', 'carol', 1), 'carol'),
      404,
      'WAITING_QUEUE_NOT_FOUND',
    );
    expectFailure(
      await poll(api0.url, 'bind_a', codec.tokenFor('bind_a', 'alice', 2), 'alice'),
      404,
      'WAITING_QUEUE_NOT_FOUND',
    );
    expectFailure(
      await poll(api0.url, 'nope_item', codec.tokenFor('nope_item', 'alice', 1), 'alice'),
      404,
      'WAITING_QUEUE_NOT_FOUND',
    );
    // Malformed tokens.
    const uuid = alice.waitingQueueToken.slice('alice-bind_a-'.length);
    for (const bad of [
      'garbage',
      `alice-bind_a-${uuid.toUpperCase()}`,
      `alice-bind_a-${uuid.slice(1)}`,
      `alice-bind_a-${uuid.replace(/^(.{14})4/, '$11')}`,
      `alice_bind_a_${uuid}`,
    ]) {
      expectFailure(await poll(api0.url, 'bind_a', bad, 'alice'), 400, 'INVALID_PARAMETER');
    }

    // Admit the head: alice gets rank 0 and may order; bob moves up to rank 1.
    expect(await admit('bind_a', 1)).toMatchObject({ status: 'OK', admittedCount: 1, waiting: 1 });
    const before = Date.now();
    const aliceNow = expectSuccess(await poll(api1.url, 'bind_a', alice.waitingQueueToken, 'alice'));
    expect(aliceNow).toMatchObject({
      waitingQueueToken: alice.waitingQueueToken,
      waitingQueueRank: 0,
      canOrder: true,
      estimatedWaitSeconds: 0,
      pollAfterMs: 0,
    });
    expect(aliceNow.admissionExpiresAt).toBeGreaterThan(before);
    expect(expectSuccess(await poll(api0.url, 'bind_a', bob.waitingQueueToken, 'bob'))).toMatchObject({
      waitingQueueRank: 1,
      canOrder: false,
    });
    // Registering again while admitted returns the same place.
    expect(expectSuccess(await register(api0.url, 'bind_a', 'alice'))).toMatchObject({
      waitingQueueToken: alice.waitingQueueToken,
      waitingQueueRank: 0,
      canOrder: true,
    });
  });

  test('unknown, sold-out and disabled items refuse registration with 409 ITEM_CANNOT_USE_WAITING_QUEUE', async () => {
    await seedItem('sold_out', 0, true);
    await seedItem('disabled', 100, false);
    const cases: [string, string][] = [
      ['no_such_item', 'NO_ITEM'],
      ['sold_out', 'SOLD_OUT'],
      ['disabled', 'DISABLED'],
    ];
    for (const [itemId, reason] of cases) {
      const r = await register(apis[0].url, itemId, 'dave');
      expectFailure(r, 409, 'ITEM_CANNOT_USE_WAITING_QUEUE');
      expect(r.body.data).toEqual({ itemId, reason });
      expect(await redis.exists(keys.waiting(itemId))).toBe(0);
    }
    expect(await redis.exists(keys.item('no_such_item'))).toBe(0);
    // The refusal follows the item's state: restocked and enabled, the same registrations succeed.
    await seedItem('sold_out', 5, true);
    await seedItem('disabled', 100, true);
    expect(expectSuccess(await register(apis[1].url, 'sold_out', 'dave')).waitingQueueRank).toBe(1);
    expect(expectSuccess(await register(apis[1].url, 'disabled', 'dave')).waitingQueueRank).toBe(1);
  });

  test('a token remembered as verified (VerifiedTokenCache) opens only its own place: after consume and a new registration the old token is 404 and the new one works', async () => {
    const itemId = 'cached_token';
    await seedItem(itemId);
    const [api0, api1] = apis;
    const old = tokenOf(await register(api0.url, itemId, 'carol'));
    // Verified, hence remembered, by both processes, by the poll and by the validation.
    for (const api of apis) {
      for (let i = 0; i < 3; i++)
        expect(expectSuccess(await poll(api.url, itemId, old, 'carol')).waitingQueueRank).toBe(1);
      expect(expectSuccess(await validate(api.url, itemId, old, INTERNAL_TOKEN)).admitted).toBe(false);
    }
    // A forged token of the same place is still refused once the real one is remembered.
    const forged = `carol-${itemId}-${randomUUID()}`;
    expectFailure(await poll(api0.url, itemId, forged, 'carol'), 404, 'WAITING_QUEUE_NOT_FOUND');

    expect(await admit(itemId, 1)).toMatchObject({ admittedCount: 1 });
    expect(expectSuccess(await consume(api1.url, itemId, old, INTERNAL_TOKEN))).toMatchObject({ consumed: true });
    const fresh = tokenOf(await register(api1.url, itemId, 'carol'));
    expect(fresh).not.toBe(old);
    for (const api of apis) {
      expectFailure(await poll(api.url, itemId, old, 'carol'), 404, 'WAITING_QUEUE_NOT_FOUND');
      expectFailure(await validate(api.url, itemId, old, INTERNAL_TOKEN), 404, 'WAITING_QUEUE_NOT_FOUND');
      expect(expectSuccess(await poll(api.url, itemId, fresh, 'carol')).waitingQueueRank).toBe(1);
    }
  });

  test('internal API: validate and consume-once with the INTERNAL_TOKEN bearer; the public API needs none', async () => {
    const itemId = 'internal';
    await seedItem(itemId);
    const [api0, api1] = apis;
    // The public API works without any Authorization header.
    const u1 = tokenOf(await register(api0.url, itemId, 'u1'));
    const u2 = tokenOf(await register(api1.url, itemId, 'u2'));
    const u3 = tokenOf(await register(api0.url, itemId, 'u3'));
    const u4 = tokenOf(await register(api1.url, itemId, 'u4'));
    expectSuccess(await poll(api1.url, itemId, u1, 'u1'));

    // Bearer required on /internal/v1.
    for (const auth of [undefined, 'wrong-token', `${INTERNAL_TOKEN}x`, '']) {
      const r = await validate(api0.url, itemId, u1, auth);
      expectFailure(r, 401, 'UNAUTHORIZED');
      expectFailure(await consume(api0.url, itemId, u1, auth), 401, 'UNAUTHORIZED');
    }
    const basic = await fetch(`${api0.url}/internal/v1/item/${itemId}/waiting-queue/${u1}`, {
      headers: { authorization: `Basic ${INTERNAL_TOKEN}` },
    });
    expect(basic.status).toBe(401);

    // A waiting token validates as not admitted and cannot be consumed.
    expect(expectSuccess(await validate(api0.url, itemId, u1, INTERNAL_TOKEN))).toEqual({
      admitted: false,
      userId: 'u1',
      itemId,
      expiresInSeconds: null,
    });
    expectFailure(await consume(api1.url, itemId, u1, INTERNAL_TOKEN), 409, 'NOT_ADMITTED');

    expect(await admit(itemId, 3)).toMatchObject({ admittedCount: 3, waiting: 1 });
    const v = expectSuccess(await validate(api1.url, itemId, u1, INTERNAL_TOKEN));
    expect(v).toMatchObject({ admitted: true, userId: 'u1', itemId });
    expect(v.expiresInSeconds).toBeGreaterThan(0);
    expect(v.expiresInSeconds).toBeLessThanOrEqual(600);
    // u4 is still waiting: consuming it is refused and leaves it in the queue.
    expectFailure(await consume(api0.url, itemId, u4, INTERNAL_TOKEN), 409, 'NOT_ADMITTED');
    expect(await redis.zscore(keys.waiting(itemId), 'u4')).not.toBeNull();

    // Consume once; the second consume is refused and the token is gone.
    expect(expectSuccess(await consume(api0.url, itemId, u1, INTERNAL_TOKEN))).toEqual({
      consumed: true,
      userId: 'u1',
      itemId,
    });
    expectFailure(await consume(api1.url, itemId, u1, INTERNAL_TOKEN), 409, 'NOT_ADMITTED');
    expectFailure(await validate(api0.url, itemId, u1, INTERNAL_TOKEN), 404, 'WAITING_QUEUE_NOT_FOUND');
    expectFailure(await poll(api0.url, itemId, u1, 'u1'), 404, 'WAITING_QUEUE_NOT_FOUND');

    // 20 concurrent consumes of one admission over both processes: exactly one wins.
    const race = await Promise.all(
      Array.from({ length: 20 }, (_, i) => consume(apis[i % 2].url, itemId, u2, INTERNAL_TOKEN)),
    );
    expect(race.filter((r) => r.status === 200)).toHaveLength(1);
    for (const r of race.filter((x) => x.status !== 200)) expectFailure(r, 409, 'NOT_ADMITTED');

    // A token of another item cannot consume this item's admission.
    await seedItem('internal_other');
    const other = tokenOf(await register(api0.url, 'internal_other', 'u3'));
    expectFailure(await consume(api0.url, itemId, other, INTERNAL_TOKEN), 403, 'TOKEN_MISMATCH');
    expect(expectSuccess(await validate(api0.url, itemId, u3, INTERNAL_TOKEN)).admitted).toBe(true);
    expect(await redis.zrange(keys.admitted(itemId), 0, -1)).toEqual(['u3']);
  });
});
