import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { keys } from '@waiting-queue/core/keys';
import { connectRedis, type RedisClient } from '@waiting-queue/core/redis';
import { freePort, startEmbeddedRedis, type EmbeddedRedis } from '@waiting-queue/testkit/embedded-redis';
import { call, startService, type ServiceProcess } from '../helpers/processes';
import {
  ADMIN,
  expectSuccess,
  poll,
  putTokenCountToMove,
  sleep,
  upsertItem,
  waitFor,
} from '../helpers/waiting-room-client';
import { inPool } from './fault-kit';

/**
 * Redis crash and restart during a registration spike: redis-server with `appendonly yes` and `appendfsync always`
 * is kill -9'd while 30 clients register as fast as they can, and started again ~2 s later on the same port from
 * the same AOF. The api (and a scheduler, paused with N = 0 so the queue keeps every registration in place) are
 * not restarted.
 *
 * Proves: while Redis is down the api answers 503 SERVICE_UNAVAILABLE with Retry-After (never a 500, never a hang),
 * it serves again by itself once Redis is back, and every registration that got a 200 is still queued afterwards,
 * at the place (rank) it was given, so in the same order.
 */

const AOF = ['--appendonly', 'yes', '--appendfsync', 'always'];
const ITEM = 'restart';
const CLIENTS = 30;
const OUTAGE_MS = 2000;
/** A client gives up on a request after this long: an outage must be answered, not hang. */
const CLIENT_TIMEOUT_MS = 10_000;

type Phase = 'before' | 'down' | 'after';
interface Outcome {
  userId: string;
  phase: Phase;
  status: number;
  errorCode: string | null;
  retryAfter: string | null;
  rank?: number;
  token?: string;
  error?: string;
}

