#!/usr/bin/env node
// @ts-check
/**
 * `npm run load`: soak and spike of a running stack (api at BASE_URL, scheduler admin API at ADMIN_URL), with
 * autocannon and the mixed shopper workload of scripts/lib/shopper-workload.js (register, poll until admitted,
 * consume, about 1 : 4 registrations to polls and consumes).
 *
 * 1. max:   the workload's maximum throughput with --connections connections (after a short warm-up), req/s.
 * 2. soak:  --soak-seconds (SOAK_SECONDS, default 600) at half that rate; every --sample-seconds the api's RSS
 *           (/proc/<--api-pid>/status) and Redis `used_memory` (INFO memory at --redis-url); reports the
 *           least-squares slope of both (bytes per minute) and the error count (socket errors, timeouts and
 *           non-2xx responses), which must be 0.
 * 3. spike: --spike-factor (10) x the connections for --spike-seconds (10), unthrottled: every non-2xx must be a
 *           429 (shed), none a 5xx, no socket error or timeout. Reports the counts by status.
 *
 * The load item (--item, default `load`) is created or updated through the admin API with practically unlimited
 * stock and its own N of 1,000,000 per tick, so the scheduler admits everyone who registered at each tick, and the
 * workload consumes every admission: the waiting queue and the entry set stay small, and memory has no reason to
 * grow by design (only the admission-batch records, one per tick, live until the entry TTL).
 *
 * Exit code 1 when the soak had errors or the spike had anything but 2xx and 429; 2 on bad arguments.
 * With --json the last stdout line is one JSON object of all the figures.
 *
 *   BASE_URL=http://127.0.0.1:8080 ADMIN_URL=http://127.0.0.1:8081 REDIS_URL=redis://127.0.0.1:6390 \
 *     npm run load -- --api-pid 1234 --soak-seconds 600
 * Bearer tokens: ADMIN_TOKEN (admin API) and INTERNAL_TOKEN (/internal/v1) from the environment, each sent when set
 * (blank = unset); --admin-token / --internal-token override them (but show in `ps`: prefer the environment).
 */
const { parseArgs } = require('node:util');
const autocannon = require('autocannon');
const { Redis } = require('ioredis');
const { adminRoutes } = require('@waiting-queue/http/route-tables');
const { pathOf } = require('@waiting-queue/http/routes');
const { shopperWorkload } = require('./lib/shopper-workload');
const { memoryTrend, redisUsedMemory, rssBytes } = require('./lib/soak-stats');

const USAGE = `usage: node scripts/load.js [options]
  --base-url <url>        api (BASE_URL, default http://127.0.0.1:8080)
  --admin-url <url>       scheduler admin API (ADMIN_URL, default http://127.0.0.1:8081)
  --redis-url <url>       Redis for used_memory (REDIS_URL; without it, Redis memory is not sampled)
  --api-pid <pid>         api process for RSS (without it, RSS is not sampled)
  --item <id>             load item (default load)
  --connections <n>       baseline connections (default 20)
  --warmup-seconds <s>    before the max measurement (default 3)
  --max-seconds <s>       max throughput measurement (default 10)
  --soak-seconds <s>      (SOAK_SECONDS, default 600); 0 skips the soak
  --sample-seconds <s>    soak sampling interval (default 10)
  --spike-seconds <s>     (default 10); 0 skips the spike
  --spike-factor <n>      spike connections = factor x connections (default 10)
  --admin-token <t>       bearer of the admin API (ADMIN_TOKEN)
  --internal-token <t>    bearer of /internal/v1 (INTERNAL_TOKEN)
  --json                  last stdout line: the figures as one JSON object`;

/**
 * Parses argv and the environment.
 * @param {string[]} argv
 * @throws Error with the usage on bad arguments.
 */
