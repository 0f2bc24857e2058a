import { Pool } from 'pg';
import type { Producer } from 'kafkajs';
import { Kafka, logLevel } from 'kafkajs';
import { type EventType, type ItemEvent } from '@waiting-queue/core/events';
import { ItemStore } from '@waiting-queue/core/item-store';
import { keys } from '@waiting-queue/core/keys';
import { createLogger } from '@waiting-queue/core/logger';
import { connectRedis, type RedisClient } from '@waiting-queue/core/redis';
import { freePort } from '@waiting-queue/testkit/embedded-redis';
import { OutboxRelay } from '../packages/scheduler/src/outbox-relay';
import { call, startService, type ServiceProcess } from './helpers/processes';
import { kafkaBroker, kafkaForTest, testKafka, type TestKafka } from './helpers/kafka';
import { scrape, sampleValue } from './helpers/prometheus';
import { testRedis } from './helpers/redis';
import { ADMIN, expectSuccess, register, sleep, waitFor } from './helpers/waiting-room-client';
import { LEDGER_SCHEMA, recordEvent } from '../packages/scheduler/src/ledger';
import { createTestDatabase, type TestDatabase } from './helpers/postgres';

/**
 * "No event is dropped without a trace", on real processes, a real redis-server, the
 * librdkafka mock broker and the machine's PostgreSQL (a database of the test's own).
 */
describe('ledger order', () => {
  let db: TestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new Pool({ connectionString: db.url, max: 2 });
    await pool.query(LEDGER_SCHEMA);
  }, 60_000);

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  }, 60_000);

  const status = async (id: string) =>
    (await pool.query('SELECT status FROM reservations WHERE reservation_id = $1', [id])).rows[0]?.status;
  const event = (n: number, type: EventType, reservationId: string, at: number) =>
    ({
      id: `o1:${n}@${at}-${n}`,
      type,
      itemId: 'o1',
      at,
      payload: { reservationId, userId: 'u1', quantity: 1 },
    }) as ItemEvent;

  test('a create and a confirm in the same millisecond, delivered confirm first, leave the reservation CONFIRMED', async () => {
    const at = 1_700_000_000_000;
    expect(await recordEvent(pool, event(2, 'reservation.confirmed', 'o1.1', at))).toBe(true);
    expect(await recordEvent(pool, event(1, 'reservation.created', 'o1.1', at))).toBe(true);
    expect(await status('o1.1')).toBe('CONFIRMED');
    // In order, too; and a created event stamped later than the settlement does not reopen it either.
    await recordEvent(pool, event(3, 'reservation.created', 'o1.2', at));
    await recordEvent(pool, event(4, 'reservation.expired', 'o1.2', at));
    await recordEvent(pool, event(5, 'reservation.created', 'o1.3', at + 5));
    await recordEvent(pool, event(6, 'reservation.cancelled', 'o1.3', at));
    await recordEvent(pool, event(7, 'reservation.created', 'o1.3', at + 10));
    expect(await status('o1.2')).toBe('EXPIRED');
    expect(await status('o1.3')).toBe('CANCELLED');
  });
});

describe('the last-poll set', () => {
  let env: Awaited<ReturnType<typeof testRedis>>;
  let redis: RedisClient;
  const procs: ServiceProcess[] = [];

  beforeAll(async () => {
    env = await testRedis();
    redis = await connectRedis({ url: env.url }, 'events-test');
  }, 60_000);

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    redis?.disconnect();
    await env?.stop();
  }, 30_000);

  test('with ABANDON_AFTER_SECONDS on the api only, the scheduler still drops silent users and their last polls', async () => {
    // N = 0: nobody is admitted, so only abandonment can take users out of the queue and the last-poll set.
    await new ItemStore(redis).upsert('lp', {
      itemName: 'lp',
      remainCount: 100,
      waitingQueueEnabled: true,
      tokenCountToMove: 0,
    });
    procs.push(await startService('api', { REDIS_URL: env.url, LOG_LEVEL: 'warn', ABANDON_AFTER_SECONDS: '2' }));
    procs.push(
      await startService('scheduler', { REDIS_URL: env.url, LOG_LEVEL: 'warn', SCHEDULER_CRON: '* * * * * *' }),
    );
    for (let i = 0; i < 5; i++) expectSuccess(await register(procs[0].url, 'lp', `silent${i}`));
    expect(await redis.zcard(keys.lastPoll('lp'))).toBe(5);
    // Silent for 2 s: the next ticks drop them and forget their last polls.
    await waitFor(
      'the last-poll set to be emptied',
      async () => (await redis.zcard(keys.lastPoll('lp'))) === 0,
      10_000,
    );
    expect(await redis.zcard(keys.waiting('lp'))).toBe(0);
    expect(await redis.get(keys.abandonAfterMs)).toBe('2000');
  }, 60_000);
});

