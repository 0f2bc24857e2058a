#!/usr/bin/env node
/**
 * `npm run simulate`: the store simulation of the original asyncio model, driven through the real stack.
 *
 * A throw-away stack is started (redis-server, api, scheduler; or pass --base-url and --admin-url of a running
 * one). One item starts with 20 in stock; 10-100 customers arrive at random over 0-5 s; every 1-3 s a restock of
 * 10-30 arrives; each customer registers, waits to be admitted, reserves 1 and confirms. Events are printed as
 * they happen, then the statistics. It checks that success == initial + restocked - final (every unit sold was
 * stocked, none twice) and exits non-zero if not.
 *
 * Options: --customers N, --vip-ratio R (share of customers in the `vip` lane), --abandon-ratio R (share who
 * stop polling, dropped by the abandonment policy), --max-waiting N (queue capacity), --seed S (reproducible
 * arrivals, restocks and choices), --json (one JSON line at the end), --quiet (no event lines).
 */
const { spawn } = require('node:child_process');
const path = require('node:path');
const { freePort, startEmbeddedRedis } = require('@waiting-queue/shared');

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const flag = (name) => args.includes(`--${name}`);
const SEED = Number(opt('seed', Date.now() % 1_000_000));
const JSON_OUT = flag('json');
const QUIET = flag('quiet');
const INITIAL_STOCK = 20;
const ITEM = 'sim';
const ROOT = path.join(__dirname, '..');

/** mulberry32: a small seeded PRNG, so a --seed run is reproducible. */
function prng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = prng(SEED);
const between = (lo, hi) => lo + rand() * (hi - lo);
const intBetween = (lo, hi) => Math.floor(between(lo, hi + 1));

const CUSTOMERS = Number(opt('customers', intBetween(10, 100)));
const VIP_RATIO = Number(opt('vip-ratio', 0));
const ABANDON_RATIO = Number(opt('abandon-ratio', 0));
const MAX_WAITING = opt('max-waiting', undefined);
const ABANDON_AFTER_SECONDS = 2;

