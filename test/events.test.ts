import { Pool } from 'pg';
import { ItemStore, connectRedis, keys, type RedisClient } from '@waiting-queue/shared';
import { startService, type ServiceProcess } from './helpers/processes';
import { testRedis } from './helpers/redis';
import { expectSuccess, register, waitFor } from './helpers/waiting-room-client';
import { LEDGER_SCHEMA, recordEvent } from '../packages/scheduler/src/ledger';
import { createTestDatabase, type TestDatabase } from './helpers/postgres';

/**
 * Issue 11 section 6, "No event is dropped without a trace", on real processes, a real redis-server, the
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

  const status = async (id: string) => (await pool.query('SELECT status FROM reservations WHERE reservation_id = $1', [id])).rows[0]?.status;
  const event = (n: number, type: string, reservationId: string, at: number) => ({
    id: `o1:${n}@${at}-${n}`,
    type,
    itemId: 'o1',
    at,
    payload: { reservationId, userId: 'u1', quantity: 1 },
  });

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
    await new ItemStore(redis).upsert('lp', { itemName: 'lp', remainCount: 100, waitingQueueEnabled: true, tokenCountToMove: 0 });
    procs.push(await startService('api', { REDIS_URL: env.url, LOG_LEVEL: 'warn', ABANDON_AFTER_SECONDS: '2' }));
    procs.push(await startService('scheduler', { REDIS_URL: env.url, LOG_LEVEL: 'warn', SCHEDULER_CRON: '* * * * * *' }));
    for (let i = 0; i < 5; i++) expectSuccess(await register(procs[0].url, 'lp', `silent${i}`));
    expect(await redis.zcard(keys.lastPoll('lp'))).toBe(5);
    // Silent for 2 s: the next ticks drop them and forget their last polls.
    await waitFor('the last-poll set to be emptied', async () => (await redis.zcard(keys.lastPoll('lp'))) === 0, 10_000);
    expect(await redis.zcard(keys.waiting('lp'))).toBe(0);
    expect(await redis.get(keys.abandonAfterMs)).toBe('2000');
  }, 60_000);
});
