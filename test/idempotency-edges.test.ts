import { ItemStore } from '@waiting-queue/core/item-store';
import { keys } from '@waiting-queue/core/keys';
import { QueueStore } from '@waiting-queue/core/queue-store';
import { type RedisClient } from '@waiting-queue/core/redis';
import { call, type ServiceProcess } from './helpers/processes';
import { useStack } from './helpers/stack';
import { expectFailure, expectSuccess, register, sleep } from './helpers/waiting-room-client';

const INTERNAL = 'idem-edges-internal';
/** A small cap, so that a flood of a few requests shows what a flood of 100 000 would do to the default cap. */
const MAX_KEYS = 5;

/**
 * Idempotency-Key records at the edges, on a real api process and a real redis-server: the public claim route is
 * anonymous (header mode), so what a shopper's key records must not cost memory nor push out other callers'
 * records, and a refusal that changed nothing must not stick to the key.
 */
describe('Idempotency-Key records: what an anonymous client can make the api record', () => {
  const env = useStack({
    name: 'idempotency-edges-test',
    services: [
      {
        name: 'api',
        env: {
          LOG_LEVEL: 'warn',
          INTERNAL_TOKEN: INTERNAL,
          IDEMPOTENCY_MAX_KEYS: String(MAX_KEYS),
          MAX_IN_FLIGHT: '0',
        },
      },
    ],
    startTimeoutMs: 60_000,
  });
  let redis: RedisClient;
  let items: ItemStore;
  let queue: QueueStore;
  let api: ServiceProcess;
  let fence = 1;

  const claimUrl = (itemId: string) => `${api.url}/api/v1/item/${itemId}/claims`;
  const claimAs = (itemId: string, userId: string, key: string) =>
    call(claimUrl(itemId), { method: 'POST', headers: { 'user-id': userId, 'idempotency-key': key } });

  beforeAll(() => {
    redis = env.redis;
    items = new ItemStore(redis);
    queue = new QueueStore(redis);
    [api] = env.services;
  });

  test('claims with keys on item ids that do not exist leave no keys in Redis', async () => {
    for (let i = 0; i < 20; i++) {
      expectFailure(await claimAs(`ghost_${i}`, 'mallory', `k-${i}`), 404, 'WAITING_ITEM_NOT_FOUND');
    }
    for (let i = 0; i < 20; i++) {
      for (const k of keys.idempotency(`ghost_${i}`)) expect(await redis.exists(k)).toBe(0);
    }
  });

  test("a flood of refused claims with fresh keys does not push out an order service's record", async () => {
    const itemId = 'edge_waiting';
    await items.upsert(itemId, { itemName: itemId, remainCount: 10, waitingQueueEnabled: true }, { register: false });
    const token = expectSuccess(await register(api.url, itemId, 'olga')).waitingQueueToken as string;
    await queue.admit(itemId, { tokenCountToMove: 1000, admissionTtlMs: 600_000, fence: fence++, tickMs: 1000 });
    const consume = () =>
      call(`${api.url}/internal/v1/item/${itemId}/waiting-queue/${token}/consume`, {
        method: 'POST',
        headers: { authorization: `Bearer ${INTERNAL}`, 'idempotency-key': 'order-42' },
      });
    const first = expectSuccess(await consume());
    expect(first.consumed).toBe(true);

    // An anonymous client: claims on a waiting-room item (409 ITEM_NOT_DIRECT), each with a new key.
    for (let i = 0; i < MAX_KEYS * 2; i++)
      expectFailure(await claimAs(itemId, `mallory${i}`, `flood-${i}`), 409, 'ITEM_NOT_DIRECT');

    // The order service's retry (its reply was lost) still gets its first answer, not NOT_ADMITTED.
    expect(expectSuccess(await consume())).toEqual(first);
  });

  test('a claim refused as not open yet, retried with its key once the deal opens, is issued', async () => {
    const itemId = 'edge_deal';
    const [seconds, micros] = await redis.time();
    const opensAt = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) + 1500;
    await items.upsert(
      itemId,
      {
        itemName: itemId,
        remainCount: 3,
        waitingQueueEnabled: true,
        queueMode: 'DIRECT',
        type: 'TIME_DEAL',
        startAt: opensAt,
      },
      { register: false },
    );
    const early = await claimAs(itemId, 'nina', 'nina-claim-1');
    expectFailure(early, 409, 'ITEM_NOT_OPEN');
    await sleep(Number(early.headers.get('retry-after')) * 1000 + 200);

    // The same request with the same key, as Retry-After asks: the deal is open now, so it is issued.
    const issued = expectSuccess(await claimAs(itemId, 'nina', 'nina-claim-1'));
    expect(issued).toMatchObject({ itemId, userId: 'nina', remainCount: 2 });
    // ...and that answer is the key's from now on.
    expect(expectSuccess(await claimAs(itemId, 'nina', 'nina-claim-1'))).toEqual(issued);
    expect(await redis.hget(keys.item(itemId), 'remainCount')).toBe('2');
  });
});