function options(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      'base-url': { type: 'string' },
      'admin-url': { type: 'string' },
      'redis-url': { type: 'string' },
      'api-pid': { type: 'string' },
      item: { type: 'string', default: 'load' },
      connections: { type: 'string', default: '20' },
      'warmup-seconds': { type: 'string', default: '3' },
      'max-seconds': { type: 'string', default: '10' },
      'soak-seconds': { type: 'string', default: process.env.SOAK_SECONDS || '600' },
      'sample-seconds': { type: 'string', default: '10' },
      'spike-seconds': { type: 'string', default: '10' },
      'spike-factor': { type: 'string', default: '10' },
      'admin-token': { type: 'string' },
      'internal-token': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) throw new Error(USAGE);
  /**
   * @param {'api-pid' | 'connections' | 'warmup-seconds' | 'max-seconds' | 'soak-seconds' | 'sample-seconds' |
   *   'spike-seconds' | 'spike-factor'} name
   * @param {number} min
   */
  const num = (name, min) => {
    const v = Number(values[name]);
    if (!Number.isFinite(v) || v < min) throw new Error(`--${name} must be a number >= ${min}\n${USAGE}`);
    return v;
  };
  const secret = (/** @type {string | undefined} */ v) => (v === undefined || v.trim() === '' ? undefined : v.trim());
  const apiPid = values['api-pid'] === undefined ? undefined : num('api-pid', 1);
  return {
    baseUrl: (values['base-url'] || process.env.BASE_URL || 'http://127.0.0.1:8080').replace(/\/$/, ''),
    adminUrl: (values['admin-url'] || process.env.ADMIN_URL || 'http://127.0.0.1:8081').replace(/\/$/, ''),
    redisUrl: values['redis-url'] || process.env.REDIS_URL || undefined,
    apiPid,
    itemId: values.item,
    connections: Math.floor(num('connections', 1)),
    warmupSeconds: num('warmup-seconds', 0),
    maxSeconds: num('max-seconds', 1),
    soakSeconds: num('soak-seconds', 0),
    sampleSeconds: num('sample-seconds', 1),
    spikeSeconds: num('spike-seconds', 0),
    spikeFactor: num('spike-factor', 1),
    json: values.json,
    adminToken: secret(values['admin-token'] ?? process.env.ADMIN_TOKEN),
    internalToken: secret(values['internal-token'] ?? process.env.INTERNAL_TOKEN),
  };
}

/** @typedef {ReturnType<typeof options>} Options */

const log = (/** @type {string} */ m) => process.stderr.write(`[load] ${m}\n`);

/**
 * Creates or updates the load item through the admin API. An existing item's stock is set under If-Match with the
 * ETag of a GET (the admin API refuses a blind stock set). @throws when the admin API refuses.
 * @param {Options} o
 */
