import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, type JSONWebKeySet, type JWK } from 'jose';
import { ItemStore } from '@waiting-queue/core/item-store';
import { QueueStore } from '@waiting-queue/core/queue-store';
import { type RedisClient } from '@waiting-queue/core/redis';
import { freePort } from '@waiting-queue/testkit/embedded-redis';
import { call } from './helpers/processes';
import { sampleValue, scrape } from './helpers/prometheus';
import { useRedis } from './helpers/stack';
import { ADMIN, bearer, poll, register, waitFor } from './helpers/waiting-room-client';

/**
 * "Fail closed outside development mode", on real processes (the built api and scheduler) and a
 * real redis-server: the secrets each process needs are required outside DEV_MODE and named when missing, a blank
 * variable means unset, ports are 1-65535, one start-up error names every invalid variable, api processes started
 * around a FLUSHALL cannot split the fleet, and keys rotate without breaking tokens or entry passes in flight.
 */

const ROOT = join(__dirname, '..');
const INTERNAL_TOKEN = 'fail-closed-internal-token';
const ADMIN_TOKEN = 'fail-closed-admin-token';
const SECRET_1 = 'fail-closed-token-secret-one-0123456789';
const SECRET_2 = 'fail-closed-token-secret-two-0123456789';

/** A product process started by this file, which may refuse to start (the helpers' startService expects it to). */
interface Launched {
  child: ChildProcess;
  output: () => string;
  /** Resolves with 'ready' once the process logs `readyMsg`, or 'exited' with its exit code. */
  outcome: Promise<{ kind: 'ready' } | { kind: 'exited'; code: number | null }>;
  stop: () => Promise<void>;
}

/**
 * Starts `packages/<name>/dist/main.js` with exactly `env` (plus PATH and HOME: nothing of the test's own
 * environment, so that no DEV_MODE or secret leaks in), LOG_LEVEL info and API_WORKERS 1 unless `env` says.
 */
