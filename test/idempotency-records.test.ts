import { type IdempotentRequest } from '@waiting-queue/core/idempotency';
import { ItemStore } from '@waiting-queue/core/item-store';
import { keys } from '@waiting-queue/core/keys';
import { type RedisClient } from '@waiting-queue/core/redis';
import { useRedis } from './helpers/stack';
import { sleep } from './helpers/waiting-room-client';

/**
 * The Idempotency-Key records (lua/includes/idempotency.lua) on a real redis-server: they expire after their TTL
 * (Redis clock) and an item keeps at most maxKeys of them, so their memory is bounded.
 */
describe('Idempotency-Key records: TTL and bounded memory', () => {
  const env = useRedis('idempotency-records-test');
  let redis: RedisClient;
  const key = (k: string, quantity: number): IdempotentRequest => ({ key: k, fingerprint: `restock ${quantity}` });
  const stockOf = async (itemId: string) => Number(await redis.hget(keys.item(itemId), 'remainCount'));

  beforeAll(() => {
    redis = env.redis;
  });

  test('an item keeps at most maxKeys records, the oldest go first', async () => {
    const itemId = 'rec_cap';
    await new ItemStore(redis).upsert(
      itemId,
      { itemName: itemId, remainCount: 0, waitingQueueEnabled: true },
      { register: false },
    );
    const store = new ItemStore(redis, { ttlMs: 60_000, maxKeys: 3 });
    for (let i = 1; i <= 5; i++) await store.restock(itemId, 1, key(`k${i}`, 1));
    expect(await stockOf(itemId)).toBe(5);
    const [records, expiries] = keys.idempotency(itemId);
    expect((await redis.hkeys(records)).sort()).toEqual(['k3', 'k4', 'k5']);
    expect(await redis.zrange(expiries, 0, -1)).toEqual(['k3', 'k4', 'k5']);
    // A kept key replays; an evicted one is a new request again.
    expect(await store.restock(itemId, 1, key('k5', 1))).toBe(5);
    expect(await store.restock(itemId, 1, key('k1', 1))).toBe(6);
  });

  test('records expire after the TTL, and so do both keys of an item nobody writes any more', async () => {
    const itemId = 'rec_ttl';
    await new ItemStore(redis).upsert(
      itemId,
      { itemName: itemId, remainCount: 0, waitingQueueEnabled: true },
      { register: false },
    );
    const store = new ItemStore(redis, { ttlMs: 1000, maxKeys: 100 });
    expect(await store.restock(itemId, 2, key('t1', 2))).toBe(2);
    expect(await store.restock(itemId, 2, key('t1', 2))).toBe(2);
    for (const k of keys.idempotency(itemId)) {
      const ttl = await redis.pttl(k);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(1000);
    }
    await sleep(1100);
    for (const k of keys.idempotency(itemId)) expect(await redis.exists(k)).toBe(0);
    expect(await store.restock(itemId, 2, key('t1', 2))).toBe(4);
    // One record expires while a later one keeps the item's keys alive.
    await sleep(300);
    expect(await store.restock(itemId, 2, key('t2', 2))).toBe(6);
    await sleep(750); // t1's record (stored 1050+ ms ago) is past its TTL; t2's has 250 ms left
    expect(await store.restock(itemId, 2, key('t2', 2))).toBe(6);
    expect(await store.restock(itemId, 2, key('t1', 2))).toBe(8);
  });

  test('a write without a key records nothing', async () => {
    const itemId = 'rec_none';
    await new ItemStore(redis).upsert(
      itemId,
      { itemName: itemId, remainCount: 0, waitingQueueEnabled: true },
      { register: false },
    );
    await new ItemStore(redis).restock(itemId, 1);
    for (const k of keys.idempotency(itemId)) expect(await redis.exists(k)).toBe(0);
  });
});
