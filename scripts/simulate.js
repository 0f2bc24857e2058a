#!/usr/bin/env node
// @ts-check
/**
 * `npm run simulate`: a store simulation (arrivals, restocks, reservations), driven through the real stack.
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
 *
 * Bearer tokens: admin calls carry `Authorization: Bearer $ADMIN_TOKEN`, order-service calls (/internal/v1) carry
 * `$INTERNAL_TOKEN`, each when set (blank = unset); --admin-token / --internal-token override them (but show in
 * `ps`: prefer the environment). Its own throw-away stack runs secured, as in production: DEV_MODE off, with these
 * tokens, or random ones when unset.
 *
 * Its own stack is stopped on every exit path: the end of the run, a thrown error, a failed check, SIGINT and
 * SIGTERM (children by pid: SIGTERM, then SIGKILL after 10 s); a last synchronous SIGKILL on process exit covers
 * anything still running.
 *
 * Exit codes: 0 the stock balances; 1 it does not; 2 an error (bad argument, refused call, stack not ready);
 * 130 / 143 stopped by SIGINT / SIGTERM.
 */
const { createHash, generateKeyPairSync, randomBytes } = require('node:crypto');
const { parseArgs } = require('node:util');
const { adminRoutes, apiRoutes } = require('@waiting-queue/http/route-tables');
const { pathOf } = require('@waiting-queue/http/routes');
const { startStack } = require('@waiting-queue/testkit/stack');

const USAGE = `usage: node scripts/simulate.js [--customers N] [--vip-ratio R] [--abandon-ratio R] [--max-waiting N]
  [--seed S] [--json] [--quiet] [--base-url URL --admin-url URL] [--admin-token T] [--internal-token T]`;

/**
 * Parses argv; blank environment variables count as unset.
 * @param {string[]} argv
 * @param {NodeJS.ProcessEnv} env
 * @throws Error with the usage on a bad argument.
 */
