import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { ItemStore } from '@waiting-queue/core/item-store';
import { keys } from '@waiting-queue/core/keys';
import { connectRedis, type RedisClient } from '@waiting-queue/core/redis';
import { startEmbeddedRedis, type EmbeddedRedis } from '@waiting-queue/testkit/embedded-redis';
import { startService, type ServiceProcess } from './helpers/processes';
import { testRedis } from './helpers/redis';

/**
 * Lifecycle of the real api and scheduler processes: a Redis outage (503 + Retry-After, not ready, recovery by
 * themselves), graceful shutdown under load (SIGTERM: in-flight requests answered, exit 0), and a warm-up that
 * leaves nothing behind in Redis.
 */

/** Every request of these tests gives up after this long: an outage must answer, never hang. */
const CLIENT_TIMEOUT_MS = 5000;
/** Redis persistence that survives a stop: the outage test restarts redis-server on the same port and folder. */
const AOF = ['--appendonly', 'yes', '--appendfsync', 'always'];

type Envelope = { state: string; errorCode: string | null; errorMessage: string | null; data: any };

/** One request with a client-side timeout; the envelope (or `{raw}`), status and headers. */
async function http(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<{ status: number; body: Envelope; headers: Headers }> {
  const headers = { ...(init.headers ?? {}) };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
  });
  const text = await res.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = { raw: text };
  }
  return { status: res.status, body, headers: res.headers };
}

/** Status of `/health/ready`, or 0 when the request fails (refused, timed out). */
async function readyStatus(svc: ServiceProcess): Promise<number> {
  try {
    return (await http(`${svc.url}/health/ready`)).status;
  } catch {
    return 0;
  }
}

