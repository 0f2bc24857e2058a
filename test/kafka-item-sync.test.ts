import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { keys } from '@waiting-queue/core/keys';
import { describeKafka, kafkaForTest, testOwnBroker, type TestKafka } from './helpers/kafka';
import { call, startService, type ServiceProcess } from './helpers/processes';
import { testRedis } from './helpers/redis';

/**
 * The scheduler's `item-changed-event` consumer against a real Kafka-protocol broker (the librdkafka mock
 * cluster of tools/mockkafka, or KAFKA_BROKERS; skipped without one, failed in CI): targeted items appear, the
 * rest is ignored or skipped without blocking its partition, updates apply in order, and a scheduler that was
 * away resumes from the committed offsets without losing an update.
 */

jest.setTimeout(90_000);

/** An `item-changed-event` value (the upstream's wire contract). */
interface ItemChanged {
  itemId: string | number;
  itemName: string;
  remainCount: number;
  waitingQueueEnabled: boolean;
  waitingQueueTargetItem: boolean;
}

const event = (itemId: string | number, over: Partial<ItemChanged> = {}): ItemChanged => ({
  itemId,
  itemName: `item ${itemId}`,
  remainCount: 10,
  waitingQueueEnabled: true,
  waitingQueueTargetItem: true,
  ...over,
});

