import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { keys } from '@waiting-queue/core/keys';
import { describeKafka, kafkaForTest, type TestKafka } from './helpers/kafka';
import { call, startService, type ServiceProcess } from './helpers/processes';
import { testRedis } from './helpers/redis';
import { ADMIN, expectFailure, waitFor } from './helpers/waiting-room-client';

jest.setTimeout(90_000);

/**
 * Stock figures of `item-changed-event` at the edges, on a real Kafka-protocol broker (the librdkafka mock
 * cluster), a real scheduler and a real redis-server: a figure beyond what a JSON number keeps exactly must not
 * create an item whose stock Redis cannot count (HINCRBY on "1e+300" fails: every restock, reservation or claim
 * would be a 500).
 */
describeKafka('item-changed-event: stock figures a JSON number cannot carry', () => {
  let kafka: TestKafka | undefined;
  let env: Awaited<ReturnType<typeof testRedis>>;
  let producer: Producer | undefined;
  let scheduler: ServiceProcess | undefined;
  const topic = 'item-changed-event';

  beforeAll(async () => {
    kafka = await kafkaForTest([`${topic}:1`]);
    env = await testRedis();
    scheduler = await startService('scheduler', {
      REDIS_URL: env.url,
      KAFKA_BROKERS: kafka.brokers,
      KAFKA_ITEM_TOPIC: topic,
      KAFKA_GROUP_ID: 'wq-item-sync-edges',
      TOKEN_COUNT_TO_MOVE: '0',
    });
    const client = new Kafka({
      clientId: 'wq-test-producer',
      brokers: kafka.brokers.split(','),
      logLevel: logLevel.NOTHING,
    });
    producer = client.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
  }, 300_000);

  afterAll(async () => {
    await producer?.disconnect().catch(() => undefined);
    await scheduler?.stop(15_000);
    await kafka?.stop();
    await env?.stop();
  }, 60_000);

  test('a numeric itemId under an escaped key ("item\\u0049d": 12.0) is skipped as the plain spelling is, not made item 12', async () => {
    const rest = '"itemName":"esc","remainCount":5,"waitingQueueEnabled":true,"waitingQueueTargetItem":true';
    const [meta] = await producer!.send({
      topic,
      messages: [
        // Keys as an upstream that meant items 12 and 10 would send them, so the itemId check is what refuses them.
        { key: '12', value: `{"item\\u0049d":12.0,${rest}}` },
        { key: '10', value: `{"item\\u0049d":1e1,${rest}}` },
        { key: 'kesc_after', value: `{"itemId":"kesc_after",${rest}}` },
      ],
    });
    await waitFor(
      'the message after them applied',
      async () => (await env.client.exists(keys.item('kesc_after'))) === 1,
      60_000,
    );
    expect(await env.client.exists(keys.item('12'), keys.item('10'))).toBe(0);
    const skipped = scheduler!
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .filter((l) => (l.key === '12' || l.key === '10') && String(l.msg).includes('skipped'));
    const first = BigInt(meta.baseOffset!);
    expect(skipped.map((l) => l.offset).sort()).toEqual([String(first), String(first + 1n)]);
  });

  test('a remainCount beyond the safe integers is logged with its offset and skipped; the next message applies', async () => {
    const body = (itemId: string, remainCount: string) =>
      `{"itemId":"${itemId}","itemName":"${itemId}","remainCount":${remainCount},"waitingQueueEnabled":true,"waitingQueueTargetItem":true}`;
    const [meta] = await producer!.send({
      topic,
      messages: [
        { key: 'khuge', value: body('khuge', '1e300') },
        { key: 'khuge2', value: body('khuge2', '9007199254740993') },
        { key: 'kafter', value: body('kafter', '5') },
      ],
    });
    const admin = (path: string, init: { method?: string; body?: unknown } = {}) =>
      call(`${scheduler!.url}${ADMIN}${path}`, init);
    await waitFor(
      'the message after them applied',
      async () => (await admin('/waiting-item/kafter')).status === 200,
      60_000,
    );

    expect(await env.client.exists(keys.item('khuge'), keys.item('khuge2'))).toBe(0);
    // Had the item been created with stock "1e+300", this restock would fail in Redis: a 500.
    expectFailure(
      await admin('/waiting-item/khuge/restock', { method: 'POST', body: { quantity: 1 } }),
      404,
      'WAITING_ITEM_NOT_FOUND',
    );
    const skipped = scheduler!
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .filter((l) => (l.key === 'khuge' || l.key === 'khuge2') && String(l.msg).includes('skipped'));
    const first = BigInt(meta.baseOffset!);
    expect(skipped.map((l) => l.offset).sort()).toEqual([String(first), String(first + 1n)]);
  });
});
