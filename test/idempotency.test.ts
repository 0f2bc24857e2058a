import { readOutbox } from '@waiting-queue/core/events';
import { ItemStore } from '@waiting-queue/core/item-store';
import { keys } from '@waiting-queue/core/keys';
import { QueueStore } from '@waiting-queue/core/queue-store';
import { connectRedis, type RedisClient } from '@waiting-queue/core/redis';
import { script } from '@waiting-queue/core/scripts';
import { startDropProxy, type DropProxy } from './helpers/drop-proxy';
import { call, type ServiceProcess } from './helpers/processes';
import { testRedis } from './helpers/redis';
import { startServices } from './helpers/services';
import { ADMIN, expectFailure, expectSuccess, register, sleep, type Reply } from './helpers/waiting-room-client';

const INTERNAL = 'idem-internal-token';
const ADMIN_TOKEN = 'idem-admin-token';

/**
 * Every write takes effect exactly once. A real TCP proxy (test/helpers/drop-proxy.ts) sits between the product
 * processes (one api, one scheduler) and a real redis-server; armed with a script's SHA-1, it forwards that
 * EVALSHA to Redis and drops the connection when Redis's reply comes back, so Redis ran the script and the process
 * never heard so. For each write: the call answers 503 `SERVICE_UNAVAILABLE` with `Retry-After` (ioredis must not
 * resend the script), Redis shows exactly one effect, a retry with the same `Idempotency-Key` gets the first
 * answer without a second effect, and the same key with another request is 422 `IDEMPOTENCY_KEY_REUSED`.
 */
