import { TokenCodec } from '@waiting-queue/core/ids';
import { ItemStore } from '@waiting-queue/core/item-store';
import { keys } from '@waiting-queue/core/keys';
import { QueueStore } from '@waiting-queue/core/queue-store';
import { type RedisClient } from '@waiting-queue/core/redis';
import { register } from './helpers/queue';
import { useRedis } from './helpers/stack';

describe('queue scripts on a real redis-server', () => {
  const env = useRedis('test');
  let redis: RedisClient;
  let queue: QueueStore;
  let items: ItemStore;
  let fence = 1;
  const admit = (itemId: string, n: number, admissionTtlMs = 60_000) =>
    queue.admit(itemId, { tokenCountToMove: n, admissionTtlMs, fence: fence++, tickMs: 1000 });

  beforeAll(() => {
    redis = env.redis;
    queue = new QueueStore(redis);
    items = new ItemStore(redis);
  });

  test('ranks are 1-based, FIFO by sequence, and admission moves the head', async () => {
    await items.upsert('s1', { itemName: 'a', remainCount: 10, waitingQueueEnabled: true });
    const places = [];
    for (const u of ['u1', 'u2', 'u3']) places.push(await register(queue, 's1', u));
    expect(places.map((p) => (typeof p === 'string' ? p : p.rank))).toEqual([1, 2, 3]);
    const r = await admit('s1', 2);
    expect(r).toMatchObject({ status: 'OK', admittedCount: 2, waiting: 1 });
    const s1 = await queue.status('s1', 'u1');
    const s3 = await queue.status('s1', 'u3');
    expect(s1).toMatchObject({ status: 'ADMITTED', rank: 0 });
    expect(s3).toMatchObject({ status: 'WAITING', rank: 1 });
  });

  test('a fence at or below the last one is rejected, so a tick moves an item once', async () => {
    await items.upsert('s2', { itemName: 'a', remainCount: 10, waitingQueueEnabled: true });
    for (const u of ['a', 'b', 'c', 'd']) await register(queue, 's2', u);
    const base = { tokenCountToMove: 1, admissionTtlMs: 60_000, tickMs: 1000 };
    expect((await queue.admit('s2', { ...base, fence: 5000 })).admittedCount).toBe(1);
    expect((await queue.admit('s2', { ...base, fence: 5000 })).status).toBe('STALE_FENCE');
    expect((await queue.admit('s2', { ...base, fence: 4000 })).status).toBe('STALE_FENCE');
    expect((await queue.admit('s2', { ...base, fence: 6000 })).admittedCount).toBe(1);
  });

  test('consume is compare-and-delete on the sequence, once', async () => {
    await items.upsert('s3', { itemName: 'a', remainCount: 10, waitingQueueEnabled: true });
    const p = await register(queue, 's3', 'x');
    if (typeof p === 'string') throw new Error(p);
    await admit('s3', 1);
    expect(await queue.consume('s3', 'x', String(Number(p.seq) + 1))).toBe(false);
    expect(await queue.consume('s3', 'x', p.seq)).toBe(true);
    expect(await queue.consume('s3', 'x', p.seq)).toBe(false);
  });

  test('admissions expire and are swept; maxActiveUsers caps unexpired admissions', async () => {
    await items.upsert('s4', { itemName: 'a', remainCount: 10, waitingQueueEnabled: true, maxActiveUsers: 2 });
    for (const u of ['a', 'b', 'c']) await register(queue, 's4', u);
    expect((await admit('s4', 10, 200)).admittedCount).toBe(2);
    expect(await queue.status('s4', 'a')).toMatchObject({ status: 'ADMITTED' });
    await new Promise((r) => setTimeout(r, 300));
    expect(await queue.status('s4', 'a')).toBe('NOT_FOUND');
    const r = await admit('s4', 10, 200);
    expect(r).toMatchObject({ expired: 2, admittedCount: 1 });
    expect(await redis.zcard(keys.admitted('s4'))).toBe(1);
    expect(await redis.zcard(keys.admissionBatches('s4'))).toBe(1);
  });

  test('token uuids are v4, bound to item, user and sequence', () => {
    const codec = new TokenCodec('0123456789abcdef0123456789abcdef');
    const t = codec.tokenFor('7', 'alice', 12);
    expect(t).toMatch(/^alice-7-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const uuid = t.slice('alice-7-'.length);
    expect(codec.matches({ userId: 'alice', itemId: '7', uuid }, '12')).toBe(true);
    expect(codec.matches({ userId: 'alice', itemId: '7', uuid }, '13')).toBe(false);
    expect(codec.matches({ userId: 'bob', itemId: '7', uuid }, '12')).toBe(false);
  });
});