async function prepareItem(o) {
  const url = `${o.adminUrl}${pathOf(adminRoutes.getWaitingItem, { itemId: o.itemId })}`;
  /** @type {Record<string, string>} */
  const auth = o.adminToken ? { authorization: `Bearer ${o.adminToken}` } : {};
  const current = await fetch(url, { headers: auth });
  const etag = current.ok ? current.headers.get('etag') : null;
  const res = await fetch(`${o.adminUrl}${pathOf(adminRoutes.upsertWaitingItem, { itemId: o.itemId })}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...auth, ...(etag ? { 'if-match': etag } : {}) },
    body: JSON.stringify({
      itemName: `load ${o.itemId}`,
      remainCount: 1e12,
      waitingQueueEnabled: true,
      tokenCountToMove: 1_000_000,
    }),
  });
  if (!res.ok) throw new Error(`admin upsert of item ${o.itemId}: HTTP ${res.status} ${await res.text()}`);
}

/**
 * Runs autocannon with the shopper workload; returns the figures of the run (latencies in ms).
 * @param {Options} o
 * @param {ReturnType<typeof shopperWorkload>} workload
 * @param {{connections: number, seconds: number, overallRate?: number}} load
 */
async function run(o, workload, { connections, seconds, overallRate }) {
  const r = await autocannon({
    url: o.baseUrl,
    connections,
    duration: seconds,
    requests: /** @type {import('autocannon').Request[]} */ (workload.requests),
    ...(overallRate ? { overallRate } : {}),
  });
  /** @type {Record<string, number>} */
  const byStatus = Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).map(([k, v]) => [k, v.count ?? 0]));
  return {
    connections,
    seconds,
    reqPerSec: Math.round(r.requests.average),
    total: r.requests.total,
    byStatus,
    non2xx: r.non2xx,
    socketErrors: r.errors - r.timeouts,
    timeouts: r.timeouts,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
  };
}

/**
 * Samples RSS and Redis memory every `sampleSeconds` until `stop()` is called; `stop()` takes a last sample.
 * @param {Options} o
 * @param {Redis | undefined} redis
 */
function startSampler(o, redis) {
  const t0 = Date.now();
  /** @type {{tMs: number, bytes: number}[]} */
  const rss = [];
  /** @type {{tMs: number, bytes: number}[]} */
  const mem = [];
  const sample = async () => {
    const tMs = Date.now() - t0;
    if (o.apiPid) rss.push({ tMs, bytes: rssBytes(o.apiPid) });
    if (redis) mem.push({ tMs, bytes: await redisUsedMemory(redis) });
  };
  /** @type {unknown} */
  let failure;
  const guarded = () => sample().catch((err) => (failure ??= err));
  void guarded();
  const timer = setInterval(guarded, o.sampleSeconds * 1000);
  return {
    stop: async () => {
      clearInterval(timer);
      await guarded();
      if (failure) throw failure;
      return { rss, mem };
    },
  };
}

const mb = (/** @type {number | null | undefined} */ bytes) =>
  bytes === null || bytes === undefined ? 'n/a' : `${(bytes / 1048576).toFixed(2)} MB`;

async function main() {
  const o = options(process.argv.slice(2));
  const redis = o.redisUrl ? new Redis(o.redisUrl, { maxRetriesPerRequest: 1 }) : undefined;
  /** @typedef {Awaited<ReturnType<typeof run>>} RunFigures */
  /**
   * @type {{baseUrl: string, itemId: string, connections: number, cpus: number, max?: RunFigures,
   *   soak?: RunFigures & {targetReqPerSec: number, errors: number, apiRss: ReturnType<typeof memoryTrend>,
   *     redisUsedMemory: ReturnType<typeof memoryTrend>, samples: {rss: {tMs: number, bytes: number}[], redisUsedMemory: {tMs: number, bytes: number}[]}},
   *   spike?: RunFigures & {shed: number, serverErrors: number, otherErrors: number},
   *   workload?: object, ok?: boolean, problems?: string[]}}
   */
  const out = {
    baseUrl: o.baseUrl,
    itemId: o.itemId,
    connections: o.connections,
    cpus: require('node:os').cpus().length,
  };
  try {
    await prepareItem(o);
    const workload = shopperWorkload({ itemId: o.itemId, internalToken: o.internalToken });

    if (o.warmupSeconds > 0) await run(o, workload, { connections: o.connections, seconds: o.warmupSeconds });
    const max = await run(o, workload, { connections: o.connections, seconds: o.maxSeconds });
    out.max = max;
    log(
      `max: ${out.max.reqPerSec} req/s with ${o.connections} connections (p50 ${out.max.p50Ms} ms, p99 ${out.max.p99Ms} ms) ${JSON.stringify(out.max.byStatus)}`,
    );

    if (o.soakSeconds > 0) {
      const rate = Math.max(1, Math.floor(max.reqPerSec / 2));
      log(`soak: ${o.soakSeconds} s at ${rate} req/s, sampling every ${o.sampleSeconds} s`);
      const sampler = startSampler(o, redis);
      const soak = await run(o, workload, { connections: o.connections, seconds: o.soakSeconds, overallRate: rate });
      const { rss, mem } = await sampler.stop();
      const soakFigures = {
        targetReqPerSec: rate,
        ...soak,
        errors: soak.socketErrors + soak.timeouts + soak.non2xx,
        apiRss: memoryTrend(rss),
        redisUsedMemory: memoryTrend(mem),
        samples: { rss, redisUsedMemory: mem },
      };
      out.soak = soakFigures;
      log(
        `soak: ${soak.reqPerSec} req/s, errors ${soakFigures.errors}, api RSS ${mb(soakFigures.apiRss?.firstBytes)} -> ${mb(soakFigures.apiRss?.lastBytes)} ` +
          `(slope ${mb(soakFigures.apiRss?.slopeBytesPerMinute)}/min), Redis used_memory ${mb(soakFigures.redisUsedMemory?.firstBytes)} -> ` +
          `${mb(soakFigures.redisUsedMemory?.lastBytes)} (slope ${mb(soakFigures.redisUsedMemory?.slopeBytesPerMinute)}/min)`,
      );
    }

    if (o.spikeSeconds > 0) {
      const connections = Math.round(o.connections * o.spikeFactor);
      const spike = await run(o, workload, { connections, seconds: o.spikeSeconds });
      const counts = Object.entries(spike.byStatus);
      out.spike = {
        ...spike,
        shed: spike.byStatus['429'] ?? 0,
        serverErrors: counts.filter(([s]) => Number(s) >= 500).reduce((a, [, c]) => a + c, 0),
        otherErrors: counts
          .filter(([s]) => Number(s) >= 300 && Number(s) !== 429 && Number(s) < 500)
          .reduce((a, [, c]) => a + c, 0),
      };
      log(
        `spike: ${connections} connections for ${o.spikeSeconds} s: ${spike.reqPerSec} req/s ${JSON.stringify(spike.byStatus)}, socket errors ${spike.socketErrors}, timeouts ${spike.timeouts}`,
      );
    }

    out.workload = { ...workload.counters, pools: workload.pools() };
    /** @type {string[]} */
    const problems = [];
    if (out.soak && out.soak.errors > 0) problems.push(`soak: ${out.soak.errors} errors`);
    if (out.spike && out.spike.serverErrors + out.spike.otherErrors + out.spike.socketErrors + out.spike.timeouts > 0) {
      problems.push('spike: errors other than 429');
    }
    out.ok = problems.length === 0;
    out.problems = problems;
    if (o.json) process.stdout.write(`${JSON.stringify(out)}\n`);
    else
      process.stdout.write(
        `${JSON.stringify({ ...out, soak: out.soak && { ...out.soak, samples: undefined } }, null, 2)}\n`,
      );
    return out.ok ? 0 : 1;
  } finally {
    redis?.disconnect();
  }
}

main().then(
  (code) => process.exit(code),
  (/** @type {Error} */ err) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(err.message.includes('usage:') ? 2 : 1);
  },
);