describe('every write takes effect exactly once', () => {
  let env: Awaited<ReturnType<typeof testRedis>>;
  let proxy: DropProxy;
  let redis: RedisClient;
  let items: ItemStore;
  let queue: QueueStore;
  let api: ServiceProcess;
  let scheduler: ServiceProcess;
  let fence = 1;
  let keyCount = 0;
  const newKey = (what: string) => `${what}-${process.pid}-${++keyCount}`;

  const internal = (key?: string) => ({
    authorization: `Bearer ${INTERNAL}`,
    ...(key === undefined ? {} : { 'idempotency-key': key }),
  });
  const admin = (key?: string) => ({
    authorization: `Bearer ${ADMIN_TOKEN}`,
    ...(key === undefined ? {} : { 'idempotency-key': key }),
  });
  const stockOf = async (itemId: string) => Number(await redis.hget(keys.item(itemId), 'remainCount'));

  /** Loads the script into Redis (so that the product sends EVALSHA, never EVAL) and arms the proxy with its SHA-1. */
  const dropReplyOf = async (command: string): Promise<{ dropped: Promise<void> }> => {
    await redis.script('LOAD', script(command).lua);
    return { dropped: proxy.arm(script(command).sha) };
  };
  const expectUnavailable = (reply: Reply) => {
    expectFailure(reply, 503, 'SERVICE_UNAVAILABLE');
    expect(reply.headers.get('retry-after')).toBe('1');
  };
  /**
   * A client's retry: sends the request again, waiting `Retry-After` seconds after each 503 (the process
   * reconnects to Redis after the drop), at most 10 times.
   */
  const retried = async (send: () => Promise<Reply>): Promise<Reply> => {
    for (let attempt = 1; ; attempt++) {
      const reply = await send();
      if (reply.status !== 503 || attempt === 10) return reply;
      await sleep(Number(reply.headers.get('retry-after') ?? '1') * 1000);
    }
  };
  /** The same status and body (the envelope), as a replay must answer. */
  const expectSameAnswer = (again: Reply, first: Reply) => {
    expect({ status: again.status, body: again.body }).toEqual({ status: first.status, body: first.body });
  };
  /** Registers `userId` through the api and admits it by hand (items of this test are not in the registry). */
  const admitted = async (itemId: string, userId: string) => {
    const token = expectSuccess(await register(api.url, itemId, userId)).waitingQueueToken as string;
    await queue.admit(itemId, { tokenCountToMove: 1000, admissionTtlMs: 600_000, fence: fence++, tickMs: 1000 });
    return token;
  };

  beforeAll(async () => {
    env = await testRedis();
    proxy = await startDropProxy({ host: '127.0.0.1', port: env.server.port });
    redis = await connectRedis({ url: env.url }, 'idempotency-test');
    items = new ItemStore(redis);
    queue = new QueueStore(redis);
    const common = { REDIS_URL: proxy.url, LOG_LEVEL: 'warn' };
    [api, scheduler] = await startServices([
      { name: 'api', env: { ...common, INTERNAL_TOKEN: INTERNAL } },
      // Hourly ticks: the test admits by hand, and the proxy's drop must not hit a tick.
      { name: 'scheduler', env: { ...common, ADMIN_TOKEN, DEV_MODE: '0', SCHEDULER_CRON: '0 0 * * * *' } },
    ]);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([api, scheduler].map((p) => p?.stop()));
    redis?.disconnect();
    await proxy?.close();
    await env?.stop();
  }, 30_000);

  test('restock (admin, express): a dropped reply is 503, the stock grows once, the retry gets the first answer', async () => {
    const itemId = 'idem_restock';
    await items.upsert(itemId, { itemName: itemId, remainCount: 10, waitingQueueEnabled: true }, { register: false });
    const url = `${scheduler.url}${ADMIN}/waiting-item/${itemId}/restock`;
    const key = newKey('restock');

    const { dropped } = await dropReplyOf('wq_restock');
    expectUnavailable(await call(url, { method: 'POST', headers: admin(key), body: { quantity: 20 } }));
    await dropped;
    expect(await stockOf(itemId)).toBe(30);

    const retry = await retried(() => call(url, { method: 'POST', headers: admin(key), body: { quantity: 20 } }));
    expect(expectSuccess(retry)).toEqual({ itemId, quantity: 20, remainCount: 30 });
    expectSameAnswer(await call(url, { method: 'POST', headers: admin(key), body: { quantity: 20 } }), retry);
    expect(await stockOf(itemId)).toBe(30);
    expect((await readOutbox(redis, itemId)).filter((e) => e.type === 'item.restocked')).toHaveLength(1);

    expectFailure(
      await call(url, { method: 'POST', headers: admin(key), body: { quantity: 5 } }),
      422,
      'IDEMPOTENCY_KEY_REUSED',
    );
    expect(await stockOf(itemId)).toBe(30);
    // Without a key a restock is a new restock each time, as before.
    expectSuccess(await call(url, { method: 'POST', headers: admin(), body: { quantity: 1 } }));
    expect(await stockOf(itemId)).toBe(31);
  });

  test('consume (internal, express): a dropped reply is 503, the admission is consumed once, the retry answers consumed', async () => {
    const itemId = 'idem_consume';
    await items.upsert(itemId, { itemName: itemId, remainCount: 10, waitingQueueEnabled: true }, { register: false });
    const token = await admitted(itemId, 'cora');
    const other = await admitted(itemId, 'cid');
    const url = (t: string) => `${api.url}/internal/v1/item/${itemId}/waiting-queue/${t}/consume`;
    const key = newKey('consume');

    const { dropped } = await dropReplyOf('wq_consume');
    expectUnavailable(await call(url(token), { method: 'POST', headers: internal(key) }));
    await dropped;
    expect(await redis.zscore(keys.admitted(itemId), 'cora')).toBeNull();

    const retry = await retried(() => call(url(token), { method: 'POST', headers: internal(key) }));
    expect(expectSuccess(retry)).toEqual({ consumed: true, userId: 'cora', itemId });
    expectSameAnswer(await call(url(token), { method: 'POST', headers: internal(key) }), retry);
    expectFailure(await call(url(other), { method: 'POST', headers: internal(key) }), 422, 'IDEMPOTENCY_KEY_REUSED');
    expect(await redis.zscore(keys.admitted(itemId), 'cid')).not.toBeNull();
    // A new key is a new request: the admission is gone.
    expectFailure(
      await call(url(token), { method: 'POST', headers: internal(newKey('consume')) }),
      409,
      'NOT_ADMITTED',
    );
  });

  test('reserve, confirm and cancel (internal, express): one reservation, one settlement each, retries answer the first', async () => {
    const itemId = 'idem_reserve';
    await items.upsert(
      itemId,
      { itemName: itemId, remainCount: 5, waitingQueueEnabled: true, maxPerUser: 3 },
      { register: false },
    );
    const token = await admitted(itemId, 'rita');
    const url = `${api.url}/internal/v1/item/${itemId}/reservations`;
    const body = { waitingQueueToken: token, userId: 'rita', quantity: 2 };
    const key = newKey('reserve');

    const { dropped } = await dropReplyOf('wq_reserve');
    expectUnavailable(await call(url, { method: 'POST', headers: internal(key), body }));
    await dropped;
    expect(await stockOf(itemId)).toBe(3);
    expect(await redis.hlen(keys.reservations(itemId))).toBe(1);
    expect(await redis.hget(keys.holdings(itemId), 'rita')).toBe('2');

    const retry = await retried(() => call(url, { method: 'POST', headers: internal(key), body }));
    const reservation = expectSuccess(retry);
    expect(reservation).toMatchObject({ itemId, userId: 'rita', quantity: 2, status: 'PENDING', remainCount: 3 });
    expectSameAnswer(await call(url, { method: 'POST', headers: internal(key), body }), retry);
    expectFailure(
      await call(url, { method: 'POST', headers: internal(key), body: { ...body, quantity: 1 } }),
      422,
      'IDEMPOTENCY_KEY_REUSED',
    );
    expect(await stockOf(itemId)).toBe(3);
    expect(await redis.hlen(keys.reservations(itemId))).toBe(1);

    // confirm
    const confirmUrl = `${api.url}/internal/v1/reservations/${reservation.reservationId}/confirm`;
    const confirmKey = newKey('confirm');
    const { dropped: confirmDropped } = await dropReplyOf('wq_confirm_reservation');
    expectUnavailable(await call(confirmUrl, { method: 'POST', headers: internal(confirmKey) }));
    await confirmDropped;
    const confirmRetry = await retried(() => call(confirmUrl, { method: 'POST', headers: internal(confirmKey) }));
    expect(expectSuccess(confirmRetry)).toMatchObject({
      reservationId: reservation.reservationId,
      status: 'CONFIRMED',
    });
    expectSameAnswer(await call(confirmUrl, { method: 'POST', headers: internal(confirmKey) }), confirmRetry);
    expect((await readOutbox(redis, itemId)).filter((e) => e.type === 'reservation.confirmed')).toHaveLength(1);

    // cancel, of a second reservation
    const second = expectSuccess(
      await call(url, {
        method: 'POST',
        headers: internal(),
        body: { waitingQueueToken: await admitted(itemId, 'carl'), userId: 'carl', quantity: 1 },
      }),
    );
    expect(await stockOf(itemId)).toBe(2);
    const cancelUrl = `${api.url}/internal/v1/reservations/${second.reservationId}/cancel`;
    const cancelKey = newKey('cancel');
    const { dropped: cancelDropped } = await dropReplyOf('wq_cancel_reservation');
    expectUnavailable(await call(cancelUrl, { method: 'POST', headers: internal(cancelKey) }));
    await cancelDropped;
    expect(await stockOf(itemId)).toBe(3);
    const cancelRetry = await retried(() => call(cancelUrl, { method: 'POST', headers: internal(cancelKey) }));
    expect(expectSuccess(cancelRetry)).toMatchObject({ reservationId: second.reservationId, status: 'CANCELLED' });
    expectSameAnswer(await call(cancelUrl, { method: 'POST', headers: internal(cancelKey) }), cancelRetry);
    expect(await stockOf(itemId)).toBe(3);
    expect((await readOutbox(redis, itemId)).filter((e) => e.type === 'reservation.cancelled')).toHaveLength(1);
    // The confirm key names the confirm: the same key on the cancel is another request.
    expectFailure(
      await call(cancelUrl, { method: 'POST', headers: internal(confirmKey) }),
      422,
      'IDEMPOTENCY_KEY_REUSED',
    );
  });

  test('claim (public, node:http fast path and express): one claim per dropped reply, the retry gets the claim, not ALREADY_CLAIMED', async () => {
    const itemId = 'idem_claim';
    await items.upsert(
      itemId,
      { itemName: itemId, remainCount: 3, waitingQueueEnabled: true, queueMode: 'DIRECT' },
      { register: false },
    );
    const url = `${api.url}/api/v1/item/${itemId}/claims`;
    const headers = (userId: string, key?: string) => ({
      'user-id': userId,
      ...(key === undefined ? {} : { 'idempotency-key': key }),
    });
    const key = newKey('claim');

    // No body: the fast path answers.
    const { dropped } = await dropReplyOf('wq_claim');
    expectUnavailable(await call(url, { method: 'POST', headers: headers('clara', key) }));
    await dropped;
    expect(await stockOf(itemId)).toBe(2);
    const claimId = await redis.hget(keys.claims(itemId), 'clara');
    expect(claimId).not.toBeNull();

    const retry = await retried(() => call(url, { method: 'POST', headers: headers('clara', key) }));
    expect(expectSuccess(retry)).toEqual({ claimId, itemId, userId: 'clara', remainCount: 2 });
    expectSameAnswer(await call(url, { method: 'POST', headers: headers('clara', key) }), retry);
    // Another user with the same key: another request (the key does not let anyone read another's claim).
    expectFailure(await call(url, { method: 'POST', headers: headers('clyde', key) }), 422, 'IDEMPOTENCY_KEY_REUSED');
    expect(await stockOf(itemId)).toBe(2);

    // A body sends the claim through express: the same guarantee there.
    const expressKey = newKey('claim');
    const { dropped: expressDropped } = await dropReplyOf('wq_claim');
    expectUnavailable(await call(url, { method: 'POST', headers: headers('cleo', expressKey), body: {} }));
    await expressDropped;
    expect(await stockOf(itemId)).toBe(1);
    const expressRetry = await retried(() =>
      call(url, { method: 'POST', headers: headers('cleo', expressKey), body: {} }),
    );
    expect(expectSuccess(expressRetry)).toMatchObject({ itemId, userId: 'cleo', remainCount: 1 });
    expect(await redis.hlen(keys.claims(itemId))).toBe(2);
  });

  test('item upsert (admin): a dropped reply is 503, the item is written once, the retry answers the stored item and its ETag', async () => {
    const itemId = 'idem_upsert';
    const url = `${scheduler.url}${ADMIN}/waiting-item/${itemId}/manually`;
    const version = async () => Number(await redis.hget(keys.item(itemId), 'version'));
    const body = { itemName: 'Upsert', remainCount: 7, waitingQueueEnabled: true };
    const key = newKey('upsert');

    const { dropped } = await dropReplyOf('wq_upsert_item');
    expectUnavailable(await call(url, { method: 'POST', headers: admin(key), body }));
    await dropped;
    expect(await version()).toBe(1);
    const retry = await retried(() => call(url, { method: 'POST', headers: admin(key), body }));
    expect(expectSuccess(retry)).toMatchObject({ itemId, ...body });
    const got = await call(`${scheduler.url}${ADMIN}/waiting-item/${itemId}`, { headers: admin() });
    expect(retry.headers.get('etag')).toBe(got.headers.get('etag'));
    expect(await version()).toBe(1);
    expectFailure(
      await call(url, { method: 'POST', headers: admin(key), body: { ...body, itemName: 'Other' } }),
      422,
      'IDEMPOTENCY_KEY_REUSED',
    );

    // An update under If-Match: its own retry is not refused by the version it moved.
    const update = { itemName: 'Renamed', waitingQueueEnabled: true };
    const updateKey = newKey('upsert');
    const ifMatch = { 'if-match': got.headers.get('etag') as string };
    const { dropped: updateDropped } = await dropReplyOf('wq_upsert_item');
    expectUnavailable(await call(url, { method: 'POST', headers: { ...admin(updateKey), ...ifMatch }, body: update }));
    await updateDropped;
    expect(await version()).toBe(2);
    const updateRetry = await retried(() =>
      call(url, { method: 'POST', headers: { ...admin(updateKey), ...ifMatch }, body: update }),
    );
    expect(expectSuccess(updateRetry)).toMatchObject({ itemId, itemName: 'Renamed', remainCount: 7 });
    expectSameAnswer(
      await call(url, { method: 'POST', headers: { ...admin(updateKey), ...ifMatch }, body: update }),
      updateRetry,
    );
    expect(updateRetry.headers.get('etag')).toBe(
      (await call(`${scheduler.url}${ADMIN}/waiting-item/${itemId}`, { headers: admin() })).headers.get('etag'),
    );
    expect(await version()).toBe(2);
    // Without the key, the same If-Match is stale now.
    expectFailure(
      await call(url, { method: 'POST', headers: { ...admin(), ...ifMatch }, body: update }),
      412,
      'PRECONDITION_FAILED',
    );
  });

  test('global N (admin): a dropped reply is 503, the retry answers the N that was set', async () => {
    const url = (n: number) => `${scheduler.url}${ADMIN}/waiting-queue/token-count-to-move?tokenCountToMove=${n}`;
    const key = newKey('n');
    const { dropped } = await dropReplyOf('wq_set_token_count_to_move');
    expectUnavailable(await call(url(42), { method: 'PUT', headers: admin(key) }));
    await dropped;
    expect(await redis.get(keys.tokenCountToMove)).toBe('42');
    const retry = await retried(() => call(url(42), { method: 'PUT', headers: admin(key) }));
    expect(expectSuccess(retry)).toEqual({ tokenCountToMove: 42 });
    expectFailure(await call(url(43), { method: 'PUT', headers: admin(key) }), 422, 'IDEMPOTENCY_KEY_REUSED');
    expect(await redis.get(keys.tokenCountToMove)).toBe('42');
  });

  test('Idempotency-Key syntax: 1-255 printable ASCII characters, else 400 INVALID_PARAMETER', async () => {
    const itemId = 'idem_syntax';
    await items.upsert(itemId, { itemName: itemId, remainCount: 1, waitingQueueEnabled: true }, { register: false });
    const url = `${scheduler.url}${ADMIN}/waiting-item/${itemId}/restock`;
    for (const bad of ['', 'x'.repeat(256), 'tab\there']) {
      expectFailure(
        await call(url, { method: 'POST', headers: admin(bad), body: { quantity: 1 } }),
        400,
        'INVALID_PARAMETER',
      );
    }
    expect(await stockOf(itemId)).toBe(1);
    expectSuccess(await call(url, { method: 'POST', headers: admin('"quoted key"'), body: { quantity: 1 } }));
    expectSuccess(await call(url, { method: 'POST', headers: admin('k'.repeat(255)), body: { quantity: 1 } }));
    expect(await stockOf(itemId)).toBe(3);
  });
});
