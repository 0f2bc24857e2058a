import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '@waiting-queue/testkit/embedded-redis';
import { ItemStore } from '@waiting-queue/core/item-store';
import { keys } from '@waiting-queue/core/keys';
import { QueueStore } from '@waiting-queue/core/queue-store';
import { type RedisClient } from '@waiting-queue/core/redis';
import { launchChromium } from './helpers/browser';
import { call, startService, type ServiceProcess } from './helpers/processes';
import { scrape, sampleValue } from './helpers/prometheus';
import { useStack } from './helpers/stack';
import { ADMIN, expectSuccess, register, sleep, waitFor } from './helpers/waiting-room-client';

/** Preload that shifts a process's Date.now() and `new Date()` by CLOCK_SKEW_MS (a host clock that is off). */
const SKEWED_CLOCK = join(__dirname, 'helpers', 'skewed-clock.js');
const HOUR_MS = 3_600_000;

/**
 * "Time comes from Redis", on real processes and a real redis-server: the admission fence and
 * the run election come from Redis TIME, so a scheduler whose host clock is far off neither freezes the others
 * nor stores its clock; a stuck fence is visible in the overview, counted in /metrics and cleared by an operator.
 */
describe('time comes from Redis', () => {
  const env = useStack({ name: 'time-test', services: [{ name: 'api', env: { LOG_LEVEL: 'warn' } }] });
  let redis: RedisClient;
  let items: ItemStore;
  let queue: QueueStore;
  let api: ServiceProcess | undefined;
  const started: ServiceProcess[] = [];

  const redisNow = async () => {
    const [s, us] = await redis.time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  };
  const startScheduler = async (extra: Record<string, string> = {}) => {
    const s = await startService('scheduler', {
      REDIS_URL: env.url,
      SCHEDULER_CRON: '* * * * * *',
      LOG_LEVEL: 'warn',
      ...extra,
    });
    started.push(s);
    return s;
  };
  const registerAll = async (itemId: string, users: string[]) => {
    for (const u of users) expectSuccess(await register(api!.url, itemId, u));
  };

  beforeAll(() => {
    redis = env.redis;
    items = new ItemStore(redis);
    queue = new QueueStore(redis);
    [api] = env.services;
  });

  afterEach(async () => {
    await Promise.all(started.splice(0).map((s) => s.stop()));
  }, 30_000);

  test('a scheduler whose host clock runs 1 h ahead for 3 s does not freeze admission for the honest one', async () => {
    const itemId = 'skew';
    await items.upsert(itemId, { itemName: itemId, remainCount: 1000, waitingQueueEnabled: true, tokenCountToMove: 2 });
    const honest = await startScheduler();
    await registerAll(itemId, ['a0', 'a1']);
    await waitFor('the honest scheduler admits', async () => (await redis.zcard(keys.admitted(itemId))) === 2);

    // The skewed scheduler runs for 3 s (node-cron fires on its own clock: the same second boundaries, 1 h later).
    const skewed = await startScheduler({ CLOCK_SKEW_MS: String(HOUR_MS), NODE_OPTIONS: `--require ${SKEWED_CLOCK}` });
    await sleep(3000);
    await skewed.stop();
    const fence = Number(await redis.hget(keys.item(itemId), 'fence'));
    expect(fence).toBeLessThanOrEqual((await redisNow()) + 1000);

    // The honest scheduler keeps admitting: 6 more users, N = 2 per tick.
    await registerAll(itemId, ['b0', 'b1', 'b2', 'b3', 'b4', 'b5']);
    await waitFor(
      'the honest scheduler admits after the skewed one ran',
      async () => (await redis.zcard(keys.admitted(itemId))) === 8,
      10_000,
    );
    expect(await redis.zcard(keys.waiting(itemId))).toBe(0);
    expect(honest.output()).not.toMatch(/failed/);
  }, 60_000);

  test('a single scheduler whose host clock steps back 1 h keeps admitting', async () => {
    const itemId = 'step_back';
    await items.upsert(itemId, { itemName: itemId, remainCount: 1000, waitingQueueEnabled: true, tokenCountToMove: 2 });
    const before = await startScheduler();
    await registerAll(itemId, ['c0', 'c1']);
    await waitFor('a first admission', async () => (await redis.zcard(keys.admitted(itemId))) === 2);
    await before.stop();
    // The same scheduler again, after its host clock stepped back by an hour.
    await startScheduler({ CLOCK_SKEW_MS: String(-HOUR_MS), NODE_OPTIONS: `--require ${SKEWED_CLOCK}` });
    await registerAll(itemId, ['d0', 'd1', 'd2', 'd3']);
    await waitFor(
      'admission after the clock stepped back',
      async () => (await redis.zcard(keys.admitted(itemId))) === 6,
      10_000,
    );
  }, 60_000);

  test('a fence ahead of Redis time is refused and not stored; a stuck fence shows, is counted, and an operator clears it', async () => {
    const itemId = 'stuck';
    await items.upsert(itemId, { itemName: itemId, remainCount: 1000, waitingQueueEnabled: true, tokenCountToMove: 1 });
    const now = await redisNow();
    // A caller whose clock is 1 h ahead: refused, and the item's fence does not move.
    expect(
      (await queue.admit(itemId, { tokenCountToMove: 1, admissionTtlMs: 60_000, fence: now + HOUR_MS, tickMs: 1000 }))
        .status,
    ).toBe('FENCE_AHEAD');
    expect(await redis.hget(keys.item(itemId), 'fence')).toBeNull();

    // A fence stored 1 h ahead (by an older version, or before Redis's clock stepped back) freezes the item.
    await redis.hset(keys.item(itemId), 'fence', String(now + HOUR_MS));
    const s = await startScheduler();
    await registerAll(itemId, ['s0', 's1']);
    await waitFor(
      'a refused tick in /metrics',
      async () =>
        (sampleValue((await scrape(s.url)).samples, 'wq_admission_ticks_refused_total', { reason: 'stuck_fence' }) ??
          0) > 0,
    );
    expect(await redis.zcard(keys.admitted(itemId))).toBe(0);
    const overview = expectSuccess(await call(`${s.url}${ADMIN}/overview`));
    const row = overview.items.find((i: { itemId: string }) => i.itemId === itemId);
    expect(row).toMatchObject({ fence: now + HOUR_MS, fenceStuck: true });
    expect(Math.abs(overview.redisTime - (await redisNow()))).toBeLessThan(2000);
    expect(s.output()).toMatch(/fence ahead of Redis time/);

    const cleared = expectSuccess(
      await call(`${s.url}${ADMIN}/waiting-item/${itemId}/fence/clear`, { method: 'POST' }),
    );
    expect(cleared).toMatchObject({ itemId, cleared: true, previousFence: now + HOUR_MS });
    expect(cleared.fence).toBeLessThanOrEqual(cleared.redisNow + 1000);
    await waitFor('admission resumes', async () => (await redis.zcard(keys.admitted(itemId))) === 2, 10_000);
    // A retried clear changes nothing; an unknown item is 404.
    expect(
      expectSuccess(await call(`${s.url}${ADMIN}/waiting-item/${itemId}/fence/clear`, { method: 'POST' })),
    ).toMatchObject({ cleared: false });
    expect((await call(`${s.url}${ADMIN}/waiting-item/nope/fence/clear`, { method: 'POST' })).status).toBe(404);
    const after = expectSuccess(await call(`${s.url}${ADMIN}/overview`)).items.find(
      (i: { itemId: string }) => i.itemId === itemId,
    );
    expect(after.fenceStuck).toBe(false);
  }, 60_000);

  test('the api warms up through the address it bound: with API_HOST=127.0.0.2 it becomes ready', async () => {
    // Linux routes all of 127/8 to lo, so 127.0.0.2 is a second local address that 127.0.0.1 does not serve.
    await items.upsert('warm', { itemName: 'warm', remainCount: 10, waitingQueueEnabled: true });
    const port = await freePort();
    const child = spawn(process.execPath, [join(__dirname, '..', 'packages', 'api', 'dist', 'main.js')], {
      env: {
        ...process.env,
        DEV_MODE: '1',
        REDIS_URL: env.url,
        API_HOST: '127.0.0.2',
        API_PORT: String(port),
        API_WORKERS: '1',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    try {
      const ready = await waitFor(
        'the api on 127.0.0.2 to be ready (or to exit)',
        async () => {
          if (child.exitCode !== null) return `exited ${child.exitCode}`;
          const res = await fetch(`http://127.0.0.2:${port}/health/ready`).catch(() => null);
          return res?.status === 200 ? 'ready' : undefined;
        },
        30_000,
      );
      expect({ ready, out: ready === 'ready' ? '' : out.slice(-2000) }).toEqual({ ready: 'ready', out: '' });
      expect(out).toMatch(/warm-up done/);
      expectSuccess(await register(`http://127.0.0.2:${port}`, 'warm', 'via_127_0_0_2'));
    } finally {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
    }
  }, 60_000);

  test('the console warns of a stuck fence and its Clear fence button clears it (chromium)', async () => {
    const itemId = 'console_stuck';
    await items.upsert(itemId, { itemName: itemId, remainCount: 1000, waitingQueueEnabled: true, tokenCountToMove: 1 });
    await redis.hset(keys.item(itemId), 'fence', String((await redisNow()) + HOUR_MS));
    const s = await startScheduler(); // DEV_MODE: the console needs no token
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${s.url}/admin`);
      const warning = page.locator('#fence-warnings li', { hasText: itemId });
      await warning.waitFor({ timeout: 10_000 });
      expect(await warning.textContent()).toMatch(/ahead of Redis time/);
      await warning.getByRole('button', { name: `Clear the fence of item ${itemId}` }).click();
      await warning.waitFor({ state: 'detached', timeout: 10_000 });
      expect(Number(await redis.hget(keys.item(itemId), 'fence'))).toBeLessThanOrEqual((await redisNow()) + 1000);
    } finally {
      await browser.close();
    }
  }, 60_000);
  test('an api whose host clock runs 1 h ahead still answers Retry-After of a time deal and expiresInSeconds from Redis time', async () => {
    const skewed = await startService('api', {
      REDIS_URL: env.url,
      LOG_LEVEL: 'warn',
      CLOCK_SKEW_MS: String(HOUR_MS),
      NODE_OPTIONS: `--require ${SKEWED_CLOCK}`,
    });
    started.push(skewed);
    const opensAt = (await redisNow()) + 120_000;
    await items.upsert('deal_later', {
      itemName: 'deal',
      remainCount: 5,
      waitingQueueEnabled: true,
      type: 'TIME_DEAL',
      startAt: opensAt,
    });
    await items.upsert('claim_later', {
      itemName: 'claim',
      remainCount: 5,
      waitingQueueEnabled: true,
      type: 'TIME_DEAL',
      startAt: opensAt,
      queueMode: 'DIRECT',
    });
    // A host clock 1 h ahead would make both 1 s (the floor): the deal opens in about 120 s of Redis time.
    const reg = await call(`${skewed.url}/api/v1/item/deal_later/waiting-queue`, {
      method: 'POST',
      headers: { 'user-id': 'early' },
    });
    expect(reg.status).toBe(409);
    expect(Number(reg.headers.get('retry-after'))).toBeGreaterThanOrEqual(100);
    expect(Number(reg.headers.get('retry-after'))).toBeLessThanOrEqual(120);
    const claim = await call(`${skewed.url}/api/v1/item/claim_later/claims`, {
      method: 'POST',
      headers: { 'user-id': 'early' },
    });
    expect(claim.status).toBe(409);
    expect(Number(claim.headers.get('retry-after'))).toBeGreaterThanOrEqual(100);

    // An admitted token: its admission lasts ENTRY_TTL_SECONDS (300 s) of Redis time, not 0 s of a clock 1 h ahead.
    await items.upsert('now_open', { itemName: 'open', remainCount: 5, waitingQueueEnabled: true });
    const token = expectSuccess(await register(skewed.url, 'now_open', 'shopper')).waitingQueueToken;
    await startScheduler();
    const v = await waitFor(
      'the shopper admitted',
      async () => {
        const r = await call(`${skewed.url}/internal/v1/item/now_open/waiting-queue/${token}`);
        return r.status === 200 && r.body.data.admitted ? r.body.data : undefined;
      },
      15_000,
    );
    expect(v.expiresInSeconds).toBeGreaterThan(250);
    expect(v.expiresInSeconds).toBeLessThanOrEqual(300);
  }, 60_000);
});