function launch(name: 'api' | 'scheduler', env: Record<string, string>): Launched {
  const child = spawn(process.execPath, [join(ROOT, 'packages', name, 'dist', 'main.js')], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'info', API_WORKERS: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const readyMsg = `"msg":"${name} ready"`;
  const outcome = new Promise<{ kind: 'ready' } | { kind: 'exited'; code: number | null }>((resolve) => {
    const onData = (d: Buffer) => {
      out += d;
      if (out.includes(readyMsg)) resolve({ kind: 'ready' });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => resolve({ kind: 'exited', code }));
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  };
  return { child, output: () => out, outcome, stop };
}

/** Waits (at most 30 s) for the outcome of a launch. */
async function settle(l: Launched): Promise<{ kind: 'ready' } | { kind: 'exited'; code: number | null }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`neither ready nor exited after 30 s:\n${l.output()}`)), 30_000);
  });
  try {
    return await Promise.race([l.outcome, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// js-yaml comes with jest (istanbul's config loader); it reads the compose file as docker compose does, merge keys
// included. The file's own test (metrics.test.ts) reads it as text.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const yaml = require('js-yaml') as { safeLoad(text: string): unknown };

/**
 * The environment docker-compose.yml gives `service` when the shell sets none of its variables (as in CI): each
 * `${VAR:-default}` becomes its default, `${VAR}` blank.
 */
function composeEnvironment(service: string): Record<string, string> {
  const compose = yaml.safeLoad(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as {
    services: Record<string, { environment?: Record<string, unknown> }>;
  };
  const raw = compose.services[service]?.environment ?? {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw))
    out[k] = String(v).replace(/\$\{[A-Z_]+(?::?-([^}]*))?\}/g, (_m, def: string | undefined) => def ?? '');
  return out;
}

/** A fresh EC P-256 key pair as JWKs: the private one for ENTRY_PASS_PRIVATE_JWK, the public one for JWKS lists. */
async function entryPassKey(): Promise<{ privateJwk: string; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { privateJwk: JSON.stringify(await exportJWK(privateKey)), publicJwk: await exportJWK(publicKey) };
}

describe('fail closed outside development mode (real processes)', () => {
  const env = useRedis('fail-closed-test');
  let redis: RedisClient;
  const launched: Launched[] = [];
  const start = (name: 'api' | 'scheduler', vars: Record<string, string>) => {
    const l = launch(name, vars);
    launched.push(l);
    return l;
  };
  /** Starts an api on a free port and requires it to become ready. */
  const readyApi = async (vars: Record<string, string>) => {
    const port = await freePort();
    const l = start('api', { REDIS_URL: env.url, API_HOST: '127.0.0.1', API_PORT: String(port), ...vars });
    expect(await settle(l)).toEqual({ kind: 'ready' });
    return { ...l, url: `http://127.0.0.1:${port}` };
  };

  beforeAll(() => {
    redis = env.redis;
  });

  afterEach(async () => {
    await Promise.all(launched.splice(0).map((l) => l.stop()));
  });

  test('the api refuses to start outside DEV_MODE without INTERNAL_TOKEN, TOKEN_SECRET and ENTRY_PASS_PRIVATE_JWK (blank = unset), naming each in one message', async () => {
    const port = await freePort();
    const l = start('api', {
      REDIS_URL: env.url,
      API_HOST: '127.0.0.1',
      API_PORT: String(port),
      INTERNAL_TOKEN: '  ',
      TOKEN_SECRET: '',
    });
    const result = await settle(l);
    expect(result).toEqual({ kind: 'exited', code: 1 });
    const message = l.output();
    for (const name of ['INTERNAL_TOKEN', 'TOKEN_SECRET', 'ENTRY_PASS_PRIVATE_JWK'])
      expect(message).toContain(`${name}: required unless DEV_MODE=1`);
    // Nothing listened: an anonymous client never reached the internal API.
    await expect(fetch(`http://127.0.0.1:${port}/internal/v1/reservations/1.1`)).rejects.toThrow();
  }, 40_000);

  test('with the secrets set outside DEV_MODE, the api starts and its internal API answers 401 without the bearer', async () => {
    const key = await entryPassKey();
    const api = await readyApi({ INTERNAL_TOKEN, TOKEN_SECRET: SECRET_1, ENTRY_PASS_PRIVATE_JWK: key.privateJwk });
    for (const [method, path] of [
      ['GET', '/internal/v1/reservations/1.1'],
      ['POST', '/internal/v1/reservations/1.1/cancel'],
      ['POST', '/internal/v1/item/x/waiting-queue/u-x-00000000-0000-4000-8000-000000000000/consume'],
    ]) {
      const r = await call(`${api.url}${path}`, { method });
      expect({ path, status: r.status, errorCode: r.body.errorCode }).toEqual({
        path,
        status: 401,
        errorCode: 'UNAUTHORIZED',
      });
    }
  }, 40_000);

  test('blank TOKEN_COUNT_TO_MOVE and MAX_IN_FLIGHT mean unset: the defaults 10 and 1000, not 0 (paused admission, shedding off)', async () => {
    await redis.flushall();
    const adminPort = await freePort();
    const scheduler = start('scheduler', {
      REDIS_URL: env.url,
      ADMIN_HOST: '127.0.0.1',
      ADMIN_PORT: String(adminPort),
      ADMIN_TOKEN,
      TOKEN_COUNT_TO_MOVE: '',
    });
    expect(await settle(scheduler)).toEqual({ kind: 'ready' });
    const n = await call(`http://127.0.0.1:${adminPort}${ADMIN}/waiting-queue/token-count-to-move`, {
      headers: bearer(ADMIN_TOKEN),
    });
    expect(n.body.data).toEqual({ tokenCountToMove: 10 });

    const api = await readyApi({ DEV_MODE: '1', MAX_IN_FLIGHT: ' ' });
    const m = await scrape(api.url);
    expect(sampleValue(m.samples, 'wq_requests_in_flight_limit')).toBe(1000);
  }, 60_000);

  test('ports are 1-65535: a blank API_PORT is the default 8080 (never a random port); 0 and 70000 are refused, and one error names every invalid variable', async () => {
    // Blank: the default port. Another process may hold 8080 on this machine: then the api fails to bind 8080,
    // which still shows that it did not pick a random port.
    const blank = start('api', { REDIS_URL: env.url, DEV_MODE: '1', API_HOST: '127.0.0.1', API_PORT: '' });
    const listening = await waitFor(
      'the api to listen or to fail',
      async () => {
        const out = blank.output();
        return out.includes('"msg":"api listening; warming up"') || blank.child.exitCode !== null ? out : undefined;
      },
      30_000,
    );
    if (listening.includes('"msg":"api listening; warming up"'))
      expect(listening).toMatch(/"port":8080,"msg":"api listening; warming up"/);
    else expect(listening).toMatch(/EADDRINUSE.*8080/);
    await blank.stop();

    const zero = start('api', { REDIS_URL: env.url, DEV_MODE: '1', API_HOST: '127.0.0.1', API_PORT: '0' });
    expect(await settle(zero)).toEqual({ kind: 'exited', code: 1 });
    expect(zero.output()).toContain('API_PORT: Number must be greater than or equal to 1');

    const both = start('api', {
      REDIS_URL: env.url,
      DEV_MODE: '1',
      API_HOST: '127.0.0.1',
      API_PORT: '70000',
      ENTRY_TTL_SECONDS: '0',
    });
    expect(await settle(both)).toEqual({ kind: 'exited', code: 1 });
    expect(both.output()).toContain('API_PORT: Number must be less than or equal to 65535');
    expect(both.output()).toContain('ENTRY_TTL_SECONDS: Number must be greater than or equal to 1');
  }, 90_000);

  test('two api processes started around a FLUSHALL outside DEV_MODE never split the fleet: without the secrets they refuse to start; with them they agree on tokens and JWKS', async () => {
    // Secrets generated into Redis differ per process once Redis lost them: outside DEV_MODE they come from the env.
    await redis.flushall();
    const aPort = await freePort();
    const a = start('api', { REDIS_URL: env.url, API_HOST: '127.0.0.1', API_PORT: String(aPort), INTERNAL_TOKEN });
    const aOutcome = await settle(a);
    await redis.flushall();
    const bPort = await freePort();
    const b = start('api', { REDIS_URL: env.url, API_HOST: '127.0.0.1', API_PORT: String(bPort), INTERNAL_TOKEN });
    const bOutcome = await settle(b);
    if (aOutcome.kind === 'ready' && bOutcome.kind === 'ready') {
      // Both started: then they must agree (they did not: a token of one answered 404 on the other).
      await new ItemStore(redis).upsert('split', { itemName: 'split', remainCount: 10, waitingQueueEnabled: true });
      const token = (await register(`http://127.0.0.1:${aPort}`, 'split', 'alice')).body.data.waitingQueueToken;
      expect((await poll(`http://127.0.0.1:${bPort}`, 'split', token, 'alice')).status).toBe(200);
      const jwks = async (port: number) => (await fetch(`http://127.0.0.1:${port}/.well-known/jwks.json`)).json();
      expect(await jwks(bPort)).toEqual(await jwks(aPort));
    }
    for (const l of [a, b]) {
      expect(l.output()).toContain('TOKEN_SECRET: required unless DEV_MODE=1');
      expect(l.output()).toContain('ENTRY_PASS_PRIVATE_JWK: required unless DEV_MODE=1');
    }
    expect([aOutcome, bOutcome]).toEqual([
      { kind: 'exited', code: 1 },
      { kind: 'exited', code: 1 },
    ]);

    // With the secrets from the environment, a FLUSHALL between two starts changes nothing.
    const key = await entryPassKey();
    const secrets = { INTERNAL_TOKEN, TOKEN_SECRET: SECRET_1, ENTRY_PASS_PRIVATE_JWK: key.privateJwk };
    const first = await readyApi(secrets);
    await redis.flushall();
    const second = await readyApi(secrets);
    await new ItemStore(redis).upsert('split', { itemName: 'split', remainCount: 10, waitingQueueEnabled: true });
    const token = (await register(first.url, 'split', 'bob')).body.data.waitingQueueToken;
    expect((await poll(second.url, 'split', token, 'bob')).status).toBe(200);
    const jwksOf = async (url: string) => (await fetch(`${url}/.well-known/jwks.json`)).json();
    expect(await jwksOf(second.url)).toEqual(await jwksOf(first.url));
  }, 120_000);

  test('docker-compose: with no secret set, the scheduler and the api it defines refuse to start (no open admin or internal API), naming what is missing', async () => {
    const scheduler = composeEnvironment('scheduler');
    const api = composeEnvironment('api');
    expect(scheduler.DEV_MODE).toBe('0');
    expect(api.DEV_MODE).toBe('0');
    // Run them as compose would, on this test's Redis and free loopback ports.
    const adminPort = await freePort();
    const s = start('scheduler', {
      ...scheduler,
      KAFKA_BROKERS: '',
      REDIS_URL: env.url,
      ADMIN_HOST: '127.0.0.1',
      ADMIN_PORT: String(adminPort),
    });
    const a = start('api', { ...api, REDIS_URL: env.url, API_HOST: '127.0.0.1', API_PORT: String(await freePort()) });
    expect(await settle(s)).toEqual({ kind: 'exited', code: 1 });
    expect(s.output()).toContain('ADMIN_TOKEN: required unless DEV_MODE=1');
    expect(await settle(a)).toEqual({ kind: 'exited', code: 1 });
    for (const name of ['INTERNAL_TOKEN', 'TOKEN_SECRET', 'ENTRY_PASS_PRIVATE_JWK'])
      expect(a.output()).toContain(`${name}: required unless DEV_MODE=1`);

    // With the secrets (as `npm run compose:env` writes them), the scheduler starts and its admin API needs the bearer.
    const withToken = start('scheduler', {
      ...scheduler,
      ADMIN_TOKEN,
      KAFKA_BROKERS: '',
      REDIS_URL: env.url,
      ADMIN_HOST: '127.0.0.1',
      ADMIN_PORT: String(adminPort),
    });
    expect(await settle(withToken)).toEqual({ kind: 'ready' });
    expect((await call(`http://127.0.0.1:${adminPort}${ADMIN}/waiting-queue/token-count`)).status).toBe(401);
  }, 90_000);

  test('rotation: TOKEN_SECRET_PREVIOUS keeps tokens of the old secret valid, ENTRY_PASS_PUBLIC_JWKS keeps passes of the old key verifiable', async () => {
    await redis.flushall();
    const items = new ItemStore(redis);
    await items.upsert('rot', { itemName: 'rot', remainCount: 10, waitingQueueEnabled: true });
    const [oldKey, newKey] = await Promise.all([entryPassKey(), entryPassKey()]);
    const before = await readyApi({
      INTERNAL_TOKEN,
      TOKEN_SECRET: SECRET_1,
      ENTRY_PASS_PRIVATE_JWK: oldKey.privateJwk,
    });
    const rotated = await readyApi({
      INTERNAL_TOKEN,
      TOKEN_SECRET: SECRET_2,
      TOKEN_SECRET_PREVIOUS: SECRET_1,
      ENTRY_PASS_PRIVATE_JWK: newKey.privateJwk,
      ENTRY_PASS_PUBLIC_JWKS: JSON.stringify({ keys: [oldKey.publicJwk] }),
    });
    const newOnly = await readyApi({
      INTERNAL_TOKEN,
      TOKEN_SECRET: SECRET_2,
      ENTRY_PASS_PRIVATE_JWK: newKey.privateJwk,
    });

    const token = (await register(before.url, 'rot', 'carol')).body.data.waitingQueueToken;
    await new QueueStore(redis).admit('rot', { tokenCountToMove: 10, admissionTtlMs: 60_000, fence: 1, tickMs: 1000 });
    const oldPass = (await poll(before.url, 'rot', token, 'carol')).body.data.entryPass as string;
    expect(typeof oldPass).toBe('string');

    // The token of the old secret: still valid where the old secret is listed as previous, not elsewhere.
    const polled = await poll(rotated.url, 'rot', token, 'carol');
    expect(polled.status).toBe(200);
    expect(polled.body.data.canOrder).toBe(true);
    expect((await poll(newOnly.url, 'rot', token, 'carol')).status).toBe(404);

    // The rotated api signs with the new key and publishes both: passes of either key verify against its JWKS.
    const jwks = (await (await fetch(`${rotated.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
    expect(jwks.keys).toHaveLength(2);
    const verifyWith = createLocalJWKSet(jwks);
    await expect(jwtVerify(oldPass, verifyWith, { issuer: 'waiting-queue', audience: 'rot' })).resolves.toBeDefined();
    const newPass = polled.body.data.entryPass as string;
    expect(newPass).not.toBe(oldPass);
    await expect(jwtVerify(newPass, verifyWith, { issuer: 'waiting-queue', audience: 'rot' })).resolves.toBeDefined();
    // Without the old public key, the old pass no longer verifies: the list is what keeps it alive.
    const newOnlyJwks = (await (await fetch(`${newOnly.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
    await expect(jwtVerify(oldPass, createLocalJWKSet(newOnlyJwks), { audience: 'rot' })).rejects.toThrow();
  }, 120_000);
});