describe('the outbox and its relay', () => {
  let env: Awaited<ReturnType<typeof testRedis>>;
  let redis: RedisClient;
  let kafka: TestKafka | null = null;
  const procs: ServiceProcess[] = [];

  /** Appends `n` events to the item's outbox through the real restock script (one `item.restocked` each). */
  const appendEvents = async (itemId: string, n: number) => {
    const store = new ItemStore(redis);
    for (let i = 0; i < n; i += 2000)
      await Promise.all(Array.from({ length: Math.min(2000, n - i) }, () => store.restock(itemId, 1)));
  };
  /** The relay's cursor and lease keys, as keys.ts lays them out. */
  const cursorKey = keys.outboxCursor;
  const LEASE_KEY = keys.relayLease;
  const lastEntryId = async (itemId: string) =>
    ((await redis.xrevrange(keys.outbox(itemId), '+', '-', 'COUNT', 1)) as [string, string[]][])[0]?.[0];
  const startScheduler = async (brokers: string) => {
    const s = await startService('scheduler', {
      REDIS_URL: env.url,
      KAFKA_BROKERS: brokers,
      OUTBOX_RELAY_INTERVAL_MS: '100',
      SCHEDULER_CRON: '0 0 0 1 1 *',
      LOG_LEVEL: 'warn',
    });
    procs.push(s);
    return s;
  };

  beforeAll(async () => {
    env = await testRedis();
    redis = await connectRedis({ url: env.url }, 'events-relay-test');
    // Only two of these tests need a broker (testKafka); the first runs without one.
    kafka = kafkaBroker.kind === 'none' ? null : await kafkaForTest(['waiting-queue-events:3', 'item-changed-event:3']);
  }, 120_000);

  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop(20_000)));
  }, 60_000);

  afterAll(async () => {
    redis?.disconnect();
    await env?.stop();
    await kafka?.stop();
  }, 60_000);

  test('with a relay configured and Kafka down, 101,000 events wait in the outbox untrimmed, and the lag shows in /metrics and the overview', async () => {
    const itemId = 'cap';
    // Stock 1, so that each restock appends exactly one event (no item.reopened).
    await new ItemStore(redis).upsert(itemId, { itemName: itemId, remainCount: 1, waitingQueueEnabled: true });
    // A broker address nothing listens on: Kafka is down for the whole test.
    const s = await startScheduler(`127.0.0.1:${await freePort()}`);
    await waitFor(
      'the relay to see the item',
      async () => (await redis.hexists(keys.item(itemId), 'relayEpoch')) === 1,
      5000,
    ).catch(() => undefined);
    await appendEvents(itemId, 101_000);
    // Beyond the 100,000 bound of a stream nothing relays, and nothing was trimmed: every event waits for Kafka.
    expect(await redis.xlen(keys.outbox(itemId))).toBe(101_000);
    const samples = (await scrape(s.url)).samples;
    expect(sampleValue(samples, 'wq_outbox_relay_lag_entries', { item_id: itemId })).toBe(101_000);
    expect(sampleValue(samples, 'wq_outbox_relay_lag_seconds', { item_id: itemId })).toBeGreaterThan(0);
    const overview = expectSuccess(await call(`${s.url}${ADMIN}/overview`));
    expect(overview.relay).toMatchObject({ lagEntries: 101_000, gaps: 0 });
    await redis.del(keys.outbox(itemId));
  }, 120_000);

  testKafka(
    'a gap in the outbox (events trimmed before they were published) is logged and counted; the events after it still go out',
    async () => {
      const itemId = 'gap';
      await new ItemStore(redis).upsert(itemId, { itemName: itemId, remainCount: 0, waitingQueueEnabled: true });
      let s = await startScheduler(kafka!.brokers);
      await appendEvents(itemId, 10);
      const relayed = await lastEntryId(itemId);
      await waitFor(
        'the first 10 events relayed',
        async () => (await redis.get(cursorKey(itemId))) === relayed,
        30_000,
      );
      await s.stop(20_000);

      // 10 more events, of which the first 5 (and the cursor's anchor) are trimmed away before any relay ran.
      await appendEvents(itemId, 10);
      await redis.xtrim(keys.outbox(itemId), 'MAXLEN', 5);
      const last = await lastEntryId(itemId);
      s = await startScheduler(kafka!.brokers);
      await waitFor(
        'the 5 events after the gap relayed',
        async () => (await redis.get(cursorKey(itemId))) === last,
        30_000,
      );
      expect(sampleValue((await scrape(s.url)).samples, 'wq_outbox_gaps_total', { item_id: itemId })).toBe(1);
      expect(s.output()).toMatch(/outbox gap/);
      expect(s.output()).toContain(relayed);
    },
    120_000,
  );

  testKafka(
    'a relay whose lease lapsed during a slow batch stops: it never moves the cursor back nor publishes the next batch',
    async () => {
      const itemId = 'lease';
      await new ItemStore(redis).upsert(itemId, { itemName: itemId, remainCount: 1, waitingQueueEnabled: true });
      await appendEvents(itemId, 30);
      const last = await lastEntryId(itemId);
      // The schedulers of the tests before are stopped; their lease would lapse within 10 s.
      await redis.del(LEASE_KEY);
      const producer = new Kafka({
        clientId: 'events-test',
        brokers: kafka!.brokers.split(','),
        logLevel: logLevel.NOTHING,
      }).producer();
      await producer.connect();
      const logger = createLogger('events-test', 'silent');
      const items = new ItemStore(redis);
      // Relay A's broker answers its first batch only after 2.5 s, longer than the 1 s lease (the broker is real; only
      // the delay is added here, as a stand-in for a broker that is slow after an outage).
      const aBatches: number[] = [];
      const slow = {
        send: async (r: Parameters<Producer['send']>[0]) => {
          aBatches.push(r.messages.length);
          if (aBatches.length === 1) await sleep(2500);
          return producer.send(r);
        },
      } as unknown as Producer;
      const a = new OutboxRelay({
        redis,
        producer: slow,
        items,
        logger,
        topic: 'waiting-queue-events',
        instanceId: 'relay-a',
        batchSize: 10,
        leaseMs: 1000,
      });
      const b = new OutboxRelay({
        redis,
        producer,
        items,
        logger,
        topic: 'waiting-queue-events',
        instanceId: 'relay-b',
        batchSize: 10,
        leaseMs: 1000,
      });
      // Watch the cursor: it must only move forward.
      const seen: string[] = [];
      let watching = true;
      const watch = (async () => {
        while (watching) {
          const c = await redis.get(cursorKey(itemId));
          if (c && seen[seen.length - 1] !== c) seen.push(c);
          await sleep(10);
        }
      })();
      try {
        const roundA = a.relayOnce();
        await sleep(1300); // A's lease has lapsed; A is still waiting for its first batch's ack
        expect(await b.relayOnce()).toBe(30);
        await roundA;
      } finally {
        watching = false;
        await watch;
        await producer.disconnect();
      }
      expect(aBatches).toEqual([10]);
      expect(await redis.get(cursorKey(itemId))).toBe(last);
      const ms = seen.map((id) => id.split('-').map(Number));
      for (let i = 1; i < ms.length; i++)
        expect(ms[i][0] > ms[i - 1][0] || (ms[i][0] === ms[i - 1][0] && ms[i][1] > ms[i - 1][1])).toBe(true);
    },
    60_000,
  );
});
