import { ItemStore } from '@waiting-queue/core/item-store';
import { keys } from '@waiting-queue/core/keys';
import { createLogger } from '@waiting-queue/core/logger';
import { QueueStore } from '@waiting-queue/core/queue-store';
import { callScript } from '@waiting-queue/core/scripts';
import { SnapshotCache } from '@waiting-queue/core/snapshot-cache';
import { SnapshotStore } from '@waiting-queue/core/snapshot-store';
import { register } from './helpers/queue';
import { useRedis } from './helpers/stack';

const TICK_MS = 200;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An api process's latest snapshot per item: from the channel, with the stored snapshot as the fallback. */
describe('snapshot cache', () => {
  const env = useRedis('snapshot-cache-test');
  let cache: SnapshotCache;
  let store: SnapshotStore;

  beforeAll(async () => {
    store = new SnapshotStore(env.redis);
    cache = new SnapshotCache({ redis: env.redis, tickMs: TICK_MS, logger: createLogger('snapshot-cache', 'silent') });
    const items = new ItemStore(env.redis);
    const queue = new QueueStore(env.redis);
    for (const itemId of ['c1', 'c2']) {
      await items.upsert(itemId, { itemName: 'a', remainCount: 10, waitingQueueEnabled: true });
      await register(queue, itemId, 'u1');
    }
  });

  afterAll(() => cache.close());

  /** Waits until `check` holds, at most `ms`. */
  async function until(check: () => boolean, ms = 2000): Promise<void> {
    for (let waited = 0; !check() && waited < ms; waited += 10) await sleep(10);
  }

  test('an unknown item is not served; its stored snapshot is read, then published ones arrive', async () => {
    await store.publish('c1', 1, TICK_MS);
    expect(cache.fresh('c1')).toBeUndefined();
    await until(() => cache.fresh('c1') !== undefined);
    expect(cache.fresh('c1')?.version).toBe(1);
    await sleep(50); // the subscription is in place
    await store.publish('c1', 2, TICK_MS);
    await until(() => cache.fresh('c1')?.version === 2, 150);
    expect(cache.fresh('c1')).toMatchObject({ version: 2, tickSlotMs: 2 });
  });

  test('a missed message is made good by reading the stored snapshot', async () => {
    expect(cache.fresh('c2')).toBeUndefined();
    await sleep(50);
    // Taken and stored, never published: what a subscriber sees when the message is lost.
    await callScript<string>(
      env.redis,
      'wq_snapshot',
      [keys.item('c2'), keys.waiting('c2'), keys.admissionBatches('c2'), keys.snapshot('c2'), keys.removedPlaces('c2')],
      [7, TICK_MS],
    );
    await until(() => cache.fresh('c2')?.version === 1, 4 * TICK_MS);
    expect(cache.fresh('c2')).toMatchObject({ version: 1, tickSlotMs: 7 });
  });

  test('a snapshot older than two ticks is not served; an older version never replaces a newer one', async () => {
    await store.publish('c1', 3, TICK_MS);
    await until(() => cache.fresh('c1')?.version === 3);
    expect(cache.fresh('c1')?.version).toBe(3);
    await sleep(2 * TICK_MS + 100);
    expect(cache.fresh('c1')).toBeUndefined();
    await env.redis.publish(keys.snapshotChannel('c1'), JSON.stringify({ version: 2, lanes: [] }));
    await sleep(50);
    expect(cache.fresh('c1')).toBeUndefined();
    await store.publish('c1', 4, TICK_MS);
    await until(() => cache.fresh('c1')?.version === 4);
    expect(cache.fresh('c1')).toMatchObject({ version: 4, tickSlotMs: 4 });
  });

  test('holds at most maxItems items', async () => {
    const small = new SnapshotCache({
      redis: env.redis,
      tickMs: TICK_MS,
      logger: createLogger('snapshot-cache', 'silent'),
      maxItems: 1,
    });
    try {
      await store.publish('c2', 9, TICK_MS);
      small.fresh('c1');
      small.fresh('c2');
      await sleep(100);
      expect(small.fresh('c1')?.version).toBeGreaterThan(0);
      expect(small.fresh('c2')).toBeUndefined();
    } finally {
      await small.close();
    }
  });

  test('rank() does not start holding an item (made-up item ids cannot fill the cache); hold() does', async () => {
    const items = new ItemStore(env.redis);
    await items.upsert('c3', { itemName: 'a', remainCount: 10, waitingQueueEnabled: true });
    await register(new QueueStore(env.redis), 'c3', 'u1');
    await store.publish('c3', 1, TICK_MS);
    expect(cache.rank('c3', 1)).toBeUndefined();
    await sleep(100);
    expect(cache.rank('c3', 1)).toBeUndefined();
    cache.hold('c3');
    await until(() => cache.rank('c3', 1) !== undefined);
    expect(cache.rank('c3', 1)).toMatchObject({ rank: 1, snapshot: { version: 1 } });
  });

  test('versions that began again (the snapshot key lost) replace the held snapshot once taken later', async () => {
    cache.hold('c1');
    await until(() => cache.fresh('c1') !== undefined);
    const held = cache.fresh('c1')!;
    // The key lost: the next snapshots count from 1 again, taken later on the Redis clock.
    await env.redis.del(keys.snapshot('c1'));
    const later = { ...held, version: 1, nowMs: held.nowMs + 10 * TICK_MS, tickSlotMs: 99 };
    await env.redis.publish(keys.snapshotChannel('c1'), JSON.stringify(later));
    await until(() => cache.fresh('c1')?.tickSlotMs === 99);
    expect(cache.fresh('c1')).toMatchObject({ version: 1, tickSlotMs: 99 });
  });

  test('nothing is served while the Redis connection is down', async () => {
    const client = env.redis.duplicate();
    if (client.status === 'wait') await client.connect();
    const own = new SnapshotCache({ redis: client, tickMs: TICK_MS, logger: createLogger('snapshot-cache', 'silent') });
    try {
      await store.publish('c1', 50, TICK_MS);
      own.hold('c1');
      await until(() => own.rank('c1', 1) !== undefined);
      expect(own.rank('c1', 1)).toMatchObject({ rank: 1 });
      // The server drops the connection: the snapshot is still fresh, only the connection is gone.
      const id = Number(await client.client('ID'));
      await env.redis.client('KILL', 'ID', id);
      await until(() => client.status !== 'ready');
      expect(client.status).not.toBe('ready');
      expect(own.rank('c1', 1)).toBeUndefined();
      expect(own.fresh('c1')).toBeUndefined();
      // Served again once the client is back (ioredis reconnects by itself).
      await until(() => own.rank('c1', 1) !== undefined);
      expect(own.rank('c1', 1)).toMatchObject({ rank: 1 });
    } finally {
      await own.close();
      client.disconnect();
    }
  });
});
