import { createServer, request, type Server } from 'node:http';
import { ItemStore } from '@waiting-queue/core/item-store';
import { freePort } from '@waiting-queue/testkit/embedded-redis';
import { startService, type ServiceProcess } from '@waiting-queue/testkit/stack';
import { testServiceEnv } from './helpers/processes';
import { sampleValue, scrape } from './helpers/prometheus';
import { useRedis } from './helpers/stack';
import { waitFor } from './helpers/waiting-room-client';

/**
 * API_WORKERS > 1: the api as node:cluster workers on one port, on a real redis-server. Both workers answer on the
 * one port, any worker's /metrics answers for both, a worker killed with SIGKILL is replaced, SIGTERM stops all with
 * exit 0, an invalid configuration stops the primary before any worker is forked, and a worker that cannot start
 * fails the whole start.
 */

jest.setTimeout(120_000);

/** POST on a fresh connection (no keep-alive), so that the cluster's round-robin hands it to the next worker. */
function registerOnNewConnection(port: number, itemId: string, userId: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: `/api/v1/item/${itemId}/waiting-queue`,
        headers: { 'user-id': userId },
        agent: false,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The JSON log lines of `output`. */
function logLines(output: string): Array<Record<string, unknown>> {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Pids of the workers the primary reported ready, in order. */
function readyWorkers(output: string): number[] {
  return logLines(output)
    .filter((l) => l.msg === 'api worker ready')
    .map((l) => l.workerPid as number);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('API_WORKERS=2 (node:cluster)', () => {
  const env = useRedis('api-workers-test');
  let api: ServiceProcess | undefined;

  afterEach(async () => {
    await api?.stop();
    api = undefined;
  });

  test('both workers answer on one port, /metrics answers for both, a killed worker is replaced, SIGTERM stops all with exit 0', async () => {
    await new ItemStore(env.redis).upsert('w', { itemName: 'w', remainCount: 100, waitingQueueEnabled: true });
    api = await startService({
      name: 'api',
      workers: 2,
      env: testServiceEnv({ REDIS_URL: env.url, LOG_REQUESTS: '1' }),
    });
    const proc = api;
    const [first, second] = await waitFor(
      'both workers ready',
      async () => (readyWorkers(proc.output()).length >= 2 ? readyWorkers(proc.output()) : undefined),
      60_000,
    );
    expect(first).not.toBe(second);
    expect([first, second]).not.toContain(proc.pid);

    // Both have warmed up (their own warm-up requests are logged): only the lines from here on are real requests.
    const before = proc.output().length;
    for (let i = 0; i < 20; i++) expect(await registerOnNewConnection(proc.port, 'w', `user${i}`)).toBe(200);
    await new Promise((r) => setTimeout(r, 200));
    const registeredBy = new Set(
      logLines(proc.output().slice(before))
        .filter((l) => l.msg === 'request' && l.route === '/api/v1/item/:itemId/waiting-queue' && l.status === 200)
        .map((l) => l.pid),
    );
    expect(registeredBy).toEqual(new Set([first, second]));

    // Either worker's scrape counts the registrations of both (warm-up is forgotten by each worker when done).
    for (let i = 0; i < 4; i++) {
      const m = await scrape(proc.url);
      expect(sampleValue(m.samples, 'wq_registrations_total', { result: 'ok' })).toBe(20);
      expect(sampleValue(m.samples, 'wq_api_workers')).toBe(2);
      expect(sampleValue(m.samples, 'wq_requests_in_flight_limit')).toBe(1000);
    }

    process.kill(first, 'SIGKILL');
    const replacement = await waitFor(
      'a replacement worker ready',
      async () => readyWorkers(proc.output()).find((pid) => pid !== first && pid !== second),
      60_000,
    );
    expect(proc.output()).toContain('"msg":"api worker exited unexpectedly: replacing it"');
    expect((await scrape(proc.url)).samples.find((s) => s.name === 'wq_api_worker_restarts_total')?.value).toBe(1);
    expect(await registerOnNewConnection(proc.port, 'w', 'afterrestart')).toBe(200);

    await proc.stop(30_000);
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    expect(proc.output()).toContain('"code":0,"msg":"api workers stopped"');
    for (const pid of [second, replacement]) expect(alive(pid)).toBe(false);
  });

  test('an invalid configuration stops the primary before any worker is forked, naming the variable', async () => {
    const err = await startService({
      name: 'api',
      workers: 2,
      env: testServiceEnv({ REDIS_URL: env.url, ENTRY_TTL_SECONDS: '0' }),
      readyTimeoutMs: 30_000,
    }).then(
      () => 'started',
      (e: Error) => e.message,
    );
    expect(err).toContain('ENTRY_TTL_SECONDS: Number must be greater than or equal to 1');
    expect(err).not.toContain('api starting as node:cluster workers');

    const zero = await startService({
      name: 'api',
      env: testServiceEnv({ REDIS_URL: env.url, API_WORKERS: '0' }),
      readyTimeoutMs: 30_000,
    }).then(
      () => 'started',
      (e: Error) => e.message,
    );
    expect(zero).toContain('API_WORKERS: Number must be greater than or equal to 1');
  });

  test('a worker that cannot start (the port is taken) fails the start: the primary exits 1', async () => {
    const port = await freePort();
    // Something else answers on the port (503, so that waiting for readiness goes on until the api exits).
    const taken: Server = createServer((_req, res) => {
      res.statusCode = 503;
      res.end();
    });
    await new Promise<void>((r) => taken.listen(port, '127.0.0.1', r));
    try {
      const err = await startService({
        name: 'api',
        port,
        workers: 2,
        env: testServiceEnv({ REDIS_URL: env.url, API_HOST: '127.0.0.1' }),
        readyTimeoutMs: 30_000,
      }).then(
        () => 'started',
        (e: Error) => e.message,
      );
      expect(err).toContain('EADDRINUSE');
      expect(err).toContain('an api worker failed to start: stopping');
      expect(err).toMatch(/the api exited \(1\)/);
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });
});