describe('Redis kill -9 and restart (AOF, appendfsync always) during a registration spike', () => {
  let port: number;
  let dir: string;
  let server: EmbeddedRedis;
  let api: ServiceProcess;
  let scheduler: ServiceProcess;
  let redis: RedisClient | undefined;

  beforeAll(async () => {
    port = await freePort();
    dir = mkdtempSync(join(tmpdir(), 'wq-aof-'));
    server = await startEmbeddedRedis(AOF, port, dir);
    const probe = await connectRedis({ url: server.url }, 'redis-restart-probe');
    expect(await probe.config('GET', 'appendfsync')).toEqual(['appendfsync', 'always']);
    expect(await probe.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    probe.disconnect();
    [api, scheduler] = await Promise.all([
      startService('api', { REDIS_URL: server.url, LOG_LEVEL: 'warn' }, 60_000),
      startService('scheduler', { REDIS_URL: server.url, SCHEDULER_CRON: '* * * * * *' }, 60_000),
    ]);
    expectSuccess(await putTokenCountToMove(scheduler.url, 0));
    expectSuccess(
      await upsertItem(scheduler.url, ITEM, {
        itemName: 'restart',
        remainCount: 1_000_000_000,
        waitingQueueEnabled: true,
      }),
    );
  }, 120_000);

  afterAll(async () => {
    redis?.disconnect();
    await Promise.all([api?.stop(), scheduler?.stop()]);
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  test('503 while down, recovery without restart, every 200 still queued in the same order', async () => {
    const dispatcher = new Agent({ connections: CLIENTS });
    const outcomes: Outcome[] = [];
    let phase: Phase = 'before';
    let stop = false;
    let next = 0;
    const client = async () => {
      while (!stop) {
        const userId = `r${next++}`;
        const at = phase;
        try {
          const res = await fetch(`${api.url}/api/v1/item/${ITEM}/waiting-queue`, {
            method: 'POST',
            headers: { 'user-id': userId },
            dispatcher,
            signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
          } as unknown as RequestInit);
          const body = (await res.json()) as {
            errorCode: string | null;
            data: { waitingQueueRank: number; waitingQueueToken: string } | null;
          };
          outcomes.push({
            userId,
            phase: at === phase ? at : 'down',
            status: res.status,
            errorCode: body.errorCode,
            retryAfter: res.headers.get('retry-after'),
            rank: body.data?.waitingQueueRank,
            token: body.data?.waitingQueueToken,
          });
        } catch (err) {
          outcomes.push({
            userId,
            phase: at,
            status: 0,
            errorCode: null,
            retryAfter: null,
            error: (err as Error).message,
          });
        }
      }
    };
    const oks = (p?: Phase) => outcomes.filter((o) => o.status === 200 && (p === undefined || o.phase === p)).length;
    const clients = Promise.all(Array.from({ length: CLIENTS }, client));

    await waitFor('registrations before the crash', async () => oks('before') >= 1000, 60_000);
    // Crash: kill -9, no chance to flush anything that was not fsynced already.
    phase = 'down';
    const killed = new Promise((r) => server.process.once('exit', r));
    server.process.kill('SIGKILL');
    await killed;
    await sleep(OUTAGE_MS);
    const apiReadyDuringOutage = (await fetch(`${api.url}/health/ready`)).status;
    server = await startEmbeddedRedis(AOF, port, dir);
    phase = 'after';
    await waitFor('registrations after the restart', async () => oks('after') >= 1000, 60_000);
    stop = true;
    await clients;
    await dispatcher.close();

    const byStatus: Record<string, number> = {};
    for (const o of outcomes) {
      const k = `${o.phase} ${o.status}${o.errorCode ? ` ${o.errorCode}` : ''}`;
      byStatus[k] = (byStatus[k] ?? 0) + 1;
    }
    // eslint-disable-next-line no-console
    console.log(`registrations by phase and status: ${JSON.stringify(byStatus)}`);

    // While down: 503 SERVICE_UNAVAILABLE with Retry-After; nothing else but 200s, no 500, no timeout or reset.
    expect(outcomes.filter((o) => o.status === 0)).toEqual([]);
    const failures = outcomes.filter((o) => o.status !== 200);
    expect(failures.length).toBeGreaterThan(0);
    for (const f of failures)
      expect({ status: f.status, errorCode: f.errorCode, retryAfter: f.retryAfter }).toEqual({
        status: 503,
        errorCode: 'SERVICE_UNAVAILABLE',
        retryAfter: '1',
      });
    expect(failures.every((f) => f.phase !== 'before')).toBe(true);
    expect(apiReadyDuringOutage).toBe(503);

    // Recovered without a restart: the same processes serve and are ready again.
    expect(api.child.exitCode).toBeNull();
    expect(scheduler.child.exitCode).toBeNull();
    await waitFor('api ready', async () => (await fetch(`${api.url}/health/ready`)).status === 200, 30_000);
    await waitFor('scheduler ready', async () => (await fetch(`${scheduler.url}/health/ready`)).status === 200, 30_000);
    expect(expectSuccess(await call(`${scheduler.url}${ADMIN}/waiting-queue/token-count-to-move`))).toEqual({
      tokenCountToMove: 0,
    });

    // Every 200 is still queued, at the rank it was given: with N = 0 nobody left the queue, so rank = place number.
    redis = await connectRedis({ url: server.url }, 'redis-restart-test');
    const acked = outcomes.filter((o) => o.status === 200);
    const scores = await redis.zmscore(keys.waiting(ITEM), ...acked.map((o) => o.userId));
    const found = acked.map((o, i) => ({
      userId: o.userId,
      rank: o.rank!,
      seq: scores[i] === null ? null : Number(scores[i]),
    }));
    expect(found.filter((f) => f.seq === null)).toEqual([]);
    expect(found.filter((f) => f.seq !== f.rank)).toEqual([]);
    // Same order: sorted by the rank each got, their places in the queue increase.
    const byRank = [...found].sort((a, b) => a.rank - b.rank);
    expect(new Set(byRank.map((f) => f.rank)).size).toBe(byRank.length);
    expect(byRank.every((x, i) => i === 0 || x.seq! > byRank[i - 1].seq!)).toBe(true);
    // The queue holds only users the clients sent, with consecutive places (no hole, no duplicate).
    const waiting = await redis.zrange(keys.waiting(ITEM), 0, -1, 'WITHSCORES');
    const sent = new Set(outcomes.map((o) => o.userId));
    const places: number[] = [];
    for (let i = 0; i < waiting.length; i += 2) {
      expect(sent.has(waiting[i])).toBe(true);
      places.push(Number(waiting[i + 1]));
    }
    expect(places).toEqual(Array.from({ length: places.length }, (_, i) => i + 1));
    expect(Number(await redis.hget(keys.item(ITEM), 'seq'))).toBe(places.length);
    // eslint-disable-next-line no-console
    console.log(
      `acknowledged ${acked.length}, queued ${places.length} (${places.length - acked.length} answered 503 or cut by the crash but persisted)`,
    );

    // Through the api: each acknowledged token still polls at its rank.
    await inPool(acked, 20, async (o) => {
      const data = expectSuccess(await poll(api.url, ITEM, o.token!, o.userId));
      expect({ userId: o.userId, rank: data.waitingQueueRank }).toEqual({ userId: o.userId, rank: o.rank });
    });
  }, 300_000);
});
