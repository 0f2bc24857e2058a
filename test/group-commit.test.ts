import { toWqError, WqError } from '@waiting-queue/core/errors';
import { TokenCodec } from '@waiting-queue/core/ids';
import { ItemStore } from '@waiting-queue/core/item-store';
import { keys } from '@waiting-queue/core/keys';
import { QueueStore } from '@waiting-queue/core/queue-store';
import { connectRedis, type RedisClient } from '@waiting-queue/core/redis';
import { callScript, script } from '@waiting-queue/core/scripts';
import { WaitingRoom, type WaitingQueueView } from '../packages/api/src/waiting-room';
import { startDropProxy, type DropProxy } from './helpers/drop-proxy';
import { useRedis } from './helpers/stack';

/**
 * Group commit of registrations against a real redis-server: the registrations of one item made in one
 * event-loop turn go to Redis as one script call (counted in INFO commandstats), and each caller gets the answer a
 * registration of its own would have got.
 */
const SECRET = 'group-commit-test-secret-0123456789';

describe('group commit of registrations', () => {
  const env = useRedis('group-commit-test');
  let redis: RedisClient;
  let items: ItemStore;
  let batched: WaitingRoom;
  let sequential: WaitingRoom;

  /** Script calls (EVALSHA and EVAL) the server has run since its stats were reset. */
  const scriptCalls = async (): Promise<number> => {
    const info = await env.client.info('commandstats');
    let calls = 0;
    for (const m of info.matchAll(/^cmdstat_(evalsha|eval):calls=(\d+)/gm)) calls += Number(m[2]);
    return calls;
  };

  /** The outcome of a registration: its view, or its error code. */
  const outcome = (p: Promise<WaitingQueueView>): Promise<WaitingQueueView | string> =>
    p.catch((err: unknown) => (err instanceof WqError ? err.errorCode : String(err)));

  /** What a caller learns of its place, without the token (whose uuid names the item). */
  const answer = (v: WaitingQueueView | string) =>
    typeof v === 'string' ? v : { rank: v.waitingQueueRank, canOrder: v.canOrder, soldOut: v.soldOut };

  beforeAll(async () => {
    redis = env.redis;
    items = new ItemStore(redis);
    const queue = new QueueStore(redis);
    const codec = new TokenCodec(SECRET);
    batched = new WaitingRoom({ queue, tokens: codec });
    sequential = new WaitingRoom({ queue, tokens: codec, groupCommit: false });
    // Load both register scripts, so that the counts below see EVALSHA only.
    await items.upsert('warm', { itemName: 'warm', remainCount: 1, waitingQueueEnabled: true });
    await callScript(redis, 'wq_register_batch', [...keys.queue('warm'), keys.lastPoll('warm')], ['', 'w', '']);
    await sequential.register('warm', 'w');
  });

  test('registrations of one item in one turn are one script call, and answer as sequential ones do', async () => {
    const users = Array.from({ length: 50 }, (_, i) => `gc_user_${i}`);
    await items.upsert('gc_a', { itemName: 'a', remainCount: 100, waitingQueueEnabled: true });
    await items.upsert('gc_b', { itemName: 'b', remainCount: 100, waitingQueueEnabled: true });

    await env.client.config('RESETSTAT');
    const together = await Promise.all(users.map((u) => batched.register('gc_a', u)));
    expect(await scriptCalls()).toBe(1);

    const oneByOne: WaitingQueueView[] = [];
    for (const u of users) oneByOne.push(await sequential.register('gc_b', u));
    expect(together.map(answer)).toEqual(oneByOne.map(answer));
    expect(together.map((v) => v.waitingQueueRank)).toEqual(users.map((_, i) => i + 1));
    // FIFO in arrival order: the waiting queue holds the users in the order they called.
    expect(await redis.zrange(keys.waiting('gc_a'), 0, -1)).toEqual(users);
    // Each token is its place's own: a poll of it finds the place.
    const polled = await Promise.all(users.map((u, i) => batched.poll('gc_a', together[i].waitingQueueToken, u)));
    expect(polled.map((v) => v.waitingQueueRank)).toEqual(together.map((v) => v.waitingQueueRank));
  });

  test('two items in one turn are two script calls, one per item', async () => {
    await items.upsert('gc_c', { itemName: 'c', remainCount: 100, waitingQueueEnabled: true });
    await items.upsert('gc_d', { itemName: 'd', remainCount: 100, waitingQueueEnabled: true });
    await env.client.config('RESETSTAT');
    const views = await Promise.all(
      ['c1', 'd1', 'c2', 'd2'].map((u) => batched.register(u.startsWith('c') ? 'gc_c' : 'gc_d', u)),
    );
    expect(await scriptCalls()).toBe(2);
    expect(views.map((v) => v.waitingQueueRank)).toEqual([1, 1, 2, 2]);
  });

  test('a user twice in one batch gets one place: the same token and rank both times', async () => {
    await items.upsert('gc_dup', { itemName: 'dup', remainCount: 100, waitingQueueEnabled: true });
    await env.client.config('RESETSTAT');
    const [a1, b, a2, a3] = await Promise.all(['a', 'b', 'a', 'a'].map((u) => batched.register('gc_dup', u)));
    expect(await scriptCalls()).toBe(1);
    expect(a2.waitingQueueToken).toBe(a1.waitingQueueToken);
    expect(a3.waitingQueueToken).toBe(a1.waitingQueueToken);
    expect([a1.waitingQueueRank, b.waitingQueueRank, a2.waitingQueueRank]).toEqual([1, 2, 1]);
    expect(await redis.zcard(keys.waiting('gc_dup'))).toBe(2);
    expect(await redis.hget(keys.item('gc_dup'), 'seq')).toBe('2');
  });

  test('mixed lanes in one batch: higher lanes first, FIFO within each, as sequential registrations', async () => {
    const calls: [string, string][] = [
      ['s1', 'std'],
      ['v1', 'vip'],
      ['s2', 'std'],
      ['x1', 'unknown'],
      ['v2', 'vip'],
    ];
    for (const id of ['gc_lanes_a', 'gc_lanes_b'])
      await items.upsert(id, { itemName: id, remainCount: 100, waitingQueueEnabled: true, lanes: ['vip', 'std'] });
    await env.client.config('RESETSTAT');
    const together = await Promise.all(calls.map(([u, tier]) => batched.register('gc_lanes_a', u, { tier })));
    expect(await scriptCalls()).toBe(1);
    const oneByOne: WaitingQueueView[] = [];
    for (const [u, tier] of calls) oneByOne.push(await sequential.register('gc_lanes_b', u, { tier }));
    expect(together.map(answer)).toEqual(oneByOne.map(answer));
    expect(together.map((v) => v.waitingQueueRank)).toEqual([1, 1, 3, 4, 2]);
    expect(await redis.zrange(keys.waiting('gc_lanes_a'), 0, -1)).toEqual(['v1', 'v2', 's1', 's2', 'x1']);
  });

  test('QUEUE_FULL at the boundary inside a batch: the first maxWaiting users wait, the rest are refused', async () => {
    await items.upsert('gc_full', { itemName: 'full', remainCount: 100, waitingQueueEnabled: true, maxWaiting: 3 });
    await env.client.config('RESETSTAT');
    const outcomes = await Promise.all(
      ['f1', 'f2', 'f3', 'f4', 'f2', 'f5'].map((u) => outcome(batched.register('gc_full', u))),
    );
    expect(await scriptCalls()).toBe(1);
    // f2 again holds its place (not a new one), so it is answered while the queue is full.
    expect(outcomes.map(answer)).toEqual([
      { rank: 1, canOrder: false, soldOut: false },
      { rank: 2, canOrder: false, soldOut: false },
      { rank: 3, canOrder: false, soldOut: false },
      'QUEUE_FULL',
      { rank: 2, canOrder: false, soldOut: false },
      'QUEUE_FULL',
    ]);
    expect(await redis.zrange(keys.waiting('gc_full'), 0, -1)).toEqual(['f1', 'f2', 'f3']);
  });

  test('refusals in a batch: each caller gets its own, with Retry-After from Redis time for a time deal', async () => {
    const opensAt = Number((await env.client.time())[0]) * 1000 + 30_000;
    await items.upsert('gc_deal', {
      itemName: 'deal',
      remainCount: 10,
      waitingQueueEnabled: true,
      type: 'TIME_DEAL',
      startAt: opensAt,
    });
    await items.upsert('gc_sold', { itemName: 'sold', remainCount: 0, waitingQueueEnabled: true });
    const errors = await Promise.all(
      ['gc_deal', 'gc_deal', 'gc_sold', 'gc_none'].map((item, i) =>
        batched.register(item, `r${i}`).then(
          () => undefined,
          (err: WqError) => err,
        ),
      ),
    );
    expect(errors.map((e) => e?.errorCode)).toEqual([
      'ITEM_NOT_OPEN',
      'ITEM_NOT_OPEN',
      'ITEM_CANNOT_USE_WAITING_QUEUE',
      'ITEM_CANNOT_USE_WAITING_QUEUE',
    ]);
    for (const e of errors.slice(0, 2)) {
      expect(Number(e!.headers['Retry-After'])).toBeGreaterThanOrEqual(29);
      expect(Number(e!.headers['Retry-After'])).toBeLessThanOrEqual(31);
      expect(e!.data).toMatchObject({ opensAt });
    }
    expect(errors.slice(2).map((e) => e!.data?.reason)).toEqual(['SOLD_OUT', 'NO_ITEM']);
  });

  test('validations of one item in one turn are one read, each answered for its own token', async () => {
    await items.upsert('gc_val', { itemName: 'val', remainCount: 100, waitingQueueEnabled: true });
    const views = await Promise.all(['v1', 'v2', 'v3'].map((u) => batched.register('gc_val', u)));
    const queue = new QueueStore(redis);
    await queue.admit('gc_val', { tokenCountToMove: 2, admissionTtlMs: 60_000, fence: 1, tickMs: 1000 });
    const tokens = views.map((v) => v.waitingQueueToken);
    const forged = tokens[2].slice(0, -4) + (tokens[2].endsWith('0000') ? '1111' : '0000');
    // Load the script, so that the count below sees EVALSHA only.
    await callScript(redis, 'wq_status_batch', keys.queue('gc_val'), ['v1']);
    await env.client.config('RESETSTAT');
    const outcomes = await Promise.all(
      [...tokens, forged].map((t) =>
        batched.validate('gc_val', t).then(
          (v) => ({ admitted: v.admitted, userId: v.userId, expires: v.expiresInSeconds !== null }),
          (err: WqError) => err.errorCode,
        ),
      ),
    );
    expect(await scriptCalls()).toBe(1);
    expect(outcomes).toEqual([
      { admitted: true, userId: 'v1', expires: true },
      { admitted: true, userId: 'v2', expires: true },
      { admitted: false, userId: 'v3', expires: false },
      'WAITING_QUEUE_NOT_FOUND',
    ]);
  });

  describe('a dropped connection', () => {
    let proxy: DropProxy;
    let viaProxy: RedisClient;

    beforeAll(async () => {
      proxy = await startDropProxy({ host: '127.0.0.1', port: env.server.port });
      viaProxy = await connectRedis({ url: proxy.url }, 'group-commit-proxy');
    });
    afterAll(async () => {
      await viaProxy?.quit().catch(() => viaProxy.disconnect());
      await proxy?.close();
    });

    test('answers 503 to every caller of the batch, and registers each user at most once', async () => {
      await items.upsert('gc_drop', { itemName: 'drop', remainCount: 100, waitingQueueEnabled: true });
      const room = new WaitingRoom({ queue: new QueueStore(viaProxy), tokens: new TokenCodec(SECRET) });
      const users = ['d1', 'd2', 'd3', 'd4', 'd5'];
      // Load the script through the proxy first, so that the batch goes as one EVALSHA carrying its SHA-1.
      await callScript(viaProxy, 'wq_register_batch', [...keys.queue('warm'), keys.lastPoll('warm')], ['', 'w', '']);
      const dropped = proxy.arm(script('wq_register_batch').sha);
      const failures = await Promise.all(
        users.map((u) =>
          room.register('gc_drop', u).then(
            () => undefined,
            (err: unknown) => toWqError(err),
          ),
        ),
      );
      await dropped;
      expect(failures.map((e) => e && { status: e.status, errorCode: e.errorCode })).toEqual(
        users.map(() => ({ status: 503, errorCode: 'SERVICE_UNAVAILABLE' })),
      );
      // Redis ran the batch once; the callers never heard so.
      expect(await redis.zrange(keys.waiting('gc_drop'), 0, -1)).toEqual(users);

      // Their retries (one place per user) get the places the lost reply held, and change nothing.
      const retries = await Promise.all(users.map((u) => sequential.register('gc_drop', u)));
      expect(retries.map((v) => v.waitingQueueRank)).toEqual([1, 2, 3, 4, 5]);
      expect(await redis.zcard(keys.waiting('gc_drop'))).toBe(5);
      expect(await redis.hget(keys.item('gc_drop'), 'seq')).toBe('5');
    });
  });
});