function options(argv, env) {
  const { values } = parseArgs({
    args: argv,
    options: {
      customers: { type: 'string' },
      'vip-ratio': { type: 'string', default: '0' },
      'abandon-ratio': { type: 'string', default: '0' },
      'max-waiting': { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      'base-url': { type: 'string' },
      'admin-url': { type: 'string' },
      'admin-token': { type: 'string' },
      'internal-token': { type: 'string' },
    },
  });
  /** @param {'customers' | 'vip-ratio' | 'abandon-ratio' | 'max-waiting' | 'seed'} name */
  const num = (name) => {
    const raw = values[name];
    if (raw === undefined) return undefined;
    const v = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(v)) throw new Error(`--${name} must be a number\n${USAGE}`);
    return v;
  };
  /** @param {'vip-ratio' | 'abandon-ratio'} name (both have a default) */
  const ratio = (name) => {
    const v = /** @type {number} */ (num(name));
    if (v < 0 || v > 1) throw new Error(`--${name} must be between 0 and 1\n${USAGE}`);
    return v;
  };
  /** @param {'admin-token' | 'internal-token'} flag @param {string} name */
  const secret = (flag, name) => {
    const v = values[flag] ?? env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  return {
    customers: num('customers'),
    vipRatio: ratio('vip-ratio'),
    abandonRatio: ratio('abandon-ratio'),
    // The range of the queue cap is the admin API's to check (it refuses the item), not repeated here.
    maxWaiting: num('max-waiting'),
    seed: num('seed') ?? Date.now() % 1_000_000,
    json: values.json,
    quiet: values.quiet,
    baseUrl: values['base-url']?.replace(/\/$/, ''),
    adminUrl: (values['admin-url'] ?? 'http://127.0.0.1:8081').replace(/\/$/, ''),
    adminToken: secret('admin-token', 'ADMIN_TOKEN'),
    internalToken: secret('internal-token', 'INTERNAL_TOKEN'),
  };
}

/** @type {ReturnType<typeof options>} */
let O;
try {
  O = options(process.argv.slice(2), process.env);
} catch (err) {
  const { message } = /** @type {Error} */ (err);
  console.error(message.includes('usage:') ? message : `${message}\n${USAGE}`);
  process.exit(2);
}
const SEED = O.seed;
const JSON_OUT = O.json;
const QUIET = O.quiet;
const INITIAL_STOCK = 20;
const ITEM = 'sim';

/**
 * mulberry32: a small seeded PRNG, so a --seed run is reproducible.
 * @param {number} seed
 * @returns {() => number} uniform in [0, 1)
 */
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
const between = (/** @type {number} */ lo, /** @type {number} */ hi) => lo + rand() * (hi - lo);
const intBetween = (/** @type {number} */ lo, /** @type {number} */ hi) => Math.floor(between(lo, hi + 1));

const CUSTOMERS = O.customers ?? intBetween(10, 100);
const VIP_RATIO = O.vipRatio;
const ABANDON_RATIO = O.abandonRatio;
const MAX_WAITING = O.maxWaiting;
const ABANDON_AFTER_SECONDS = 2;

const t0 = Date.now();
const stamp = () => ((Date.now() - t0) / 1000).toFixed(2).padStart(6);
const event = (/** @type {string} */ msg) => {
  if (!QUIET) process.stdout.write(`[${stamp()}s] ${msg}\n`);
};
const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

/** @type {Record<string, string>} */
const adminAuth = O.adminToken ? { authorization: `Bearer ${O.adminToken}` } : {};
/** @type {Record<string, string>} */
const internalAuth = O.internalToken ? { authorization: `Bearer ${O.internalToken}` } : {};

/** How long one HTTP call may take, ms: a call that hangs fails the customer rather than the whole run. */
const CALL_TIMEOUT_MS = 15_000;

/**
 * One HTTP call; never throws for an HTTP status. A call with no answer within {@link CALL_TIMEOUT_MS} (or a
 * dropped connection) answers status 0 with `body.errorCode` `NO_ANSWER`, which fails the customer that made it.
 * @param {string} base
 * @param {'GET' | 'POST'} method
 * @param {string} p path
 * @param {{headers?: Record<string, string>, body?: unknown}} [init] `body` is sent as JSON
 * @returns {Promise<{status: number, body: any}>} body: the parsed envelope, null when not JSON
 */
async function call(base, method, p, { headers = {}, body } = {}) {
  try {
    const res = await fetch(`${base}${p}`, {
      method,
      headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
    const json = await res.json().catch(() => null);
    return { status: res.status, body: json };
  } catch (e) {
    return { status: 0, body: { errorCode: 'NO_ANSWER', message: /** @type {Error} */ (e).message } };
  }
}

/**
 * The throw-away stack this process started, if any: stopped on every exit path by {@link finish}; the shared
 * stack kit also SIGKILLs its children if the process exits without that.
 * @type {import('@waiting-queue/testkit/stack').Stack | undefined}
 */
let stack;
/** @type {Promise<import('@waiting-queue/testkit/stack').Stack> | undefined} */
let starting;

/**
 * Stops the stack (api and scheduler by pid: SIGTERM, SIGKILL after 10 s; then the redis-server), then exits.
 * @param {number} code the exit code.
 */
async function finish(code) {
  try {
    // A stack still starting is stopped by startStack itself when it fails; one that starts is stopped here.
    await (stack ?? (await starting?.catch(() => undefined)))?.stop();
  } catch (e) {
    console.error(`stopping the stack: ${/** @type {Error} */ (e).message}`);
  }
  process.exit(code);
}

for (const [sig, code] of /** @type {const} */ ([
  ['SIGINT', 130],
  ['SIGTERM', 143],
])) {
  process.on(sig, () => {
    if (!QUIET) process.stderr.write(`${sig}: stopping the stack\n`);
    void finish(code);
  });
}

/**
 * Starts a throw-away stack (redis-server, scheduler, api), secured: DEV_MODE off, ADMIN_TOKEN and INTERNAL_TOKEN
 * as given or random.
 * @returns {Promise<{base: string, admin: string}>} the api's and the admin server's base URLs.
 * @throws when a process exits before it is ready, or is not ready within 60 s.
 */
async function startOwnStack() {
  const random = () => randomBytes(24).toString('hex');
  const env = {
    DEV_MODE: '0',
    ADMIN_TOKEN: O.adminToken ?? random(),
    INTERNAL_TOKEN: O.internalToken ?? random(),
    METRICS_TOKEN: process.env.METRICS_TOKEN?.trim() || random(),
    TOKEN_SECRET: process.env.TOKEN_SECRET?.trim() || random(),
    // Outside DEV_MODE the api signs entry passes only with a key from the environment: a fresh EC P-256 one.
    ENTRY_PASS_PRIVATE_JWK:
      process.env.ENTRY_PASS_PRIVATE_JWK?.trim() ||
      JSON.stringify(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' })),
    LOG_LEVEL: 'warn',
    // One api process unless the environment asks for more: a simulation measures correctness, not throughput.
    API_WORKERS: process.env.API_WORKERS?.trim() || '1',
    TOKEN_COUNT_TO_MOVE: '5',
    ...(ABANDON_RATIO > 0 ? { ABANDON_AFTER_SECONDS: String(ABANDON_AFTER_SECONDS) } : {}),
  };
  Object.assign(adminAuth, { authorization: `Bearer ${env.ADMIN_TOKEN}` });
  Object.assign(internalAuth, { authorization: `Bearer ${env.INTERNAL_TOKEN}` });
  starting = startStack({
    env,
    services: [
      { name: 'scheduler', stdout: 'ignore', stderr: 'inherit' },
      { name: 'api', stdout: 'ignore', stderr: 'inherit' },
    ],
  });
  stack = await starting;
  // Both were asked for, so both are there.
  return {
    base: /** @type {import('@waiting-queue/testkit/stack').ServiceProcess} */ (stack.api).url,
    admin: /** @type {import('@waiting-queue/testkit/stack').ServiceProcess} */ (stack.scheduler).url,
  };
}

async function main() {
  const urls = O.baseUrl ? { base: O.baseUrl, admin: O.adminUrl } : await startOwnStack();
  const run = `s${SEED}_${Date.now().toString(36)}`;
  const item = `${ITEM}_${run}`.slice(0, 64);
  const itemBody = {
    itemName: 'Simulated item',
    remainCount: INITIAL_STOCK,
    waitingQueueEnabled: true,
    ...(VIP_RATIO > 0 ? { lanes: ['vip', 'regular'] } : {}),
    ...(MAX_WAITING !== undefined ? { maxWaiting: MAX_WAITING } : {}),
  };
  const up = await call(urls.admin, 'POST', pathOf(adminRoutes.upsertWaitingItem, { itemId: item }), {
    headers: adminAuth,
    body: itemBody,
  });
  if (up.status !== 200) throw new Error(`cannot create the item: ${up.status} ${JSON.stringify(up.body)}`);
  event(
    `item ${item}: stock ${INITIAL_STOCK}; ${CUSTOMERS} customers (seed ${SEED}, vip ${VIP_RATIO}, abandon ${ABANDON_RATIO}${MAX_WAITING !== undefined ? `, max waiting ${MAX_WAITING}` : ''})`,
  );

  const stats = {
    success: 0,
    failed: 0,
    abandoned: 0,
    refused: 0,
    restocked: 0,
    restocks: 0,
    waits: /** @type {number[]} */ ([]),
  };
  /** @type {Record<string, number>} */
  const reasons = {};
  /** @param {number} i @param {string} why */
  const fail = (i, why) => {
    stats.failed++;
    reasons[why] = (reasons[why] ?? 0) + 1;
    event(`customer ${i} failed: ${why}`);
  };

  /**
   * One customer: arrives, registers, polls until admitted, reserves 1 and confirms.
   * @param {number} i @param {number} arriveMs @param {string | undefined} tier @param {boolean} abandons
   */
  const customer = async (i, arriveMs, tier, abandons) => {
    await sleep(arriveMs);
    const userId = `c${i}_${run}`.slice(0, 64);
    const headers = { 'user-id': userId, ...(tier ? { 'user-tier': tier } : {}) };
    const reg = await call(urls.base, 'POST', pathOf(apiRoutes.register, { itemId: item }), { headers });
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
      const p = await call(
        urls.base,
        'GET',
        pathOf(apiRoutes.poll, { itemId: item, waitingQueueToken: view.waitingQueueToken }),
        {
          headers,
        },
      );
      if (p.status !== 200) return fail(i, `poll ${p.status} ${p.body?.errorCode}`);
      view = p.body.data;
    }
    stats.waits.push(Date.now() - registeredAt);
    event(`customer ${i} admitted after ${((Date.now() - registeredAt) / 1000).toFixed(1)} s`);
    const res = await call(urls.base, 'POST', pathOf(apiRoutes.reserve, { itemId: item }), {
      headers: internalAuth,
      body: { waitingQueueToken: view.waitingQueueToken, userId, quantity: 1 },
    });
    if (res.status !== 200) return fail(i, `reservation ${res.status} ${res.body?.errorCode}`);
    const conf = await call(
      urls.base,
      'POST',
      pathOf(apiRoutes.confirmReservation, { reservationId: res.body.data.reservationId }),
      { headers: internalAuth },
    );
    if (conf.status !== 200) return fail(i, `confirm ${conf.status} ${conf.body?.errorCode}`);
    stats.success++;
    event(`customer ${i} bought 1 (stock now ${res.body.data.remainCount ?? '?'})`);
  };

  const plan = Array.from({ length: CUSTOMERS }, () => ({
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
      const r = await call(urls.admin, 'POST', pathOf(adminRoutes.restock, { itemId: item }), {
        headers: adminAuth,
        body: { quantity: qty },
      });
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
  const got = await call(urls.admin, 'GET', pathOf(adminRoutes.getWaitingItem, { itemId: item }), {
    headers: adminAuth,
  });
  if (got.status !== 200)
    throw new Error(`cannot read the item's final stock: ${got.status} ${JSON.stringify(got.body)}`);
  const final = got.body.data.remainCount;
  await stack?.stop();

  const waits = [...stats.waits].sort((a, b) => a - b);
  const p95 = waits.length ? waits[Math.min(waits.length - 1, Math.ceil(0.95 * waits.length) - 1)] : 0;
  const mean = waits.length ? waits.reduce((s, w) => s + w, 0) / waits.length : 0;
  const balanced = stats.success === INITIAL_STOCK + stats.restocked - final;
  const summary = {
    seed: SEED,
    /** SHA-1 of the arrival plan (times, lanes, walk-aways) and restock sizes: equal for equal seeds. */
    planHash: createHash('sha1').update(JSON.stringify({ plan, restockPlan })).digest('hex'),
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
    console.log(
      `check           success ${summary.success} == ${INITIAL_STOCK} + ${summary.restockedTotal} - ${final}: ${balanced ? 'ok' : 'FAILED'}`,
    );
  }
  if (JSON_OUT) console.log(JSON.stringify(summary));
  await finish(balanced ? 0 : 1);
}

process.on('unhandledRejection', (err) => {
  console.error(err);
  void finish(2);
});
main().catch((err) => {
  console.error(err);
  void finish(2);
});