/** Polls `check` every 200 ms until it returns true. @throws after `timeoutMs` with `what` in the message. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Resolves with the exit code and signal of `svc` once it has exited. @throws after `timeoutMs`. */
function exitOf(svc: ServiceProcess, timeoutMs: number): Promise<{ code: number | null; signal: string | null }> {
  const { child } = svc;
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${svc.name} did not exit within ${timeoutMs} ms:\n${svc.output()}`)),
      timeoutMs,
    );
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

const register = (api: ServiceProcess, itemId: string, userId: string) =>
  http(`${api.url}/api/v1/item/${itemId}/waiting-queue`, { method: 'POST', headers: { 'user-id': userId } });
const poll = (api: ServiceProcess, itemId: string, userId: string, token: string) =>
  http(`${api.url}/api/v1/item/${itemId}/waiting-queue/${token}`, { headers: { 'user-id': userId } });

describe('Redis outage: 503 while it is down, recovery by themselves when it is back', () => {
  let dir: string;
  let redis: EmbeddedRedis;
  let api: ServiceProcess;
  let scheduler: ServiceProcess;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wq-outage-'));
    redis = await startEmbeddedRedis(AOF, undefined, dir);
    // N = 0: nobody is admitted, so ranks stay put across the outage.
    const env = { REDIS_URL: redis.url, TOKEN_COUNT_TO_MOVE: '0', SHUTDOWN_TIMEOUT_MS: '5000' };
    [scheduler, api] = await Promise.all([startService('scheduler', env), startService('api', env)]);
  });
  afterAll(async () => {
    await Promise.all([api?.stop(), scheduler?.stop()]);
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('requests get 503 SERVICE_UNAVAILABLE with Retry-After, readiness fails, and both recover on the same port', async () => {
    const admin = `${scheduler.url}/internal/admin/v1`;
    const upsert = await http(`${admin}/waiting-item/outage/manually`, {
      method: 'POST',
      body: { itemName: 'outage', remainCount: 100, waitingQueueEnabled: true },
    });
    expect(upsert.status).toBe(200);
    const tokens: string[] = [];
    for (const u of ['u1', 'u2', 'u3']) {
      const r = await register(api, 'outage', u);
      expect(r.status).toBe(200);
      tokens.push(r.body.data.waitingQueueToken);
    }
    expect((await poll(api, 'outage', 'u2', tokens[1])).body.data.waitingQueueRank).toBe(2);

    const port = redis.port;
    await redis.stop();

    // Both notice the lost connection on their own (the socket closes) and stop reporting ready.
    await until(
      'api and scheduler not ready',
      async () => (await readyStatus(api)) === 503 && (await readyStatus(scheduler)) === 503,
      10_000,
    );

    // Every Redis-backed route answers at once with 503, never hangs (http() gives up after CLIENT_TIMEOUT_MS).
    const outage = [
      await register(api, 'outage', 'u4'),
      await poll(api, 'outage', 'u2', tokens[1]),
      await http(`${api.url}/internal/v1/item/outage/waiting-queue/${tokens[0]}`),
      await http(`${api.url}/internal/v1/item/outage/waiting-queue/${tokens[0]}/consume`, { method: 'POST' }),
      await http(`${admin}/waiting-item/outage`),
      await http(`${admin}/waiting-queue/token-count`),
    ];
    for (const r of outage) {
      expect(r.status).toBe(503);
      expect(r.body).toMatchObject({ state: 'FAIL', errorCode: 'SERVICE_UNAVAILABLE' });
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    // Liveness is not readiness: an orchestrator must not restart a process because Redis is away.
    expect((await http(`${api.url}/health/live`)).status).toBe(200);
    expect((await http(`${scheduler.url}/health/live`)).status).toBe(200);

    // Let a few admission ticks fail against the missing Redis: the processes stay up.
    await new Promise((r) => setTimeout(r, 2500));
    expect(api.child.exitCode).toBeNull();
    expect(scheduler.child.exitCode).toBeNull();
    expect((await readyStatus(scheduler)) === 503 && (await readyStatus(api)) === 503).toBe(true);

    redis = await startEmbeddedRedis(AOF, port, dir);
    await until(
      'api and scheduler ready again',
      async () => (await readyStatus(api)) === 200 && (await readyStatus(scheduler)) === 200,
      15_000,
    );

    // The queue survived (AOF) and the same token still polls with the same rank; registration goes on after it.
    const again = await poll(api, 'outage', 'u2', tokens[1]);
    expect(again.status).toBe(200);
    expect(again.body.data).toMatchObject({ waitingQueueToken: tokens[1], waitingQueueRank: 2, canOrder: false });
    const u4 = await register(api, 'outage', 'u4');
    expect(u4.status).toBe(200);
    expect(u4.body.data.waitingQueueRank).toBe(4);
    expect((await http(`${admin}/waiting-item/outage`)).status).toBe(200);
  });
});

describe('a stalled Redis (frozen, the connection left open): 503 after REDIS_COMMAND_TIMEOUT_MS, never a hang', () => {
  const COMMAND_TIMEOUT_MS = 400;
  let redis: EmbeddedRedis;
  let api: ServiceProcess;
  let scheduler: ServiceProcess;

  beforeAll(async () => {
    redis = await startEmbeddedRedis();
    // N = 0: nobody is admitted, so ranks stay put across the stall.
    const env = {
      REDIS_URL: redis.url,
      TOKEN_COUNT_TO_MOVE: '0',
      REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS),
    };
    [scheduler, api] = await Promise.all([startService('scheduler', env), startService('api', env)]);
  });
  afterAll(async () => {
    try {
      process.kill(redis.pid, 'SIGCONT');
    } catch {
      // already gone
    }
    await Promise.all([api?.stop(), scheduler?.stop()]);
    await redis?.stop();
  });

  test('requests answer 503 within about the command timeout while redis-server is stopped (SIGSTOP), and recover after SIGCONT; a registration answered 503 took effect at most once', async () => {
    const admin = `${scheduler.url}/internal/admin/v1`;
    const upsert = await http(`${admin}/waiting-item/stall/manually`, {
      method: 'POST',
      body: { itemName: 'stall', remainCount: 100, waitingQueueEnabled: true },
    });
    expect(upsert.status).toBe(200);
    const tokens: string[] = [];
    for (const u of ['u1', 'u2', 'u3']) {
      const r = await register(api, 'stall', u);
      expect(r.status).toBe(200);
      tokens.push(r.body.data.waitingQueueToken);
    }

    process.kill(redis.pid, 'SIGSTOP');
    try {
      // Past two ticks, so that no poll is answered from the item's snapshot in memory: every one reads Redis.
      await new Promise((r) => setTimeout(r, 2500));
      const timed = async (p: Promise<{ status: number; body: Envelope; headers: Headers }>) => {
        const t0 = Date.now();
        const r = await p;
        return { ...r, ms: Date.now() - t0 };
      };
      const stalled = [
        await timed(register(api, 'stall', 'u4')),
        await timed(poll(api, 'stall', 'u2', tokens[1])),
        await timed(http(`${api.url}/internal/v1/item/stall/waiting-queue/${tokens[0]}`)),
        await timed(http(`${admin}/waiting-item/stall`)),
      ];
      for (const r of stalled) {
        expect(r.status).toBe(503);
        expect(r.body).toMatchObject({ state: 'FAIL', errorCode: 'SERVICE_UNAVAILABLE' });
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
        // The command timeout, not the client's CLIENT_TIMEOUT_MS, ended it.
        expect(r.ms).toBeGreaterThanOrEqual(COMMAND_TIMEOUT_MS - 50);
        expect(r.ms).toBeLessThan(CLIENT_TIMEOUT_MS - 1000);
      }
      expect(api.child.exitCode).toBeNull();
      expect(scheduler.child.exitCode).toBeNull();
    } finally {
      process.kill(redis.pid, 'SIGCONT');
    }

    // Back: the same token polls with the same rank. u4's registration reached Redis before the stall ended and ran
    // after it (its 503 was an ambiguous outcome): registering again answers its one place, rank 4, not a second one.
    await until(
      'the poll answers again',
      async () => (await poll(api, 'stall', 'u2', tokens[1])).status === 200,
      10_000,
    );
    const again = await poll(api, 'stall', 'u2', tokens[1]);
    expect(again.body.data).toMatchObject({ waitingQueueToken: tokens[1], waitingQueueRank: 2, canOrder: false });
    const u4 = await register(api, 'stall', 'u4');
    expect(u4.status).toBe(200);
    expect(u4.body.data.waitingQueueRank).toBe(4);
    const u5 = await register(api, 'stall', 'u5');
    expect(u5.body.data.waitingQueueRank).toBe(5);
    expect((await http(`${admin}/waiting-item/stall`)).status).toBe(200);
  });
});

/** The outcome of one request of the load loops. */
interface Sample {
  /** True when the request was started before SIGTERM was sent. */
  beforeSigterm: boolean;
  /** Register requests only: the user it registered, to look it up in Redis afterwards. */
  userId?: string;
  status?: number;
  state?: string;
  error?: string;
}

/**
 * Runs `loops` concurrent loops of `step` over one keep-alive undici agent until every loop has seen a failure
 * after `stopped()` turned true, or `maxPerLoop` iterations (bounded traffic, loopback only).
 * @param step one iteration: records its requests into `samples`.
 */
async function loadLoops(
  loops: number,
  maxPerLoop: number,
  stopped: () => boolean,
  step: (loop: number, i: number) => Promise<boolean>,
): Promise<void> {
  await Promise.all(
    Array.from({ length: loops }, async (_, loop) => {
      for (let i = 0; i < maxPerLoop; i++) {
        const ok = await step(loop, i);
        if (!ok && stopped()) return;
        if (!ok) await new Promise((r) => setTimeout(r, 10));
      }
    }),
  );
}

/** Sends one request on `agent` and records it; resolves false on a connection error. */
async function sample(
  agent: Agent,
  samples: Sample[],
  beforeSigterm: boolean,
  url: string,
  init: { method?: 'GET' | 'POST'; headers?: Record<string, string> },
  userId?: string,
): Promise<{ ok: boolean; body?: Envelope }> {
  const s: Sample = { beforeSigterm, userId };
  samples.push(s);
  try {
    const res = await request(url, {
      method: init.method ?? 'GET',
      headers: init.headers,
      dispatcher: agent,
      headersTimeout: CLIENT_TIMEOUT_MS,
      bodyTimeout: CLIENT_TIMEOUT_MS,
    });
    const body = (await res.body.json()) as Envelope;
    s.status = res.statusCode;
    s.state = body.state;
    return { ok: true, body };
  } catch (err) {
    const e = err as { code?: string; message: string; cause?: { code?: string } };
    s.error = e.cause?.code ?? e.code ?? e.message;
    return { ok: false };
  }
}

/**
 * Starts a registration whose JSON body is sent in two halves: the server has the request (headers and half the
 * body) in progress until `finish()` sends the rest. Resolves `response` with the raw HTTP response text.
 */
function slowRegister(port: number, itemId: string, userId: string): { finish: () => void; response: Promise<string> } {
  const body = JSON.stringify({ note: 'a body sent slowly' });
  const socket = connect(port, '127.0.0.1');
  socket.setEncoding('utf8');
  socket.write(
    `POST /api/v1/item/${itemId}/waiting-queue HTTP/1.1\r\nHost: 127.0.0.1\r\nuser-id: ${userId}\r\n` +
      `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 5)}`,
  );
  let text = '';
  socket.on('data', (d) => (text += d));
  const response = new Promise<string>((resolve, reject) => {
    socket.on('error', (e) => reject(new Error(`slow request failed: ${e.message}; got ${JSON.stringify(text)}`)));
    socket.on('close', () => resolve(text));
  });
  return { finish: () => socket.write(body.slice(5)), response };
}

/**
 * What a request sent after SIGTERM may meet: the port closed (refused), or a connection the server closed
 * before reading the request (reset, or closed without an answer). Never a timeout.
 */
const CONNECTION_ERRORS = ['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET'];

describe('graceful shutdown and warm-up', () => {
  let env: Awaited<ReturnType<typeof testRedis>>;
  let redis: RedisClient;
  let items: ItemStore;
  const started: ServiceProcess[] = [];

  beforeAll(async () => {
    env = await testRedis();
    redis = await connectRedis({ url: env.url }, 'lifecycle-test');
    items = new ItemStore(redis);
  });
  afterAll(async () => {
    await Promise.all(started.map((s) => s.stop()));
    redis?.disconnect();
    await env?.stop();
  });

  test('warm-up leaves no key and no registered item behind', async () => {
    // Only the api has run against this fresh Redis: any per-item key or registered item is the warm-up's.
    const api = await startService('api', { REDIS_URL: env.url });
    started.push(api);
    expect(api.output()).toContain('warm-up done');
    const all = await env.client.keys('*');
    expect(all.filter((k) => /warm/i.test(k))).toEqual([]);
    expect(all.filter((k) => /^wq:\{/.test(k) && !k.startsWith('wq:{scheduler}'))).toEqual([]);
    expect(await env.client.smembers(keys.itemRegistry)).toEqual([]);
    await api.stop();
  });

  test('SIGTERM on the api under load: every request it took is answered, then it exits 0', async () => {
    await items.upsert('drain', { itemName: 'drain', remainCount: 1_000_000, waitingQueueEnabled: true });
    const api = await startService('api', { REDIS_URL: env.url, SHUTDOWN_TIMEOUT_MS: '10000' });
    started.push(api);
    const agent = new Agent({ connections: 20, keepAliveTimeout: 30_000, pipelining: 1 });
    const samples: Sample[] = [];
    let sigtermSent = false;
    let answered = 0;

    const load = loadLoops(
      20,
      2000,
      () => sigtermSent,
      async (loop, i) => {
        const userId = `l${loop}n${i}`;
        const before = !sigtermSent;
        const reg = await sample(
          agent,
          samples,
          before,
          `${api.url}/api/v1/item/drain/waiting-queue`,
          { method: 'POST', headers: { 'user-id': userId } },
          userId,
        );
        if (!reg.ok) return false;
        answered++;
        const token = reg.body?.data?.waitingQueueToken;
        if (!token) return true;
        const p = await sample(agent, samples, !sigtermSent, `${api.url}/api/v1/item/drain/waiting-queue/${token}`, {
          headers: { 'user-id': userId },
        });
        if (p.ok) answered++;
        return p.ok;
      },
    );

    await until('traffic flowing', async () => answered >= 400, 30_000);
    const slow = slowRegister(api.port, 'drain', 'slowpoke');
    await new Promise((r) => setTimeout(r, 200));
    sigtermSent = true;
    api.child.kill('SIGTERM');
    // Past the drain: the server has stopped listening while the slow request is still in progress.
    await until('port closed', async () => (await readyStatus(api)) === 0, 10_000);
    slow.finish();
    const slowResponse = await slow.response;
    const exit = await exitOf(api, 20_000);
    await load;
    await agent.close();

    expect(exit).toEqual({ code: 0, signal: null });
    // The request in progress across the close was answered in full (then the server closed the connection).
    expect(slowResponse).toMatch(/^HTTP\/1\.1 200 /);
    expect(JSON.parse(slowResponse.slice(slowResponse.indexOf('\r\n\r\n') + 4)).data.waitingQueueToken).toMatch(
      /^slowpoke-drain-/,
    );
    const answeredBefore = samples.filter((s) => s.beforeSigterm && s.status !== undefined);
    expect(answeredBefore.length).toBeGreaterThanOrEqual(400);
    // Every answer is a full envelope: 200 SUCCESS (nothing is refused: the item has stock for all).
    const answers = samples.filter((s) => s.status !== undefined);
    expect(answers.filter((s) => s.status !== 200 || s.state !== 'SUCCESS')).toEqual([]);

    // A register that failed on the wire must not have been processed: a request the server read is answered.
    const failed = samples.filter((s) => s.error !== undefined);
    const failedRegisters = failed.filter((s) => s.userId);
    const processed: Sample[] = [];
    for (const s of failedRegisters)
      if ((await redis.zscore(keys.waiting('drain'), s.userId!)) !== null) processed.push(s);
    expect(processed).toEqual([]);
    // Requests sent before SIGTERM were all answered; later ones may find the connection or the port closed
    // (never a hang: that would be a headers timeout).
    expect(failed.filter((s) => s.beforeSigterm)).toEqual([]);
    expect(failed.filter((s) => !CONNECTION_ERRORS.includes(s.error!))).toEqual([]);
    expect(api.output()).toContain('shut down');
  });

  test('SIGTERM on the scheduler under admin load: answers every request it took, exits 0', async () => {
    await items.upsert('sched', { itemName: 'sched', remainCount: 10, waitingQueueEnabled: true });
    const scheduler = await startService('scheduler', { REDIS_URL: env.url, SHUTDOWN_TIMEOUT_MS: '10000' });
    started.push(scheduler);
    const agent = new Agent({ connections: 10, keepAliveTimeout: 30_000, pipelining: 1 });
    const samples: Sample[] = [];
    let sigtermSent = false;
    const load = loadLoops(
      10,
      2000,
      () => sigtermSent,
      async () => {
        const r = await sample(
          agent,
          samples,
          !sigtermSent,
          `${scheduler.url}/internal/admin/v1/waiting-item/sched`,
          {},
        );
        return r.ok;
      },
    );
    await until('admin traffic flowing', async () => samples.filter((s) => s.status === 200).length >= 200, 30_000);
    sigtermSent = true;
    scheduler.child.kill('SIGTERM');
    const exit = await exitOf(scheduler, 20_000);
    await load;
    await agent.close();

    expect(exit).toEqual({ code: 0, signal: null });
    expect(samples.filter((s) => s.status !== undefined && s.status !== 200)).toEqual([]);
    expect(samples.filter((s) => s.error !== undefined && s.beforeSigterm)).toEqual([]);
    expect(samples.filter((s) => s.error !== undefined && !CONNECTION_ERRORS.includes(s.error))).toEqual([]);
    expect(scheduler.output()).toContain('shut down');
  });
});
