#!/usr/bin/env node
// @ts-check
/**
 * `npm run bench`: measures the product against the physical limit of this machine, in one run, and writes
 * bench/results.json. Every figure is also given as a ratio to its baseline measured in the same run, because
 * these machines are noisy and absolute numbers do not carry from one run to the next.
 *
 * Flags: --smoke (a few seconds per phase, 10,000 instead of 1,000,000 waiting: for CI, so the bench cannot rot)
 *        --duration <s> (load phases, default 10), --connections <n> (default 100), --only <a,b> (phase names:
 *        baseline, endpoints, workers, rank, memory, admission, durability, polling),
 *        --cpu-prof (each measured server, api, baselines and floors, writes a V8 CPU profile to bench/profiles/,
 *        for Chrome DevTools or `node bench/profile-summary.js <file>`),
 *        --report <file> (also an HTML report: the table, and a chart per target with the measured figure beside
 *        its target; uPlot, inlined),
 *        --million (instead of all that: a million waiting shoppers polling one 2-core box, bench/million.js,
 *        its results go to bench/results.json as `million`; --duration default 60, --users, --admit-per-tick default 2000,
 *        --connections default 32, --cpu-prof, --report; with --smoke 20,000 users for 15 s).
 * SIGINT/SIGTERM stop every child process the bench started (redis-server, api, scheduler, baselines).
 */
const { fork } = require('node:child_process');
const { writeFileSync } = require('node:fs');
const path = require('node:path');
const autocannon = require('autocannon');
const { Redis } = require('ioredis');
const { TokenCodec } = require('@waiting-queue/core/ids');
const { ItemStore } = require('@waiting-queue/core/item-store');
const { keys } = require('@waiting-queue/core/keys');
const { QueueStore } = require('@waiting-queue/core/queue-store');
const { SnapshotStore } = require('@waiting-queue/core/snapshot-store');
const { connectRedis } = require('@waiting-queue/core/redis');
const { apiRoutes } = require('@waiting-queue/http/route-tables');
const { pathOf } = require('@waiting-queue/http/routes');
const { startEmbeddedRedis, freePort } = require('@waiting-queue/testkit/embedded-redis');
const { startService } = require('@waiting-queue/testkit/stack');
const { simulatePolling } = require('./polling-model');
const {
  log,
  cpuSeconds,
  allWorkersReady,
  fillQueue,
  printTable,
  targetRows,
  stopOnSignal,
  readResults,
  usedMemory,
  benchReportSpec,
  writeReport,
} = require('./common');

