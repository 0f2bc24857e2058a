import { Cluster } from 'ioredis';
import { isRedisUnavailable } from '@waiting-queue/core/errors';
import { type IdempotentRequest } from '@waiting-queue/core/idempotency';
import { ItemStore } from '@waiting-queue/core/item-store';
import { keys } from '@waiting-queue/core/keys';
import { connectRedis } from '@waiting-queue/core/redis';
import { startTestCluster, type TestCluster } from './helpers/cluster';
import { sleep, waitFor } from './helpers/waiting-room-client';

/**
 * Exactly once on a real 3-master Redis Cluster, with the product's own client (connectRedis). The lost reply is
 * made in the client's process: its node sockets stop reading (so the reply of the restock stays unread in the
 * kernel), a second client sees that Redis ran the restock, then the sockets are destroyed. The Cluster client
 * must fail the command (a 503 for the caller), not send it again.
 */
describe('every write takes effect exactly once on a Redis Cluster', () => {
  let cluster: TestCluster;
  let product: Cluster;
  let observer: Cluster;

  beforeAll(async () => {
    cluster = await startTestCluster(3);
    product = (await connectRedis({ clusterNodes: cluster.nodesEnv.split(',') }, 'idem-cluster-product')) as Cluster;
    observer = (await connectRedis({ clusterNodes: cluster.nodesEnv.split(',') }, 'idem-cluster-observer')) as Cluster;
  }, 90_000);

  afterAll(async () => {
    product?.disconnect();
    observer?.disconnect();
    await cluster?.stop();
  });

  test('the Idempotency-Key records live in the slot of the key they guard (one script on a Cluster)', async () => {
    const slot = (k: string) => cluster.client.cluster('KEYSLOT', k) as Promise<number>;
    for (const id of ['c1', 'c2', 'c3']) {
      for (const k of keys.idempotency(id)) expect(await slot(k)).toBe(await slot(keys.item(id)));
    }
    for (const k of keys.tokenCountToMoveIdempotency) expect(await slot(k)).toBe(await slot(keys.tokenCountToMove));
  });

  test('a restock whose reply is lost fails as unavailable, is not sent again, and its retry with the key adds nothing', async () => {
    const itemId = 'idem_cluster';
    await new ItemStore(observer).upsert(
      itemId,
      { itemName: itemId, remainCount: 10, waitingQueueEnabled: true },
      { register: false },
    );
    const stockOf = async () => Number(await observer.hget(keys.item(itemId), 'remainCount'));
    const store = new ItemStore(product);
    const idem: IdempotentRequest = { key: 'cluster-restock-1', fingerprint: 'restock 20' };
    await store.restock(itemId, 1); // connects the node of the item's slot and loads the script there
    expect(await stockOf()).toBe(11);

    // Node connections are lazy: the ones connected so far include the item's (the restock above used it).
    const masters = product.nodes('master').filter((node) => node.stream !== undefined);
    for (const node of masters) node.stream.pause();
    const outcome = store.restock(itemId, 20, idem).then(
      (v) => ({ ok: v as unknown }),
      (err: unknown) => ({ err }),
    );
    await waitFor('Redis ran the restock', async () => (await stockOf()) === 31);
    for (const node of masters) node.stream.destroy();
    const first = await outcome;
    expect('err' in first && isRedisUnavailable(first.err)).toBe(true);
    await sleep(500); // longer than any resend delay of ioredis (retryDelayOnFailover: 100 ms by default)
    expect(await stockOf()).toBe(31);

    const retry = await waitFor(
      'the client is back',
      () => store.restock(itemId, 20, idem).catch(() => undefined),
      15_000,
      200,
    );
    expect(retry).toBe(31);
    expect(await stockOf()).toBe(31);
  });
});
