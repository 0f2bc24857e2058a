import { keys } from '@waiting-queue/core/keys';
import { call, type ServiceProcess } from './helpers/processes';
import { startServices } from './helpers/services';
import { startTestCluster, type TestCluster } from './helpers/cluster';

/**
 * The whole waiting room on a real 3-master Redis Cluster (REDIS_CLUSTER_NODES): every multi-key script must find
 * all of an item's keys in one slot, which the `{itemId}` hash tag guarantees.
 */
describe('on a 3-master Redis Cluster', () => {
  let cluster: TestCluster;
  let api: ServiceProcess;
  let scheduler: ServiceProcess;
  const ITEMS = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'];

  beforeAll(async () => {
    cluster = await startTestCluster(3);
    const env = { REDIS_CLUSTER_NODES: cluster.nodesEnv, TOKEN_COUNT_TO_MOVE: '2', ENTRY_TTL_SECONDS: '60' };
    [api, scheduler] = await startServices([
      { name: 'api', env },
      { name: 'scheduler', env },
    ]);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([api?.stop(), scheduler?.stop()]);
    await cluster?.stop();
  });

  test('all keys of one item hash to one slot, and the items spread over the masters', async () => {
    const slotsOf = async (itemId: string) =>
      Promise.all(keys.queue(itemId).map((k) => cluster.client.cluster('KEYSLOT', k) as Promise<number>));
    const firstSlots = new Set<number>();
    for (const itemId of ITEMS) {
      const slots = await slotsOf(itemId);
      expect(new Set(slots).size).toBe(1);
      firstSlots.add(slots[0]);
    }
    const ranges = (await cluster.client.cluster('SLOTS')) as unknown as [number, number, [string, number]][];
    const owners = new Set([...firstSlots].map((slot) => ranges.find(([a, b]) => slot >= a && slot <= b)![2][1]));
    expect(owners.size).toBeGreaterThan(1);
  });

  test('admin upsert, register, poll, admit, validate and consume work on every item', async () => {
    for (const itemId of ITEMS) {
      const up = await call(`${scheduler.url}/internal/admin/v1/waiting-item/${itemId}/manually`, {
        method: 'POST',
        body: { itemName: itemId, remainCount: 100, waitingQueueEnabled: true },
      });
      expect(up.status).toBe(200);
    }
    const tokens = new Map<string, string>();
    for (const itemId of ITEMS) {
      for (const userId of ['alice', 'bob', 'carol']) {
        const r = await call(`${api.url}/api/v1/item/${itemId}/waiting-queue`, {
          method: 'POST',
          headers: { 'user-id': userId },
        });
        expect(r.status).toBe(200);
        tokens.set(`${itemId}/${userId}`, r.body.data.waitingQueueToken);
      }
      const again = await call(`${api.url}/api/v1/item/${itemId}/waiting-queue`, {
        method: 'POST',
        headers: { 'user-id': 'alice' },
      });
      expect(again.body.data.waitingQueueToken).toBe(tokens.get(`${itemId}/alice`));
    }

    // N = 2: within a few ticks alice and bob are admitted on every item, carol (3rd) a tick later.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const polls = await Promise.all(
        ITEMS.map((itemId) =>
          call(`${api.url}/api/v1/item/${itemId}/waiting-queue/${tokens.get(`${itemId}/carol`)}`, {
            headers: { 'user-id': 'carol' },
          }),
        ),
      );
      for (const p of polls) expect(p.status).toBe(200);
      if (polls.every((p) => p.body.data.canOrder)) break;
      if (Date.now() > deadline) throw new Error('carol not admitted on every item within 20 s');
      await new Promise((r) => setTimeout(r, 300));
    }

    for (const itemId of ITEMS) {
      const token = tokens.get(`${itemId}/alice`)!;
      const v = await call(`${api.url}/internal/v1/item/${itemId}/waiting-queue/${token}`);
      expect(v.body.data).toMatchObject({ admitted: true, userId: 'alice', itemId });
      expect(
        (await call(`${api.url}/internal/v1/item/${itemId}/waiting-queue/${token}/consume`, { method: 'POST' })).status,
      ).toBe(200);
      const second = await call(`${api.url}/internal/v1/item/${itemId}/waiting-queue/${token}/consume`, {
        method: 'POST',
      });
      expect(second.status).toBe(409);
      expect(second.body.errorCode).toBe('NOT_ADMITTED');
    }

    const counts = await call(`${scheduler.url}/internal/admin/v1/waiting-queue/token-count`);
    expect(counts.status).toBe(200);
    const list = counts.body.data.currentWaitingQueueList as {
      itemId: string;
      waitingTokenCount: number;
      enteredTokenCount: number;
    }[];
    expect(list.map((e) => e.itemId).sort()).toEqual([...ITEMS].sort());
    for (const e of list) expect(e).toMatchObject({ waitingTokenCount: 0, enteredTokenCount: 2 });

    const n = await call(`${scheduler.url}/internal/admin/v1/waiting-queue/token-count-to-move`, {
      method: 'PUT',
      body: { tokenCountToMove: 0 },
    });
    expect(n.body.data).toEqual({ tokenCountToMove: 0 });
  });
});