const args = process.argv.slice(2);
const flag = (/** @type {string} */ name) => args.includes(`--${name}`);
const opt = (/** @type {string} */ name, /** @type {string} */ def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const SMOKE = flag('smoke');
const DURATION = Number(opt('duration', SMOKE ? '2' : '10'));
const WARMUP = SMOKE ? 1 : 3;
const CONNECTIONS = Number(opt('connections', '100'));
const BIG = SMOKE ? 10_000 : 1_000_000;
const ONLY = opt('only', '').split(',').filter(Boolean);
const CPU_PROF = flag('cpu-prof');
const REPORT = opt('report', '');
/**
 * Users in a prebuilt request list. autocannon's every connection builds its own copy of the whole list when it
 * starts, inside the measured window: 1,000 entries cost the load generator about 20 us of CPU per request more
 * (measured), on the same two cores as the server. 100 users spread over the queue still exercise rank lookups
 * across it.
 */
const LIST_USERS = 100;
const SECRET = 'bench-secret-0123456789abcdef0123456789';
const codec = new TokenCodec(SECRET);

const want = (/** @type {string} */ phase) => ONLY.length === 0 || ONLY.includes(phase);

/**
 * Runs autocannon: a warm-up of WARMUP s (discarded), then DURATION s measured. With `pids` ({server, redis}),
 * also the CPU each used per request in the measured part, microseconds: steadier than req/s on a shared machine.
 * @param {string} name
 * @param {string} url
 * @param {import('autocannon').Request[]} requests
 * @param {Record<string, string>} headers
 * @param {{server?: number, redis?: number}} pids
 * @returns {Promise<LoadFigures>}
 */
async function load(name, url, requests, headers = {}, pids = {}) {
  const base = { url, connections: CONNECTIONS, headers, requests };
  await autocannon({ ...base, duration: WARMUP });
  const before = { server: cpuSeconds(pids.server), redis: cpuSeconds(pids.redis) };
  const clientBefore = process.cpuUsage();
  const r = await autocannon({ ...base, duration: DURATION });
  const client = process.cpuUsage(clientBefore);
  const perReq = (/** @type {'server' | 'redis'} */ k) => {
    const b = before[k];
    const after = cpuSeconds(pids[k]);
    return b == null || after == null ? null : ((after - b) / r.requests.total) * 1e6;
  };
  const out = {
    name,
    reqPerSec: r.requests.average,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
    total: r.requests.total,
    serverCpuUsPerReq: perReq('server'),
    redisCpuUsPerReq: perReq('redis'),
    // The load generator's own CPU (autocannon runs in this process): it shares the 2 cores with the server.
    clientCpuUsPerReq: (client.user + client.system) / r.requests.total,
  };
  const cpu =
    out.serverCpuUsPerReq == null
      ? ''
      : `, server CPU ${out.serverCpuUsPerReq.toFixed(1)} us/req` +
        (out.redisCpuUsPerReq == null ? '' : `, redis ${out.redisCpuUsPerReq.toFixed(1)} us/req`) +
        `, client ${out.clientCpuUsPerReq.toFixed(1)} us/req`;
  log(
    `${name}: ${Math.round(out.reqPerSec)} req/s, p50 ${out.p50Ms} ms, p99 ${out.p99Ms} ms, non-2xx ${out.non2xx}, errors ${out.errors}${cpu}`,
  );
  return out;
}

/**
 * The figures of one load phase: req/s, latencies in ms, CPU per request in microseconds (null where unknown).
 * @typedef {{name: string, reqPerSec: number, p50Ms: number, p99Ms: number, non2xx: number, errors: number,
 *   total: number, serverCpuUsPerReq: number | null, redisCpuUsPerReq: number | null, clientCpuUsPerReq: number}} LoadFigures
 */

/**
 * Every figure of a run, by phase; a phase that did not run is absent.
 * @typedef {{[phase: string]: LoadFigures | undefined} & {
 *   memory?: {waitingUsers: number, userIdExample: string, bytesPerUserUsedMemory: number, bytesPerUserMemoryUsage: number},
 *   admission?: {moved: number, seconds: number, tokensPerSec: number, batch: number},
 *   polling?: ReturnType<typeof simulatePolling>}} Figures
 */

/** Node flags of a measured server: a CPU profile into bench/profiles/ with --cpu-prof. */
const profArgs = () => (CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${path.join(__dirname, 'profiles')}`] : []);

/**
 * Starts a baseline server (a node script that sends 'ready' over IPC once it listens) as a child with `env`.
 * @param {string} script path of the script.
 * @param {Record<string, string>} env on top of this process's environment.
 * @param {string[]} execArgv node flags.
 * @returns {Promise<{pid: number, stop: () => Promise<void>}>} its pid, and a stop by pid (SIGTERM, SIGKILL after 15 s).
 * @throws when it exits before it says 'ready'.
 */
async function startBaseline(script, env, execArgv = []) {
  const child = fork(script, [], {
    env: { ...process.env, ...env },
    execArgv,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (c) => reject(new Error(`${script} exited ${c}`)));
  });
  return {
    pid: /** @type {number} */ (child.pid),
    stop: stopOnSignal(
      () =>
        new Promise((resolve) => {
          if (child.exitCode !== null) return resolve(undefined);
          child.once('exit', resolve);
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
        }),
    ),
  };
}

/** @type {number | undefined} */
let redisPid;
/**
 * Starts an api (the shared stack kit's startService) on `redisUrl` with the bench's settings under `env`: one
 * process (API_WORKERS=1) unless `workers` says more; then it returns once every worker answers ready.
 * @param {string} redisUrl
 * @param {Record<string, string>} env
 */
async function startApi(redisUrl, env = {}, workers = 1) {
  const proc = await startService({
    name: 'api',
    workers,
    env: {
      REDIS_URL: redisUrl,
      API_HOST: '127.0.0.1',
      TOKEN_SECRET: SECRET,
      LOG_LEVEL: 'warn',
      INTERNAL_TOKEN: '',
      DEV_MODE: '1',
      ...env,
    },
    execArgv: profArgs(),
    stdout: 'ignore',
    stderr: 'inherit',
  });
  const stop = stopOnSignal(() => proc.stop(15_000));
  if (workers > 1) await allWorkersReady(proc.port, workers).catch(async (e) => (await stop(), Promise.reject(e)));
  return { url: proc.url, pid: proc.pid, stop, pids: { server: proc.pid, redis: redisPid } };
}

/**
 * Publishes `itemId`'s snapshot now and then once a second, as the scheduler does after each tick, until the
 * returned function is called. The bench does it itself rather than run a scheduler: a scheduler's tick fences on
 * the Redis clock, which would refuse the bench's own admission calls, and its admission would drain the queue the
 * poll load needs waiting. What the api does with a snapshot is the same either way.
 * @param {import('@waiting-queue/core/redis').RedisClient} client
 * @param {string} itemId
 * @returns {Promise<() => void>}
 */
async function publishSnapshots(client, itemId) {
  const store = new SnapshotStore(client);
  const publish = async () => {
    const [seconds] = await client.time();
    await store.publish(itemId, Number(seconds) * 1000, 1000);
  };
  await publish();
  const timer = setInterval(() => void publish().catch((err) => log(`snapshot not published: ${err.message}`)), 1000);
  return () => clearInterval(timer);
}

/** @type {import('@waiting-queue/core/item-store').ItemStore | undefined} */
let itemStore;
/**
 * (Re)creates a bench item with practically unlimited stock.
 * @param {Redis} _redis
 * @param {string} itemId
 */
async function seedItem(_redis, itemId, stock = 1e12) {
  await /** @type {import('@waiting-queue/core/item-store').ItemStore} */ (itemStore).upsert(itemId, {
    itemName: itemId,
    remainCount: stock,
    waitingQueueEnabled: true,
  });
}

/**
 * Poll load: GET of the waiting tokens of `users` ([userId, seq]), in turn. The requests are built once, before
 * the load starts (autocannon caches a request without `setupRequest`), as the baseline's request is: a
 * `setupRequest` that derives the token per request cost the load generator more than 30 us of CPU per request
 * (HMAC and a rebuilt request), on the same two cores as the server it measures.
 * @param {string} itemId
 * @param {[string, string][]} users [userId, seq]
 * @returns {import('autocannon').Request[]}
 */
function pollRequests(itemId, users) {
  return users.map(([userId, seq]) => ({
    method: 'GET',
    path: pathOf(apiRoutes.poll, { itemId, waitingQueueToken: codec.tokenFor(itemId, userId, seq) }),
    headers: { 'user-id': userId },
  }));
}

async function main() {
  if (flag('million')) {
    await require('./million').million({
      smoke: SMOKE,
      durationSeconds: args.includes('--duration') ? DURATION : undefined,
      users: args.includes('--users') ? Number(opt('users', '')) : undefined,
      admitPerTick: args.includes('--admit-per-tick') ? Number(opt('admit-per-tick', '')) : undefined,
      pollMaxSeconds: args.includes('--poll-max-seconds') ? Number(opt('poll-max-seconds', '')) : undefined,
      connections: args.includes('--connections') ? CONNECTIONS : undefined,
      report: REPORT || undefined,
      execArgv: profArgs(),
    });
    return;
  }
  /**
   * @type {{machine: {cpus: number, node: string}, smoke: boolean, durationSeconds: number, connections: number,
   *   figures: Figures, ratios?: Record<string, number | null>,
   *   cpuRatios?: Record<string, {apiOnly: number, apiAndRedis: number}>,
   *   targets?: {figure: string, value: number | null, target: string, met: boolean | null}[]}}
   */
  const results = {
    machine: { cpus: require('node:os').cpus().length, node: process.version },
    smoke: SMOKE,
    durationSeconds: DURATION,
    connections: CONNECTIONS,
    figures: {},
  };
  const F = results.figures;
  const redisServer = await startEmbeddedRedis();
  const stopRedis = stopOnSignal(() => redisServer.stop());
  const redis = new Redis(redisServer.url);
  redisPid = redisServer.pid;
  try {
    // Baselines: same settings as the product runs (127.0.0.1, keep-alive, one process).
    for (const [name, file] of [
      ['rawNodeHttp', 'baseline-raw.js'],
      ['expressHello', 'baseline-express.js'],
    ]) {
      if (!want('baseline')) continue;
      const port = await freePort();
      const p = await startBaseline(path.join(__dirname, file), { PORT: String(port) }, profArgs());
      F[name] = await load(name, `http://127.0.0.1:${port}/`, [{ method: 'GET', path: '/' }], {}, { server: p.pid });
      await p.stop();
    }

    const seeded = await connectRedis({ url: redisServer.url }, 'bench');
    itemStore = new ItemStore(seeded);
    const queue = new QueueStore(seeded);
    let fence = 1;

    if (want('endpoints')) {
      // poll: 1,000 waiting users; 100 of them, spread over the queue, polled in turn (LIST_USERS says why 100).
      await redis.del(...keys.queue('bench'));
      await seedItem(redis, 'bench');
      await fillQueue(redis, 'bench', 1000);
      const spread = Array.from(
        { length: LIST_USERS },
        (_, i) => /** @type {[string, string]} */ ([`u${i * 10}`, String(i * 10 + 1)]),
      );
      const stopSnapshots = await publishSnapshots(seeded, 'bench');
      let api = await startApi(redisServer.url);
      F.poll = await load('poll', api.url, pollRequests('bench', spread), {}, api.pids);
      await api.stop();
      // The same poll with every answer read from Redis (POLL_FROM_MEMORY=0): what answering from memory saves.
      api = await startApi(redisServer.url, { POLL_FROM_MEMORY: '0' });
      F.pollFromRedis = await load('poll, POLL_FROM_MEMORY=0', api.url, pollRequests('bench', spread), {}, api.pids);
      await api.stop();
      stopSnapshots();
      // The floor of that poll: node:http and its one EVALSHA, nothing else (bench/baseline-floor.js).
      /** @param {string} name @param {import('autocannon').Request[]} requests */
      const floor = async (name, requests) => {
        const port = await freePort();
        const p = await startBaseline(
          path.join(__dirname, 'baseline-floor.js'),
          { PORT: String(port), REDIS_URL: redisServer.url },
          profArgs(),
        );
        const out = await load(
          `${name} floor (node:http + one EVALSHA)`,
          `http://127.0.0.1:${port}`,
          requests,
          {},
          { server: p.pid, redis: redisPid },
        );
        await p.stop();
        return out;
      };
      F.pollFloor = await floor('poll', pollRequests('bench', spread));
      // The floor of a poll answered from memory: node:http sending an answer of the poll's size, nothing else;
      // then the same with 20 us of busy work per request: what a handler's own work costs in req/s on this box.
      for (const [key, workUs, name] of /** @type {const} */ ([
        ['pollAnswerFloor', 0, 'poll answer floor (node:http, the poll-sized answer)'],
        ['pollAnswerFloorWork20', 20, 'poll answer floor + 20 us of work per request'],
      ])) {
        const port = await freePort();
        const env = { PORT: String(port), WORK_US: String(workUs) };
        const p = await startBaseline(path.join(__dirname, 'baseline-answer.js'), env, profArgs());
        F[key] = await load(name, `http://127.0.0.1:${port}`, pollRequests('bench', spread), {}, { server: p.pid });
        await p.stop();
      }

      // register: a new user on every request (so the request is built per request, unlike the others).
      /** @param {string} prefix @returns {import('autocannon').Request[]} */
      const registerRequests = (prefix) => {
        let n = 0;
        return [
          {
            method: 'POST',
            path: pathOf(apiRoutes.register, { itemId: 'bench' }),
            setupRequest: (/** @type {import('autocannon').Request} */ req) => {
              req.headers = { 'user-id': prefix + n++ };
              return req;
            },
          },
        ];
      };
      const runId = Date.now().toString(36);
      api = await startApi(redisServer.url);
      F.register = await load('register', api.url, registerRequests(`r${runId}_`), {}, api.pids);
      await api.stop();
      // Its floor: node:http and the registration's one EVALSHA, same load generator.
      F.registerFloor = await floor('register', registerRequests(`f${runId}_`));

      // claim: first-come issuance on a DIRECT item (the coupon drop), a new user on every request (info, no target).
      await itemStore.upsert('benchdirect', {
        itemName: 'benchdirect',
        remainCount: 1e12,
        waitingQueueEnabled: true,
        queueMode: 'DIRECT',
      });
      api = await startApi(redisServer.url);
      F.claim = await load(
        'claim',
        api.url,
        registerRequests(`c${runId}_`).map((r) => ({ ...r, path: pathOf(apiRoutes.claim, { itemId: 'benchdirect' }) })),
        {},
        api.pids,
      );
      await api.stop();
      await redis.del(keys.claims('benchdirect'));

      // validation: admitted tokens checked by an order service.
      await redis.del(...keys.queue('bench'));
      await seedItem(redis, 'bench');
      await fillQueue(redis, 'bench', 1000);
      await queue.admit('bench', { tokenCountToMove: 1000, admissionTtlMs: 3_600_000, fence: fence++, tickMs: 1000 });
      api = await startApi(redisServer.url);
      F.validation = await load(
        'validation',
        api.url,
        Array.from({ length: LIST_USERS }, (_, i) => ({
          method: 'GET',
          path: pathOf(apiRoutes.validate, {
            itemId: 'bench',
            waitingQueueToken: codec.tokenFor('bench', `u${i * 10}`, i * 10 + 1),
          }),
        })),
        {},
        api.pids,
      );
      await api.stop();
    }

    if (want('workers')) {
      // The whole box, API_WORKERS=2: the poll load of `endpoints` on the api as two cluster workers, beside raw
      // node:http as two cluster workers, with redis-server and the load generator on the same two cores.
      await redis.del(...keys.queue('bench'));
      await seedItem(redis, 'bench');
      await fillQueue(redis, 'bench', 1000);
      const spread = Array.from(
        { length: LIST_USERS },
        (_, i) => /** @type {[string, string]} */ ([`u${i * 10}`, String(i * 10 + 1)]),
      );
      const port = await freePort();
      const raw2 = await startBaseline(path.join(__dirname, 'baseline-raw-cluster.js'), {
        PORT: String(port),
        WORKERS: '2',
      });
      F.rawNodeHttpWorkers2 = await load(
        'raw node:http, 2 workers',
        `http://127.0.0.1:${port}/`,
        [{ method: 'GET', path: '/' }],
        {},
        { server: raw2.pid },
      );
      await raw2.stop();
      const stopSnapshots = await publishSnapshots(seeded, 'bench');
      const api = await startApi(redisServer.url, {}, 2);
      F.pollWorkers2 = await load('poll, API_WORKERS=2', api.url, pollRequests('bench', spread), {}, api.pids);
      await api.stop();
      stopSnapshots();
    }

    if (want('rank')) {
      // Rank latency: poll p99 with 1,000 and with BIG waiting (tokens spread over the whole queue).
      for (const size of [1000, BIG]) {
        await redis.del(...keys.queue('rank'));
        await seedItem(redis, 'rank');
        await fillQueue(redis, 'rank', size);
        const step = Math.max(1, Math.floor(size / LIST_USERS));
        const users = Array.from(
          { length: LIST_USERS },
          (_, i) => /** @type {[string, string]} */ ([`u${i * step}`, String(i * step + 1)]),
        );
        const stopSnapshots = await publishSnapshots(seeded, 'rank');
        const api = await startApi(redisServer.url);
        F[`pollAt${size}`] = await load(
          `poll with ${size} waiting`,
          api.url,
          pollRequests('rank', users),
          {},
          api.pids,
        );
        await api.stop();
        stopSnapshots();
      }
      await redis.del(...keys.queue('rank'));
    }

    if (want('memory')) {
      // Redis memory per waiting user: every key the queue uses for BIG waiting users of one item.
      await redis.flushall();
      const before = await usedMemory(redis);
      await seedItem(redis, 'mem');
      await fillQueue(redis, 'mem', BIG, 'user');
      const after = await usedMemory(redis);
      let usage = 0;
      for (const k of keys.queue('mem')) usage += Number((await redis.call('MEMORY', 'USAGE', k, 'SAMPLES', '0')) ?? 0);
      F.memory = {
        waitingUsers: BIG,
        userIdExample: `user${BIG - 1}`,
        bytesPerUserUsedMemory: (after - before) / BIG,
        bytesPerUserMemoryUsage: usage / BIG,
      };
      log(
        `memory: ${F.memory.bytesPerUserUsedMemory.toFixed(1)} B/user (used_memory), ${F.memory.bytesPerUserMemoryUsage.toFixed(1)} B/user (MEMORY USAGE)`,
      );
    }

    if (want('admission')) {
      // Admission rate: tokens moved per second out of a queue of BIG, by this process acting as the scheduler
      // (the same QueueStore.admit the scheduler's tick calls), N = 10,000 per call.
      await redis.del(...keys.queue('adm'));
      await seedItem(redis, 'adm');
      await fillQueue(redis, 'adm', BIG);
      const t0 = process.hrtime.bigint();
      let moved = 0;
      while (moved < BIG) {
        const r = await queue.admit('adm', {
          tokenCountToMove: 10_000,
          admissionTtlMs: 3_600_000,
          fence: fence++,
          tickMs: 1000,
        });
        if (r.admittedCount === 0) break;
        moved += r.admittedCount;
      }
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      F.admission = { moved, seconds: s, tokensPerSec: moved / s, batch: 10_000 };
      log(`admission: ${Math.round(F.admission.tokensPerSec)} tokens/s (${moved} in ${s.toFixed(2)} s)`);
      await redis.del(...keys.queue('adm'));
    }

    if (want('durability')) {
      // The durability option's cost: register with DURABILITY_REPLICAS=1 (WAIT 1 after every change)
      // beside 0, both with one replica attached on this machine, so that only the WAIT differs.
      const replica = await startEmbeddedRedis(['--replicaof', '127.0.0.1', String(redisServer.port)]);
      const stopReplica = stopOnSignal(() => replica.stop());
      try {
        const rc = new Redis(replica.url);
        for (const deadline = Date.now() + 30_000; !(await rc.info('replication')).includes('master_link_status:up');) {
          if (Date.now() > deadline) throw new Error('bench replica not in sync within 30 s');
          await new Promise((r) => setTimeout(r, 100));
        }
        rc.disconnect();
        await seedItem(redis, 'bench');
        /** @param {string} prefix @returns {import('autocannon').Request[]} */
        const registerAs = (prefix) => {
          let n = 0;
          return [
            {
              method: 'POST',
              path: pathOf(apiRoutes.register, { itemId: 'bench' }),
              setupRequest: (/** @type {import('autocannon').Request} */ req) => (
                (req.headers = { 'user-id': prefix + n++ }),
                req
              ),
            },
          ];
        };
        const runId = Date.now().toString(36);
        for (const [key, replicas] of [
          ['registerDurability0', '0'],
          ['registerDurability1', '1'],
        ]) {
          const api = await startApi(redisServer.url, { DURABILITY_REPLICAS: replicas, DURABILITY_TIMEOUT_MS: '1000' });
          F[key] = await load(
            `register, DURABILITY_REPLICAS=${replicas}`,
            api.url,
            registerAs(`d${replicas}${runId}_`),
            {},
            api.pids,
          );
          await api.stop();
        }
        const [d0, d1] = /** @type {LoadFigures[]} */ ([F.registerDurability0, F.registerDurability1]);
        log(
          `durability: register ${Math.round(d0.reqPerSec)} req/s, p99 ${d0.p99Ms} ms with n=0; ` +
            `${Math.round(d1.reqPerSec)} req/s, p99 ${d1.p99Ms} ms with n=1`,
        );
      } finally {
        await stopReplica();
      }
    }

    if (want('groupcommit')) {
      // Group commit's cost and gain: register with it off (one script call per registration), on within one
      // event-loop turn (the default) and on with a 1 ms window, same load; the p50/p99 differences are the
      // latency that batching adds (or saves, when fewer round trips queue up behind each other).
      await seedItem(redis, 'bench');
      const runId = Date.now().toString(36);
      for (const [key, env] of /** @type {[string, Record<string, string>][]} */ ([
        ['registerGroupCommitOff', { GROUP_COMMIT: '0' }],
        ['registerGroupCommitTurn', { GROUP_COMMIT_WINDOW_MS: '0' }],
        ['registerGroupCommit1ms', { GROUP_COMMIT_WINDOW_MS: '1' }],
      ])) {
        const api = await startApi(redisServer.url, env);
        let n = 0;
        F[key] = await load(
          `register, ${key}`,
          api.url,
          [
            {
              method: 'POST',
              path: '/api/v1/item/bench/waiting-queue',
              setupRequest: (/** @type {import('autocannon').Request} */ req) => (
                (req.headers = { 'user-id': `g${key}${runId}_${n++}` }),
                req
              ),
            },
          ],
          {},
          api.pids,
        );
        await api.stop();
      }
      // Validations of admitted tokens, with group commit off and on (same turn).
      await redis.del(...keys.queue('benchval'));
      await seedItem(redis, 'benchval');
      await fillQueue(redis, 'benchval', 1000);
      await new QueueStore(redis).admit('benchval', {
        tokenCountToMove: 1000,
        admissionTtlMs: 3_600_000,
        fence: 1,
        tickMs: 1000,
      });
      for (const [key, env] of /** @type {[string, Record<string, string>][]} */ ([
        ['validationGroupCommitOff', { GROUP_COMMIT: '0' }],
        ['validationGroupCommitTurn', { GROUP_COMMIT_WINDOW_MS: '0' }],
      ])) {
        const api = await startApi(redisServer.url, env);
        F[key] = await load(
          `validation, ${key}`,
          api.url,
          Array.from({ length: LIST_USERS }, (_, i) => ({
            method: 'GET',
            path: `/internal/v1/item/benchval/waiting-queue/${codec.tokenFor('benchval', `u${i * 10}`, i * 10 + 1)}`,
          })),
          {},
          api.pids,
        );
        await api.stop();
      }
      const [off, turn, ms1] = /** @type {LoadFigures[]} */ ([
        F.registerGroupCommitOff,
        F.registerGroupCommitTurn,
        F.registerGroupCommit1ms,
      ]);
      log(
        `group commit: register off ${Math.round(off.reqPerSec)} req/s p50 ${off.p50Ms} p99 ${off.p99Ms} ms; ` +
          `same turn ${Math.round(turn.reqPerSec)} req/s p50 ${turn.p50Ms} p99 ${turn.p99Ms} ms; ` +
          `1 ms window ${Math.round(ms1.reqPerSec)} req/s p50 ${ms1.p50Ms} p99 ${ms1.p99Ms} ms`,
      );
    }

    if (want('polling')) {
      F.polling = simulatePolling({ users: 10_000, admissionsPerSecond: 100 });
      log(
        `polling: ${F.polling.serverPolicy.polls} polls with pollAfterMs vs ${F.polling.fixed1s.polls} at a fixed 1 s (${F.polling.ratio.toFixed(3)}); discovery delay ${F.polling.serverPolicy.meanDiscoveryDelayMs.toFixed(0)} ms`,
      );
    }
    seeded.disconnect();
  } finally {
    redis.disconnect();
    await stopRedis();
  }

  const raw = F.rawNodeHttp?.reqPerSec;
  const ratio = (/** @type {number | undefined} */ x) => (raw && x ? x / raw : null);
  const bigPoll = F[`pollAt${BIG}`];
  const ratios = {
    expressHelloVsRaw: ratio(F.expressHello?.reqPerSec),
    pollVsRaw: ratio(F.poll?.reqPerSec),
    pollFromRedisVsRaw: ratio(F.pollFromRedis?.reqPerSec),
    pollAnswerFloorVsRaw: ratio(F.pollAnswerFloor?.reqPerSec),
    pollVsAnswerFloor: F.poll && F.pollAnswerFloor ? F.poll.reqPerSec / F.pollAnswerFloor.reqPerSec : null,
    answerFloorWork20VsAnswerFloor:
      F.pollAnswerFloorWork20 && F.pollAnswerFloor
        ? F.pollAnswerFloorWork20.reqPerSec / F.pollAnswerFloor.reqPerSec
        : null,
    pollFloorVsRaw: ratio(F.pollFloor?.reqPerSec),
    pollVsFloor: F.poll && F.pollFloor ? F.poll.reqPerSec / F.pollFloor.reqPerSec : null,
    registerFloorVsRaw: ratio(F.registerFloor?.reqPerSec),
    registerVsFloor: F.register && F.registerFloor ? F.register.reqPerSec / F.registerFloor.reqPerSec : null,
    registerVsRaw: ratio(F.register?.reqPerSec),
    validationVsRaw: ratio(F.validation?.reqPerSec),
    claimVsRaw: ratio(F.claim?.reqPerSec),
    pollP99At1MvsAt1k: bigPoll && F.pollAt1000 ? bigPoll.p99Ms / F.pollAt1000.p99Ms : null,
    pollsVsFixed1s: F.polling?.ratio ?? null,
    pollWorkers2VsRawWorkers2:
      F.pollWorkers2 && F.rawNodeHttpWorkers2 ? F.pollWorkers2.reqPerSec / F.rawNodeHttpWorkers2.reqPerSec : null,
  };
  results.ratios = ratios;
  // CPU efficiency: raw node:http's server CPU per request over the endpoint's (api alone, and api + redis-server).
  const rawCpu = F.rawNodeHttp?.serverCpuUsPerReq;
  /** @type {Record<string, {apiOnly: number, apiAndRedis: number}>} */
  const cpuRatios = {};
  results.cpuRatios = cpuRatios;
  for (const k of ['poll', 'register', 'validation']) {
    const f = F[k];
    if (!rawCpu || !f?.serverCpuUsPerReq) continue;
    cpuRatios[k] = {
      apiOnly: rawCpu / f.serverCpuUsPerReq,
      apiAndRedis: rawCpu / (f.serverCpuUsPerReq + (f.redisCpuUsPerReq ?? 0)),
    };
  }
  /** @type {[string, number | null | undefined, string, (x: number) => boolean][]} */
  const targets = [
    // The issue's targets: poll >= 0.8x raw with p99 <= 10 ms, register >= 0.4x, validation >= 0.6x.
    ['poll req/s vs raw', ratios.pollVsRaw, '>= 0.8', (x) => x >= 0.8],
    ['register req/s vs raw', ratios.registerVsRaw, '>= 0.4', (x) => x >= 0.4],
    ['validation req/s vs raw', ratios.validationVsRaw, '>= 0.6', (x) => x >= 0.6],
    ['poll p99 ms', F.poll?.p99Ms, '<= 10', (x) => x <= 10],
    ['register p99 ms', F.register?.p99Ms, '<= 25', (x) => x <= 25],
    ['validation p99 ms', F.validation?.p99Ms, '<= 25', (x) => x <= 25],
    ['admission tokens/s', F.admission?.tokensPerSec, '>= 250000', (x) => x >= 250_000],
    ['Redis bytes per waiting user', F.memory?.bytesPerUserUsedMemory, '<= 160', (x) => x <= 160],
    [`poll p99 at ${BIG} vs at 1000`, ratios.pollP99At1MvsAt1k, '<= 1.5', (x) => x <= 1.5],
    ['polls vs fixed 1 s', F.polling?.ratio, '<= 0.2', (x) => x <= 0.2],
    [
      'admission discovery delay s',
      F.polling ? F.polling.serverPolicy.meanDiscoveryDelayMs / 1000 : undefined,
      '<= 2',
      (x) => x <= 2,
    ],
  ];
  const measuredTargets = targets.map(([figure, value, target, ok]) => ({
    figure,
    value: value ?? null,
    target,
    met: value == null ? null : ok(value),
  }));
  results.targets = measuredTargets;
  // The million-shopper run's results (--million) stay in the file beside these.
  const file = path.join(__dirname, 'results.json');
  const { million } = readResults(file);
  writeFileSync(file, JSON.stringify({ ...results, ...(million ? { million } : {}) }, null, 2));

  /** @type {(string | number)[][]} */
  const rows = [['figure', 'measured', 'target', 'met']];
  if (raw) rows.push(['raw node:http req/s (baseline)', Math.round(raw), '', '']);
  if (F.expressHello)
    rows.push([
      'express hello req/s (x raw)',
      `${Math.round(F.expressHello.reqPerSec)} (${(ratios.expressHelloVsRaw ?? 0).toFixed(2)}x)`,
      '',
      '',
    ]);
  if (ratios.pollFloorVsRaw)
    rows.push(['poll floor req/s vs raw (node:http + 1 EVALSHA)', ratios.pollFloorVsRaw.toFixed(3), '(info)', '']);
  if (ratios.pollVsFloor) rows.push(['poll req/s vs its floor', ratios.pollVsFloor.toFixed(3), '(info)', '']);
  if (ratios.pollAnswerFloorVsRaw)
    rows.push([
      'poll answer floor req/s vs raw (node:http, poll-sized answer)',
      ratios.pollAnswerFloorVsRaw.toFixed(3),
      '(info)',
      '',
    ]);
  if (ratios.pollVsAnswerFloor)
    rows.push(['poll req/s vs its answer floor', ratios.pollVsAnswerFloor.toFixed(3), '(info)', '']);
  if (ratios.answerFloorWork20VsAnswerFloor)
    rows.push([
      'answer floor + 20 us of work vs the answer floor',
      ratios.answerFloorWork20VsAnswerFloor.toFixed(3),
      '(info)',
      '',
    ]);
  if (ratios.pollFromRedisVsRaw)
    rows.push(['poll req/s vs raw, POLL_FROM_MEMORY=0', ratios.pollFromRedisVsRaw.toFixed(3), '(info)', '']);
  if (ratios.registerFloorVsRaw)
    rows.push([
      'register floor req/s vs raw (node:http + 1 EVALSHA)',
      ratios.registerFloorVsRaw.toFixed(3),
      '(info)',
      '',
    ]);
  if (ratios.registerVsFloor)
    rows.push(['register req/s vs its floor', ratios.registerVsFloor.toFixed(3), '(info)', '']);
  if (ratios.claimVsRaw)
    rows.push(['claim req/s vs raw (first-come, DIRECT item)', ratios.claimVsRaw.toFixed(3), '(info)', '']);
  for (const [k, what] of [
    ['registerGroupCommitOff', 'group commit off'],
    ['registerGroupCommitTurn', 'group commit, same event-loop turn'],
    ['registerGroupCommit1ms', 'group commit, 1 ms window'],
    ['validationGroupCommitOff', 'group commit off (validation)'],
    ['validationGroupCommitTurn', 'group commit, same event-loop turn (validation)'],
  ]) {
    const f = F[k];
    if (f)
      rows.push([
        `${k.startsWith('validation') ? 'validation' : 'register'} req/s (vs raw), p50, p99 ms, ${what}`,
        `${Math.round(f.reqPerSec)} (${ratio(f.reqPerSec)?.toFixed(3) ?? '?'}), ${f.p50Ms}, ${f.p99Ms}`,
        '(info)',
        '',
      ]);
  }
  if (F.registerGroupCommitOff && F.registerGroupCommitTurn)
    rows.push([
      'latency group commit adds (same turn vs off): p50, p99 ms',
      `${(F.registerGroupCommitTurn.p50Ms - F.registerGroupCommitOff.p50Ms).toFixed(2)}, ${(
        F.registerGroupCommitTurn.p99Ms - F.registerGroupCommitOff.p99Ms
      ).toFixed(2)}`,
      '(info)',
      '',
    ]);
  for (const k of ['registerDurability0', 'registerDurability1']) {
    const f = F[k];
    if (f)
      rows.push([
        `register req/s, p99 ms with DURABILITY_REPLICAS=${k.slice(-1)} (one replica)`,
        `${Math.round(f.reqPerSec)}, ${f.p99Ms}`,
        '(info)',
        '',
      ]);
  }
  if (F.pollWorkers2 || F.rawNodeHttpWorkers2)
    rows.push([
      'whole box: poll req/s, API_WORKERS=2; raw node:http, 2 workers (poll vs raw 2 workers)',
      `${Math.round(F.pollWorkers2?.reqPerSec ?? 0)}; ${Math.round(F.rawNodeHttpWorkers2?.reqPerSec ?? 0)}` +
        (ratios.pollWorkers2VsRawWorkers2 ? ` (${ratios.pollWorkers2VsRawWorkers2.toFixed(3)}x)` : ''),
      '(info)',
      '',
    ]);
  for (const [k, c] of Object.entries(cpuRatios)) {
    rows.push([
      `${k} server CPU/req vs raw (api; api+redis)`,
      `${c.apiOnly.toFixed(2)}x; ${c.apiAndRedis.toFixed(2)}x`,
      '(info)',
      '',
    ]);
  }
  rows.push(...targetRows(measuredTargets));
  printTable(rows);
  console.log(`\nwrote bench/results.json${SMOKE ? ' (smoke run: figures are not representative)' : ''}`);
  if (REPORT) {
    writeReport(REPORT, benchReportSpec(measuredTargets, rows, SMOKE));
    console.log(`wrote the report ${REPORT}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
