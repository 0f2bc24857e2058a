import { ClaimStore } from '@waiting-queue/core/claim-store';
import { readOutbox } from '@waiting-queue/core/events';
import { ItemStore } from '@waiting-queue/core/item-store';
import { keys } from '@waiting-queue/core/keys';
import { QueueStore } from '@waiting-queue/core/queue-store';
import { connectRedis, type RedisClient } from '@waiting-queue/core/redis';
import { ReservationStore } from '@waiting-queue/core/reservation-store';
import { startTestCluster, type TestCluster } from './helpers/cluster';
import { register } from './helpers/queue';

/**
 * The stock and queue policy scripts on a real 3-master Redis Cluster: every key a script touches carries the item's
 * `{itemId}` hash tag (and is declared), so lanes, abandonment, reservations, claims, restock and the outbox all run
 * there.
 */
describe('stock scripts on a 3-master Redis Cluster', () => {
  let cluster: TestCluster;
  let redis: RedisClient;
  const ITEMS = ['k1', 'k2', 'k3', 'k4', 'k5', 'k6'];

  beforeAll(async () => {
    cluster = await startTestCluster(3);
    redis = await connectRedis({ clusterNodes: cluster.nodesEnv.split(',') }, 'stock-cluster');
  }, 90_000);

  afterAll(async () => {
    redis?.disconnect();
    await cluster?.stop();
  });

  test('every per-item key of an item is in one slot', async () => {
    const all = (id: string) => [
      ...keys.queue(id),
      keys.lastPoll(id),
      keys.outbox(id),
      keys.holdings(id),
      keys.reservations(id),
      keys.reservationsPending(id),
      keys.reservationsDone(id),
      keys.claims(id),
    ];
    for (const id of ITEMS) {
      const slots = await Promise.all(all(id).map((k) => cluster.client.cluster('KEYSLOT', k) as Promise<number>));
      expect(new Set(slots).size).toBe(1);
    }
  });

  test('lanes, abandonment, reserve, confirm, cancel, expire, restock and claims on every item', async () => {
    const items = new ItemStore(redis);
    const queue = new QueueStore(redis);
    const rsv = new ReservationStore(redis);
    const claims = new ClaimStore(redis);
    let fence = 1;
    for (const id of ITEMS) {
      await items.upsert(
        id,
        { itemName: id, remainCount: 3, waitingQueueEnabled: true, lanes: ['vip', 'regular'] },
        { register: false },
      );
      const reg = async (u: string, lane?: string) => {
        const p = await register(queue, id, u, { lane, trackPoll: true });
        if (typeof p === 'string') throw new Error(p);
        return p;
      };
      const r1 = await reg('r1');
      const v1 = await reg('v1', 'vip');
      const r2 = await reg('r2');
      expect(await queue.status(id, 'r1', { trackPoll: true })).toMatchObject({ rank: 2 });
      const tick = await queue.admit(id, {
        tokenCountToMove: 3,
        admissionTtlMs: 60_000,
        fence: fence++,
        tickMs: 1000,
        abandonAfterMs: 60_000,
      });
      expect(tick).toMatchObject({ status: 'OK', admittedCount: 3, abandoned: 0 });
      const a = await rsv.reserve(id, 'v1', v1.seq, 1, 60_000);
      const b = await rsv.reserve(id, 'r1', r1.seq, 1, 60_000);
      const c = await rsv.reserve(id, 'r2', r2.seq, 1, 1);
      if (a.status !== 'OK' || b.status !== 'OK' || c.status !== 'OK')
        throw new Error(`${a.status} ${b.status} ${c.status}`);
      expect((await rsv.confirm(a.reservation.reservationId)).status).toBe('OK');
      expect((await rsv.cancel(b.reservation.reservationId)).status).toBe('OK');
      await new Promise((r) => setTimeout(r, 5));
      expect(await rsv.expireDue(id, { limit: 10, retentionMs: 60_000 })).toEqual({ expired: 1, purged: 0 });
      expect(await items.restock(id, 2)).toBe(4);
      await items.upsert(
        id,
        { itemName: id, remainCount: 1, waitingQueueEnabled: true, queueMode: 'DIRECT' },
        { register: false },
      );
      expect((await claims.claim(id, 'c1')).status).toBe('OK');
      expect((await claims.claim(id, 'c2')).status).toBe('SOLD_OUT');
      const types = (await readOutbox(redis, id)).map((e) => e.type);
      expect(types).toEqual([
        'batch.admitted',
        'batch.admitted',
        'reservation.created',
        'reservation.created',
        'reservation.created',
        'item.sold_out',
        'reservation.confirmed',
        'reservation.cancelled',
        'item.reopened',
        'reservation.expired',
        'item.restocked',
        'claim.issued',
        'item.sold_out',
      ]);
    }
    expect(await queue.counts(ITEMS)).toEqual(ITEMS.map((itemId) => ({ itemId, waiting: 0, admitted: 0 })));
  });
});