/** Polls `check` every 250 ms until it returns true. @throws after `timeoutMs` with `what` in the message. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describeKafka('item-changed-event consumer on a real Kafka-protocol broker', () => {
  let kafka: TestKafka;
  let env: Awaited<ReturnType<typeof testRedis>>;
  let producer: Producer | undefined;
  let api: ServiceProcess | undefined;
  let scheduler: ServiceProcess | undefined;
  const services: ServiceProcess[] = [];
  // A topic of the test's own on an external broker; the mock's is created on its command line.
  const topic = process.env.KAFKA_BROKERS
    ? `item-changed-event-test-${randomBytes(4).toString('hex')}`
    : 'item-changed-event';
  const groupId = `wq-item-sync-test-${randomBytes(4).toString('hex')}`;
  let schedulerEnv: Record<string, string>;

  const startScheduler = async () => {
    const s = await startService('scheduler', schedulerEnv);
    services.push(s);
    return s;
  };
  /** Produces `messages` (value objects are JSON-encoded, strings sent as they are) in order, key = `key`. */
  const produce = async (key: string, ...values: (ItemChanged | string)[]) => {
    const [meta] = await producer!.send({
      topic,
      messages: values.map((v) => ({ key, value: typeof v === 'string' ? v : JSON.stringify(v) })),
    });
    return { partition: meta.partition, offsets: values.map((_, i) => String(BigInt(meta.baseOffset!) + BigInt(i))) };
  };
  /** The scheduler's JSON log lines whose msg contains `text`. */
  const logLines = (text: string): any[] =>
    scheduler!
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => {
        try {
          return JSON.parse(l);
        } catch {
          return {};
        }
      })
      .filter((l) => typeof l.msg === 'string' && l.msg.includes(text));
  const admin = (path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
    call(`${scheduler!.url}/internal/admin/v1${path}`, init);
  const getItem = (itemId: string) => call(`${scheduler!.url}/internal/admin/v1/waiting-item/${itemId}`);
  /**
   * Resolves once the scheduler has logged the message at `partition`/`offset` (applied, skipped or refused: each
   * names both). Messages of one partition are handled in order, so the earlier ones have been handled too.
   */
  const waitLogged = (partition: number, offset: string) =>
    until(`message ${partition}/${offset} handled`, async () =>
      logLines('item-changed-event').some((l) => l.partition === partition && l.offset === offset),
    );
  /** A marker behind `key`'s messages: a value for another item under that key, which is refused and logged. */
  const marker = (key: string) => produce(key, event(`${key}_marker`));
  const waitMarker = async (sent: { partition: number; offsets: string[] }) => {
    await waitLogged(sent.partition, sent.offsets[0]);
    expect(logLines('refused').some((l) => l.partition === sent.partition && l.offset === sent.offsets[0])).toBe(true);
  };
  const waitItem = (itemId: string, check: (item: any) => boolean = () => true) =>
    until(`item ${itemId} synced`, async () => {
      const r = await getItem(itemId);
      return r.status === 200 && check(r.body.data);
    });

  beforeAll(async () => {
    kafka = await kafkaForTest([`${topic}:3`]);
    env = await testRedis();
    schedulerEnv = {
      REDIS_URL: env.url,
      KAFKA_BROKERS: kafka.brokers,
      KAFKA_ITEM_TOPIC: topic,
      KAFKA_GROUP_ID: groupId,
      TOKEN_COUNT_TO_MOVE: '0',
      SHUTDOWN_TIMEOUT_MS: '10000',
    };
    const client = new Kafka({
      clientId: 'wq-test-producer',
      brokers: kafka.brokers.split(','),
      logLevel: logLevel.NOTHING,
    });
    producer = client.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    [scheduler, api] = await Promise.all([startScheduler(), startService('api', { REDIS_URL: env.url })]);
    services.push(api);
  }, 300_000);

  afterAll(async () => {
    await producer?.disconnect().catch(() => undefined);
    await Promise.all(services.map((s) => s.stop(15_000)));
    await kafka?.stop();
    await env?.stop();
  }, 60_000);

  test('a targeted item appears on the scheduler and takes registrations on the api', async () => {
    await produce('k1', event('k1', { itemName: 'Kafka item', remainCount: 10 }));
    await waitItem('k1');
    expect((await getItem('k1')).body.data).toMatchObject({
      itemId: 'k1',
      itemName: 'Kafka item',
      remainCount: 10,
      waitingQueueEnabled: true,
    });
    const reg = await call(`${api!.url}/api/v1/item/k1/waiting-queue`, {
      method: 'POST',
      headers: { 'user-id': 'alice' },
    });
    expect(reg.status).toBe(200);
    expect(reg.body.data).toMatchObject({ itemId: 'k1', waitingQueueRank: 1 });
  });

  test('a non-target item is ignored; a malformed message is skipped without blocking its partition', async () => {
    // Same key, same partition: once the later message is refused, the earlier ones have been handled.
    await produce('knot', event('knot', { waitingQueueTargetItem: false }));
    const mark = await marker('knot');
    await produce(
      'kbad',
      'not json {',
      JSON.stringify({
        itemId: 'has space',
        itemName: 'x',
        remainCount: 1,
        waitingQueueEnabled: true,
        waitingQueueTargetItem: true,
      }),
      JSON.stringify({
        itemId: 'kbad',
        itemName: 'x',
        remainCount: -1,
        waitingQueueEnabled: true,
        waitingQueueTargetItem: true,
      }),
      event('kbad', { itemName: 'after the bad ones', remainCount: 3 }),
    );
    await waitMarker(mark);
    await waitItem('kbad');
    expect((await getItem('knot')).status).toBe(404);
    expect((await getItem('kbad')).body.data).toMatchObject({ itemName: 'after the bad ones', remainCount: 3 });
    expect(scheduler!.output()).toContain('value is not JSON; skipped');
  });

  test('a numeric itemId works (the original Long ids)', async () => {
    await produce('12345', event(12345, { itemName: 'numeric' }));
    await waitItem('12345');
    expect((await getItem('12345')).body.data).toMatchObject({ itemId: '12345', itemName: 'numeric' });
    const reg = await call(`${api!.url}/api/v1/item/12345/waiting-queue`, {
      method: 'POST',
      headers: { 'user-id': 'bob' },
    });
    expect(reg.status).toBe(200);
  });

  test('updates of one item apply in order (the last name wins); their stock figures never overwrite the stock', async () => {
    const updates = [7, 5, 2, 1, 0].map((n) => event('k1', { itemName: `Kafka item v${n}`, remainCount: n }));
    await produce('k1', ...updates);
    await waitMarker(await marker('k1'));
    expect((await getItem('k1')).body.data).toMatchObject({ itemName: 'Kafka item v0', remainCount: 10 });
    const reg = await call(`${api!.url}/api/v1/item/k1/waiting-queue`, {
      method: 'POST',
      headers: { 'user-id': 'carol' },
    });
    expect(reg.status).toBe(200);
  });

  test('a redelivered event after claims does not give the stock back: stock 3, three claims, the same message again, no fourth claim', async () => {
    const created = event('kredo', { itemName: 'Redelivered', remainCount: 3 });
    await produce('kredo', created);
    await waitItem('kredo');
    // Claims need a DIRECT item: a settings-only edit (no remainCount), allowed without If-Match.
    expect(
      (
        await admin('/waiting-item/kredo/manually', {
          method: 'POST',
          body: { itemName: 'Redelivered', waitingQueueEnabled: true, queueMode: 'DIRECT' },
        })
      ).status,
    ).toBe(200);
    const claim = (userId: string) =>
      call(`${api!.url}/api/v1/item/kredo/claims`, { method: 'POST', headers: { 'user-id': userId } });
    for (const u of ['r1', 'r2', 'r3']) expect((await claim(u)).status).toBe(200);
    expect((await getItem('kredo')).body.data.remainCount).toBe(0);

    // At-least-once: the same message again (a redelivery, or a replay under a new group id), then a marker behind
    // it on the same partition.
    const again = await produce('kredo', created);
    await waitMarker(await marker('kredo'));
    expect((await getItem('kredo')).body.data).toMatchObject({ itemName: 'Redelivered', remainCount: 0 });
    const fourth = await claim('r4');
    expect(fourth.status).toBe(409);
    expect(fourth.body.errorCode).toBe('SOLD_OUT');
    expect(await env.client.hlen(keys.claims('kredo'))).toBe(3);
    // It was handled, and said so with where it came from.
    const kept = logLines('its remainCount ignored').filter(
      (l) => l.itemId === 'kredo' && l.offset === again.offsets[0],
    );
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatchObject({ topic, partition: again.partition, eventRemainCount: 3, remainCount: 0 });
  });

  test('an itemId beyond the safe integers or in exponent form is logged with partition and offset and skipped', async () => {
    const body = '"itemName":"big","remainCount":5,"waitingQueueEnabled":true,"waitingQueueTargetItem":true';
    const sent = await produce(
      'kbig',
      `{"itemId":9007199254740993,${body}}`,
      `{"itemId":1e21,${body}}`,
      `{"itemId":9007199254740992,${body}}`,
    );
    await waitMarker(await marker('kbig'));
    // JSON.parse would have made these items 9007199254740992 (twice) and 1e+21.
    expect((await getItem('9007199254740992')).status).toBe(404);
    expect(await env.client.exists(keys.item('9007199254740992'), keys.item('1e+21'))).toBe(0);
    expect(await env.client.sismember(keys.itemRegistry, '1e+21')).toBe(0);
    const skipped = logLines('skipped').filter((l) => l.key === 'kbig');
    expect(skipped.map((l) => [l.partition, l.offset]).sort()).toEqual(
      sent.offsets
        .slice(0, 3)
        .map((o) => [sent.partition, o])
        .sort(),
    );
    expect(skipped.every((l) => l.topic === topic)).toBe(true);
  });

  test('a message whose key differs from the itemId of its value is refused and logged with partition and offset; the value does not win', async () => {
    await produce('kkey', event('kkey', { itemName: 'keyed right' }));
    await waitItem('kkey');
    const before = (await getItem('k1')).body.data;
    // Under key kkey: a new item kother, and an edit of the existing item k1. Then a right one, behind them.
    const wrong = await produce(
      'kkey',
      event('kother', { itemName: 'under a foreign key' }),
      event('k1', { itemName: 'edited under a foreign key', waitingQueueEnabled: false }),
    );
    const right = await produce('kkey', event('kkey', { itemName: 'keyed right v2' }));
    await waitLogged(right.partition, right.offsets[0]);
    expect((await getItem('kkey')).body.data.itemName).toBe('keyed right v2');
    expect((await getItem('kother')).status).toBe(404);
    expect(await env.client.sismember(keys.itemRegistry, 'kother')).toBe(0);
    expect((await getItem('k1')).body.data).toMatchObject({
      itemName: before.itemName,
      waitingQueueEnabled: before.waitingQueueEnabled,
    });
    const refused = logLines('key differs from the itemId').filter((l) => l.key === 'kkey');
    expect(refused.map((l) => [l.partition, l.offset, l.itemId])).toEqual([
      [wrong.partition, wrong.offsets[0], 'kother'],
      [wrong.partition, wrong.offsets[1], 'k1'],
    ]);
    expect(refused.every((l) => l.topic === topic && l.level === 40)).toBe(true);
  });

  test('a scheduler that was away resumes from the committed offsets and applies every update made meanwhile', async () => {
    // An operator's edit after the events: replaying k1's (committed) history would overwrite it.
    const etag = (await getItem('k1')).headers.get('etag')!;
    const edit = await admin('/waiting-item/k1/manually', {
      method: 'POST',
      body: { itemName: 'edited by admin', remainCount: 77, waitingQueueEnabled: true },
      headers: { 'if-match': etag },
    });
    expect(edit.status).toBe(200);

    const stopped = scheduler!;
    await stopped.stop(20_000);
    expect({ code: stopped.child.exitCode, signal: stopped.child.signalCode }).toEqual({ code: 0, signal: null });

    // While no consumer runs: new items, updates of known ones, and a marker on k1's partition, last.
    await produce('kaway1', event('kaway1', { remainCount: 1 }));
    await produce('777', event(777, { remainCount: 2 }));
    await produce('kbad', event('kbad', { itemName: 'updated while away', remainCount: 9 }));
    await produce('12345', event(12345, { itemName: 'numeric v2', waitingQueueEnabled: false }));
    const mark = await marker('k1');

    // The new scheduler starts while the broker answers nothing: it must get ready (admission and the admin API
    // do not need Kafka) and its consumer must catch up once the broker answers again.
    kafka.pause?.();
    try {
      scheduler = await startScheduler();
      await new Promise((r) => setTimeout(r, 3000));
      expect(scheduler.child.exitCode).toBeNull();
      expect((await call(`${scheduler.url}/health/ready`)).status).toBe(200);
    } finally {
      kafka.resume?.();
    }
    // The group rebalance of the mock takes up to the session timeout (30 s) after a member left.
    await until(
      'every update made while away applied',
      async () => {
        const [a, b, c, d] = await Promise.all(['kaway1', '777', 'kbad', '12345'].map(getItem));
        return (
          a.status === 200 &&
          b.body.data?.remainCount === 2 &&
          c.body.data?.itemName === 'updated while away' &&
          d.body.data?.itemName === 'numeric v2' &&
          d.body.data?.waitingQueueEnabled === false &&
          logLines('refused').some((l) => l.partition === mark.partition && l.offset === mark.offsets[0])
        );
      },
      60_000,
    );
    expect((await getItem('k1')).body.data).toMatchObject({ itemName: 'edited by admin', remainCount: 77 });
  }, 100_000);

  // An external broker is not ours to freeze: skipped then.
  testOwnBroker('the consumer survives a broker that stops answering for a while', async () => {
    kafka.pause!();
    try {
      await new Promise((r) => setTimeout(r, 8000));
      expect(scheduler!.child.exitCode).toBeNull();
    } finally {
      kafka.resume!();
    }
    await produce('kstall', event('kstall', { itemName: 'after the stall' }));
    await waitItem('kstall');
    expect((await getItem('kstall')).body.data).toMatchObject({ itemName: 'after the stall' });
  });

  // An external broker is not ours to stop: skipped then.
  testOwnBroker(
    'with the broker gone the scheduler keeps admitting and serving, and still shuts down cleanly',
    async () => {
      await kafka.stop();
      // Give the consumer time to notice and retry (kafkajs reconnects with back-off; a crash would exit here).
      await new Promise((r) => setTimeout(r, 5000));
      const s = scheduler!;
      expect(s.child.exitCode).toBeNull();
      expect((await call(`${s.url}/health/ready`)).status).toBe(200);
      const upsert = await call(`${s.url}/internal/admin/v1/waiting-item/kdown/manually`, {
        method: 'POST',
        body: { itemName: 'made while Kafka is down', remainCount: 5, waitingQueueEnabled: true },
      });
      expect(upsert.status).toBe(200);
      const reg = await call(`${api!.url}/api/v1/item/kdown/waiting-queue`, {
        method: 'POST',
        headers: { 'user-id': 'dave' },
      });
      expect(reg.status).toBe(200);
      await s.stop(20_000);
      expect({ code: s.child.exitCode, signal: s.child.signalCode }).toEqual({ code: 0, signal: null });
    },
  );
});
