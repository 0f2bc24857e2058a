import { Cluster } from 'ioredis';
import { ItemStore } from '@waiting-queue/core/item-store';
import { keys } from '@waiting-queue/core/keys';
import { createLogger } from '@waiting-queue/core/logger';
import { QueueStore } from '@waiting-queue/core/queue-store';
import { connectRedis } from '@waiting-queue/core/redis';
import { SnapshotCache } from '@waiting-queue/core/snapshot-cache';
import { SnapshotStore } from '@waiting-queue/core/snapshot-store';
import { startTestCluster, type TestCluster } from './helpers/cluster';
import { register } from './helpers/queue';
import { waitFor } from './helpers/waiting-room-client';

/**
 * Polls answered from memory on a real 3-master Redis Cluster: the snapshot is taken on the item's node, published
 * with SPUBLISH on the item's shard, received by the api's sharded subscriber, and the stored one is read with its
 * age on the Redis clock when no message came.
 */
describe('item snapshots on a Redis Cluster', () => {
  let cluster: TestCluster;
  let product: Cluster;
  let cache: SnapshotCache;

  beforeAll(async () => {
    // tickMs 60 s: the cache re-reads stored snapshots only that often, so within the test a snapshot reaches it
    // only by the first read of hold() or by the sharded subscription.
    cluster = await startTestCluster(3);
    product = (await connectRedis({ clusterNodes: cluster.nodesEnv.split(',') }, 'snapshot-cluster')) as Cluster;
    cache = new SnapshotCache({ redis: product, logger: createLogger('snapshot-cluster', 'silent'), tickMs: 60_000 });
  }, 90_000);

  afterAll(async () => {
    await cache?.close();
    product?.disconnect();
    await cluster?.stop();
  });

  test('the snapshot and its channel live in the item slot; SPUBLISHed snapshots and stored ones both reach the cache', async () => {
    const slot = (k: string) => cluster.client.cluster('KEYSLOT', k) as Promise<number>;
    const items = new ItemStore(product);
    const queue = new QueueStore(product);
    const store = new SnapshotStore(product);
    // Items on different shards: each is received through its own shard's subscription.
    const ids = ['sc_a', 'sc_b', 'sc_c', 'sc_d'];
    for (const itemId of ids) {
      for (const k of [keys.snapshot(itemId), keys.snapshotChannel(itemId), keys.removedPlaces(itemId)])
        expect(await slot(k)).toBe(await slot(keys.item(itemId)));
      await items.upsert(itemId, { itemName: itemId, remainCount: 10, waitingQueueEnabled: true });
      for (const u of ['u1', 'u2', 'u3']) await register(queue, itemId, u);
    }
    // Stored before the cache holds the item: read with its age.
    await store.publish('sc_a', 1, 1000);
    for (const itemId of ids) cache.hold(itemId);
    await waitFor('the stored snapshot read', async () => cache.rank('sc_a', 2)?.rank === 2);
    // Published after: received on each shard.
    await new Promise((r) => setTimeout(r, 200)); // the SSUBSCRIBEs are in place
    await queue.admit('sc_b', { tokenCountToMove: 1, admissionTtlMs: 60_000, fence: 1, tickMs: 1000 });
    for (const itemId of ids) await store.publish(itemId, 2, 1000);
    for (const itemId of ids) {
      await waitFor(`the published snapshot of ${itemId}`, async () => cache.fresh(itemId)?.tickSlotMs === 2);
    }
    expect(cache.rank('sc_b', 1)).toBeUndefined(); // admitted: Redis answers
    expect(cache.rank('sc_b', 3)?.rank).toBe(2);
    expect(cache.rank('sc_c', 3)?.rank).toBe(3);
  }, 60_000);
});