const t0 = Date.now();
const stamp = () => ((Date.now() - t0) / 1000).toFixed(2).padStart(6);
const event = (msg) => {
  if (!QUIET) process.stdout.write(`[${stamp()}s] ${msg}\n`);
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function call(base, method, p, { headers = {}, body } = {}) {
  const res = await fetch(`${base}${p}`, {
    method,
    headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json().catch(() => null);
  return { status: res.status, body: json };
}

async function startStack() {
  const redis = await startEmbeddedRedis();
  const apiPort = await freePort();
  const adminPort = await freePort();
  const env = {
    ...process.env,
    REDIS_URL: redis.url,
    API_PORT: String(apiPort),
    ADMIN_PORT: String(adminPort),
    DEV_MODE: '1',
    LOG_LEVEL: 'warn',
    TOKEN_COUNT_TO_MOVE: '5',
    ...(ABANDON_RATIO > 0 ? { ABANDON_AFTER_SECONDS: String(ABANDON_AFTER_SECONDS) } : {}),
  };
  const procs = ['scheduler', 'api'].map((name) =>
    spawn(process.execPath, [path.join(ROOT, 'packages', name, 'dist', 'main.js')], { env, stdio: ['ignore', 'ignore', 'inherit'] }),
  );
  const base = `http://127.0.0.1:${apiPort}`;
  const admin = `http://127.0.0.1:${adminPort}`;
  for (const url of [`${base}/health/ready`, `${admin}/health/ready`]) {
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        if ((await fetch(url)).ok) break;
      } catch {
        /* starting */
      }
      if (Date.now() > deadline) throw new Error(`${url} not ready`);
      await sleep(100);
    }
  }
  return {
    base,
    admin,
    stop: async () => {
      await Promise.all(
        procs.map(
          (p) =>
            new Promise((resolve) => {
              if (p.exitCode !== null) return resolve();
              p.once('exit', resolve);
              p.kill('SIGTERM');
            }),
        ),
      );
      await redis.stop();
    },
  };
}

async function main() {
  const external = opt('base-url', undefined);
  const stack = external ? { base: external, admin: opt('admin-url', 'http://127.0.0.1:8081'), stop: async () => undefined } : await startStack();
  const run = `s${SEED}_${Date.now().toString(36)}`;
  const item = `${ITEM}_${run}`.slice(0, 64);
  const itemBody = {
    itemName: 'Simulated item',
    remainCount: INITIAL_STOCK,
    waitingQueueEnabled: true,
    ...(VIP_RATIO > 0 ? { lanes: ['vip', 'regular'] } : {}),
    ...(MAX_WAITING ? { maxWaiting: Number(MAX_WAITING) } : {}),
  };
  const up = await call(stack.admin, 'POST', `/internal/admin/v1/waiting-item/${item}/manually`, { body: itemBody });
  if (up.status !== 200) throw new Error(`cannot create the item: ${JSON.stringify(up.body)}`);
  event(`item ${item}: stock ${INITIAL_STOCK}; ${CUSTOMERS} customers (seed ${SEED}, vip ${VIP_RATIO}, abandon ${ABANDON_RATIO}${MAX_WAITING ? `, max waiting ${MAX_WAITING}` : ''})`);

  const stats = { success: 0, failed: 0, abandoned: 0, refused: 0, restocked: 0, restocks: 0, waits: [] };
  const reasons = {};
  const fail = (i, why) => {
    stats.failed++;
    reasons[why] = (reasons[why] ?? 0) + 1;
    event(`customer ${i} failed: ${why}`);
  };

  const customer = async (i, arriveMs, tier, abandons) => {
    await sleep(arriveMs);
    const userId = `c${i}_${run}`.slice(0, 64);
    const headers = { 'user-id': userId, ...(tier ? { 'user-tier': tier } : {}) };
    const reg = await call(stack.base, 'POST', `/api/v1/item/${item}/waiting-queue`, { headers });
    if (reg.status !== 200) {
      stats.refused++;
      return fail(i, `registration ${reg.status} ${reg.body?.errorCode}`);
    }
    const registeredAt = Date.now();
    let view = reg.body.data;
    event(`customer ${i}${tier ? ` (${tier})` : ''} registered, rank ${view.waitingQueueRank}`);
    if (abandons) {
      stats.abandoned++;
      event(`customer ${i} walks away from the queue`);
      return fail(i, 'abandoned');
    }
    const deadline = Date.now() + 90_000;
    while (!view.canOrder) {
      if (Date.now() > deadline) return fail(i, 'never admitted');
      await sleep(Math.max(200, Math.min(view.pollAfterMs || 1000, 2000)));
      const p = await call(stack.base, 'GET', `/api/v1/item/${item}/waiting-queue/${view.waitingQueueToken}`, { headers });
      if (p.status !== 200) return fail(i, `poll ${p.status} ${p.body?.errorCode}`);
      view = p.body.data;
    }
    stats.waits.push(Date.now() - registeredAt);
    event(`customer ${i} admitted after ${((Date.now() - registeredAt) / 1000).toFixed(1)} s`);
    const res = await call(stack.base, 'POST', `/internal/v1/item/${item}/reservations`, { body: { waitingQueueToken: view.waitingQueueToken, userId, quantity: 1 } });
    if (res.status !== 200) return fail(i, `reservation ${res.status} ${res.body?.errorCode}`);
    const conf = await call(stack.base, 'POST', `/internal/v1/reservations/${encodeURIComponent(res.body.data.reservationId)}/confirm`);
    if (conf.status !== 200) return fail(i, `confirm ${conf.status} ${conf.body?.errorCode}`);
    stats.success++;
    event(`customer ${i} bought 1 (stock now ${res.body.data.remainCount ?? '?'})`);
  };

  const plan = Array.from({ length: CUSTOMERS }, (_, i) => ({
    arriveMs: between(0, 5000),
    tier: VIP_RATIO > 0 ? (rand() < VIP_RATIO ? 'vip' : 'regular') : undefined,
    abandons: rand() < ABANDON_RATIO,
  }));
  // The restock schedule is drawn up front (a restock of 10-30 every 1-3 s), so that a seed fixes it whatever the
  // run's timing; the run uses as many of them as it lasts.
  const restockPlan = Array.from({ length: 200 }, () => ({ afterMs: between(1000, 3000), qty: intBetween(10, 30) }));
  let done = false;
  const restocker = (async () => {
    for (const { afterMs, qty } of restockPlan) {
      await sleep(afterMs);
      if (done) break;
      const r = await call(stack.admin, 'POST', `/internal/admin/v1/waiting-item/${item}/restock`, { body: { quantity: qty } });
      if (r.status === 200) {
        stats.restocked += qty;
        stats.restocks++;
        event(`restock +${qty} (stock ${r.body.data.remainCount})`);
      } else {
        event(`restock failed: ${r.status} ${r.body?.errorCode}`);
      }
    }
  })();
  await Promise.all(plan.map((p, i) => customer(i, p.arriveMs, p.tier, p.abandons)));
  done = true;
  await restocker;
  const final = (await call(stack.admin, 'GET', `/internal/admin/v1/waiting-item/${item}`)).body.data.remainCount;
  await stack.stop();

  const waits = [...stats.waits].sort((a, b) => a - b);
  const p95 = waits.length ? waits[Math.min(waits.length - 1, Math.ceil(0.95 * waits.length) - 1)] : 0;
  const mean = waits.length ? waits.reduce((s, w) => s + w, 0) / waits.length : 0;
  const balanced = stats.success === INITIAL_STOCK + stats.restocked - final;
  const summary = {
    seed: SEED,
    /** SHA-1 of the arrival plan (times, lanes, walk-aways) and restock sizes: equal for equal seeds. */
    planHash: require('node:crypto').createHash('sha1').update(JSON.stringify({ plan, restockPlan })).digest('hex'),
    customers: CUSTOMERS,
    success: stats.success,
    failed: stats.failed,
    failures: reasons,
    restockedTotal: stats.restocked,
    restocks: stats.restocks,
    initialStock: INITIAL_STOCK,
    finalStock: final,
    meanWaitMs: Math.round(mean),
    p95WaitMs: p95,
    balanced,
  };
  if (!JSON_OUT || !QUIET) {
    console.log('\n--- simulation ---');
    console.log(`customers       ${summary.customers}`);
    console.log(`success         ${summary.success}`);
    console.log(`failed          ${summary.failed}${stats.failed ? ` ${JSON.stringify(reasons)}` : ''}`);
    console.log(`restocked total ${summary.restockedTotal} in ${summary.restocks} restocks`);
    console.log(`final stock     ${summary.finalStock}`);
    console.log(`wait            mean ${(mean / 1000).toFixed(2)} s, p95 ${(p95 / 1000).toFixed(2)} s`);
    console.log(`check           success ${summary.success} == ${INITIAL_STOCK} + ${summary.restockedTotal} - ${final}: ${balanced ? 'ok' : 'FAILED'}`);
  }
  if (JSON_OUT) console.log(JSON.stringify(summary));
  process.exit(balanced ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(2);
});
