// @ts-check
/**
 * The spike scenario of k6scripts/spike-test.js, driven from Node with undici: virtual users (VUs) that each, in a
 * loop, register a new user in the waiting queue of a random item, poll the token when the server says
 * (`pollAfterMs`) until admitted, then sleep. Every user who registered is followed until admitted (or until the
 * drain deadline), so that "admitted == registered" and the FIFO order of admissions can be checked.
 *
 * Used by scripts/spike.js (`npm run spike`); the bench may reuse {@link runSpike} and the statistics.
 */
const { setTimeout: sleep } = require('node:timers/promises');
const { randomBytes } = require('node:crypto');
const { Pool } = require('undici');
const { apiRoutes } = require('@waiting-queue/http/route-tables');
const { pathOf } = require('@waiting-queue/http/routes');
const { percentile, latencySummary, vuWindow, countFifoViolations } = require('./spike-stats');
const { perSecond } = require('./report');

/** @typedef {import('./spike-stats').FifoUser} FifoUser */
/** @typedef {import('./spike-stats').FifoExample} FifoExample */

/**
 * Options of {@link runSpike}; durations in seconds unless the name says ms. `runId` prefixes the user ids;
 * `random` picks items.
 * @typedef {{baseUrl: string, vus: number, rampUpSeconds: number, holdSeconds: number, rampDownSeconds: number,
 *   items: number, sleepSeconds: number, maxPolls: number, drainSeconds: number, requestTimeoutMs: number,
 *   runId?: string, random?: () => number}} SpikeOptions
 */

/**
 * What {@link runSpike} reports about once a second.
 * @typedef {{elapsedMs: number, activeVus: number, users: number, registered: number, admitted: number,
 *   waiting: number, requests: number}} SpikeProgress
 */

/**
 * The figures of a run (see {@link summarize}).
 * @typedef {ReturnType<typeof summarize>} SpikeResult
 */

/**
 * The pass/fail limits of {@link thresholdFailures}; maxP95Ms null: latency not checked.
 * @typedef {{maxErrorRate?: number, maxP95Ms?: number|null}} Thresholds
 */

/** Defaults of {@link runSpike}: the k6 script's stages (1 s up to 50 VUs, 10 s hold, 1 s down), 8 items. */
const SPIKE_DEFAULTS = Object.freeze({
  baseUrl: 'http://127.0.0.1:8080',
  vus: 50,
  rampUpSeconds: 1,
  holdSeconds: 10,
  rampDownSeconds: 1,
  /** Items 1..items are used (the demo items of `npm start`). */
  items: 8,
  /** Sleep after each iteration (after the admission), seconds. */
  sleepSeconds: 3,
  /** Polls per user before giving up on it (as the k6 script). */
  maxPolls: 120,
  /** After the last stage, how long users still waiting are followed, seconds. */
  drainSeconds: 60,
  /** Per-request timeout (headers and body), milliseconds. */
  requestTimeoutMs: 10_000,
});

/** The k6 thresholds: http_req_failed rate<0.01, http_req_duration p(95)<100. */
const DEFAULT_THRESHOLDS = Object.freeze({ maxErrorRate: 0.01, maxP95Ms: 100 });

const now = () => performance.now();

/**
 * A keep-alive HTTP client of the waiting-queue API that records every request: duration (ms, request start to
 * body read), status (0 for a network error or timeout).
 */
class RecordingClient {
  /**
   * @param {string} baseUrl e.g. `http://127.0.0.1:8080` (a path prefix is kept)
   * @param {number} connections keep-alive connections (one per VU is enough: a VU has one request in flight)
   * @param {number} timeoutMs per-request headers and body timeout
   */
  constructor(baseUrl, connections, timeoutMs) {
    const url = new URL(baseUrl);
    this.prefix = url.pathname.replace(/\/+$/, '');
    this.pool = new Pool(url.origin, { connections, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    /** @type {number[]} Durations of requests that got a response, milliseconds. */
    this.durations = [];
    /** @type {Record<string, number>} Responses by status ("0" = network error or timeout). */
    this.statusCounts = {};
    this.requests = 0;
    /** Non-2xx responses and network errors. */
    this.errors = 0;
    /** Start of the run (driver clock, ms): request start times are kept relative to it. */
    this.t0 = now();
    /**
     * Every request: start (ms since t0) and duration (ms; null without a response), for the per-second figures.
     * @type {{startMs: number, durationMs: number|null}[]}
     */
    this.samples = [];
  }

  /**
   * Sends one request with header `user-id` and parses the envelope.
   * @param {'GET'|'POST'} method
   * @param {string} path below the base URL
   * @param {string} userId
   * @returns {Promise<{status: number, body: any, error?: string}>} status 0 on a network error (never throws)
   */
  async call(method, path, userId) {
    this.requests++;
    const started = now();
    let status = 0;
    let text = '';
    /** @type {string | undefined} */
    let error;
    try {
      const res = await this.pool.request({ method, path: this.prefix + path, headers: { 'user-id': userId } });
      status = res.statusCode;
      text = await res.body.text();
      this.durations.push(now() - started);
      this.samples.push({ startMs: started - this.t0, durationMs: now() - started });
    } catch (err) {
      const code = /** @type {{code?: string}} */ (err)?.code;
      error = code ? code : String(err);
      this.samples.push({ startMs: started - this.t0, durationMs: null });
    }
    this.statusCounts[status] = (this.statusCounts[status] || 0) + 1;
    if (status < 200 || status > 299) this.errors++;
    let body = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      /* not the envelope: kept null */
    }
    return { status, body, error };
  }

  /** Closes the keep-alive connections. */
  close() {
    return this.pool.close();
  }
}

/**
 * Runs the spike scenario against a running api.
 *
 * @param {Partial<SpikeOptions>} options `runId` prefixes the user ids (default: random, so runs against the same
 *   Redis never reuse a user); `random` picks items (default Math.random).
 * @param {(p: SpikeProgress) => void} [onProgress] called about once a second
 * @returns {Promise<ReturnType<typeof summarize>>} the figures (see {@link summarize}); never throws for HTTP
 *   failures (they are counted)
 */
async function runSpike(options = {}, onProgress) {
  const o = { ...SPIKE_DEFAULTS, ...options };
  const runId = o.runId || `s${randomBytes(3).toString('hex')}`;
  const random = o.random || Math.random;
  const stages = {
    vus: o.vus,
    rampUpMs: o.rampUpSeconds * 1000,
    holdMs: o.holdSeconds * 1000,
    rampDownMs: o.rampDownSeconds * 1000,
  };
  const stagesMs = stages.rampUpMs + stages.holdMs + stages.rampDownMs;
  const client = new RecordingClient(o.baseUrl, o.vus, o.requestTimeoutMs);
  // The paths come from the route tables, built once per item before the run: a poll only joins its token in.
  /** @type {Map<string, {register: string, pollHead: string, pollTail: string}>} */
  const paths = new Map();
  for (let i = 1; i <= o.items; i++) {
    const [pollHead, pollTail] = pathOf(apiRoutes.poll, { itemId: i, waitingQueueToken: '\u0000' }).split('%00');
    paths.set(String(i), { register: pathOf(apiRoutes.register, { itemId: i }), pollHead, pollTail });
  }
  /** @type {SpikeUser[]} */
  const users = [];
  let polls = 0;
  let activeVus = 0;
  const t0 = now();
  client.t0 = t0;
  const drainDeadline = t0 + stagesMs + o.drainSeconds * 1000;

  /**
   * Follows one registered user until admitted; sets user.outcome.
   * @param {SpikeUser} user
   * @param {{pollAfterMs?: number, canOrder?: boolean, admissionExpiresAt?: number}} firstView the registration's data
   */
  async function follow(user, firstView) {
    /** @type {typeof firstView | null} */
    let view = firstView;
    let waitMs = firstView.pollAfterMs;
    for (;;) {
      if (view && view.canOrder) {
        user.admissionExpiresAt = view.admissionExpiresAt ?? null;
        user.admittedAt = now();
        user.outcome = 'admitted';
        return;
      }
      if (user.polls >= o.maxPolls) return void (user.outcome = 'max-polls');
      if (!(waitMs !== undefined && Number.isFinite(waitMs) && waitMs > 0)) waitMs = 1000;
      if (now() + waitMs > drainDeadline) return void (user.outcome = 'abandoned');
      await sleep(waitMs);
      user.polls++;
      polls++;
      const p = /** @type {{pollHead: string, pollTail: string}} */ (paths.get(user.itemId));
      const res = await client.call('GET', `${p.pollHead}${user.token}${p.pollTail}`, user.userId);
      if (res.status >= 200 && res.status < 300 && res.body && res.body.data) {
        view = res.body.data;
        waitMs = res.body.data.pollAfterMs;
      } else if (res.status === 0 || res.status >= 500 || res.status === 429) {
        view = null; // transient: poll again in a second
        waitMs = 1000;
      } else {
        user.outcome = `lost-${res.status}`; // e.g. 404: the place is gone
        user.error = res.body && res.body.errorCode;
        return;
      }
    }
  }

  /**
   * One iteration of a VU: registers a new user and follows it.
   * @param {number} vu 1-based
   * @param {number} iter 0-based
   */
  async function iteration(vu, iter) {
    /** @type {SpikeUser} */
    const user = {
      userId: `${runId}_${vu}_${iter}`,
      itemId: String(1 + Math.floor(random() * o.items)),
      registerSentAt: now(),
      registeredAt: null,
      token: null,
      admissionExpiresAt: null,
      admittedAt: null,
      polls: 0,
      outcome: 'registering',
    };
    users.push(user);
    const res = await client.call(
      'POST',
      /** @type {{register: string}} */ (paths.get(user.itemId)).register,
      user.userId,
    );
    user.registeredAt = now();
    const view = res.body && res.body.data;
    if (res.status < 200 || res.status > 299 || !view || !view.waitingQueueToken) {
      user.outcome = `register-failed-${res.status}`;
      user.error = (res.body && res.body.errorCode) || res.error;
      return;
    }
    user.token = view.waitingQueueToken;
    user.outcome = 'waiting';
    await follow(user, view);
  }

  /** @param {number} vu 1-based */
  async function vuLoop(vu) {
    const { startMs, stopMs } = vuWindow(vu, stages);
    const stopAt = t0 + stopMs;
    if (t0 + startMs > now()) await sleep(t0 + startMs - now());
    activeVus++;
    for (let iter = 0; now() < stopAt; iter++) {
      await iteration(vu, iter);
      const rest = Math.min(o.sleepSeconds * 1000, stopAt - now());
      if (rest > 0) await sleep(rest);
    }
    activeVus--;
  }

  const progress = () => {
    if (!onProgress) return;
    const registered = users.filter((u) => u.registeredAt !== null && u.token !== null).length;
    const admitted = users.filter((u) => u.outcome === 'admitted').length;
    onProgress({
      elapsedMs: Math.round(now() - t0),
      activeVus,
      users: users.length,
      registered,
      admitted,
      waiting: users.filter((u) => u.outcome === 'waiting').length,
      requests: client.requests,
    });
  };
  const timer = setInterval(progress, 1000);
  try {
    await Promise.all(Array.from({ length: o.vus }, (_, i) => vuLoop(i + 1)));
  } finally {
    clearInterval(timer);
    await client.close();
  }
  progress();
  return summarize({ users, client, polls, durationMs: now() - t0, runId, options: o });
}

/**
 * @typedef {{userId: string, itemId: string, registerSentAt: number, registeredAt: number|null, token: string|null,
 *   admissionExpiresAt: number|null, admittedAt: number|null, polls: number, outcome: string, error?: string}} SpikeUser
 */

/**
 * The figures of a run. Latencies in milliseconds (all requests that got a response), errorRate = (non-2xx +
 * network errors) / requests, admissionWait = registration response to the poll that saw the admission (ms).
 * Fields: users (registration attempts), registered, admitted, notAdmitted, fifoViolations (+ fifoExamples),
 * errorRate, errors, requests, polls, p50, p95, p99, max, mean, statusCounts ("0": network errors), outcomes
 * (users per final state), admissionWaitMs {p50, p95, max}, durationMs, timeline (per second of the run: seconds,
 * requestsPerSecond, p50Ms, p99Ms), admissionsPerTick {at (s), admitted}, runId, baseUrl, options.
 */
/**
 * Admitted users per scheduler tick, as the Redis clock saw them: the admissions grouped by the second of their
 * `admissionExpiresAt` (one tick stamps its admissions with one expiry; the scheduler ticks once a second by
 * default). `at`: seconds after the first tick that admitted one of the run's users.
 * @param {SpikeUser[]} admittedUsers
 * @returns {{at: number[], admitted: number[]}}
 */
function admissionsPerTick(admittedUsers) {
  /** @type {Map<number, number>} */
  const bySecond = new Map();
  for (const u of admittedUsers) {
    if (u.admissionExpiresAt === null || !Number.isFinite(u.admissionExpiresAt)) continue;
    const sec = Math.floor(u.admissionExpiresAt / 1000);
    bySecond.set(sec, (bySecond.get(sec) || 0) + 1);
  }
  const secs = [...bySecond.keys()].sort((a, b) => a - b);
  return { at: secs.map((x) => x - secs[0]), admitted: secs.map((x) => bySecond.get(x) ?? 0) };
}

/**
 * @param {{users: SpikeUser[], client: RecordingClient, polls: number, durationMs: number, runId: string,
 *   options: SpikeOptions}} run
 */
function summarize({ users, client, polls, durationMs, runId, options }) {
  const registeredUsers = users.filter((u) => u.token !== null);
  const admittedUsers = users.filter((u) => u.outcome === 'admitted');
  /** @type {Record<string, number>} */
  const outcomes = {};
  for (const u of users) outcomes[u.outcome] = (outcomes[u.outcome] || 0) + 1;
  // Registered users have registeredAt set, admitted ones admittedAt too.
  const fifo = countFifoViolations(/** @type {FifoUser[]} */ (admittedUsers));
  const waits = admittedUsers.map((u) => /** @type {number} */ (u.admittedAt) - /** @type {number} */ (u.registeredAt));
  const round = (/** @type {number|null} */ v) => (v === null ? null : Math.round(v));
  return {
    users: users.length,
    registered: registeredUsers.length,
    admitted: admittedUsers.length,
    notAdmitted: registeredUsers.length - admittedUsers.length,
    fifoViolations: fifo.violations,
    fifoExamples: fifo.examples,
    errorRate: client.requests ? client.errors / client.requests : 0,
    errors: client.errors,
    requests: client.requests,
    polls,
    ...latencySummary(client.durations),
    statusCounts: client.statusCounts,
    outcomes,
    admissionWaitMs: {
      p50: round(percentile(waits, 50)),
      p95: round(percentile(waits, 95)),
      max: round(percentile(waits, 100)),
    },
    durationMs: Math.round(durationMs),
    timeline: perSecond(client.samples, percentile),
    admissionsPerTick: admissionsPerTick(admittedUsers),
    runId,
    baseUrl: options.baseUrl,
    options: {
      vus: options.vus,
      rampUpSeconds: options.rampUpSeconds,
      holdSeconds: options.holdSeconds,
      rampDownSeconds: options.rampDownSeconds,
      items: options.items,
      sleepSeconds: options.sleepSeconds,
      maxPolls: options.maxPolls,
      drainSeconds: options.drainSeconds,
    },
  };
}

/**
 * The pass/fail checks of a run (the k6 thresholds plus the waiting-room invariants).
 * @param {{registered: number, admitted: number, fifoViolations: number, errorRate: number, p95: number|null}} r
 * @param {Thresholds} [t] maxP95Ms null: latency not checked
 * @returns {string[]} one line per failed check; empty when the run passes
 */
function thresholdFailures(r, t = {}) {
  const maxErrorRate = t.maxErrorRate ?? DEFAULT_THRESHOLDS.maxErrorRate;
  const maxP95Ms = t.maxP95Ms === undefined ? DEFAULT_THRESHOLDS.maxP95Ms : t.maxP95Ms;
  const failures = [];
  if (r.registered === 0) failures.push('no user registered (is the api at BASE_URL up, and are items 1..N seeded?)');
  if (r.fifoViolations > 0) failures.push(`${r.fifoViolations} FIFO violation(s)`);
  if (r.admitted < r.registered) failures.push(`admitted ${r.admitted} < registered ${r.registered}`);
  if (!(r.errorRate < maxErrorRate)) failures.push(`error rate ${r.errorRate} >= ${maxErrorRate}`);
  if (maxP95Ms !== null && !(r.p95 !== null && r.p95 < maxP95Ms)) failures.push(`p95 ${r.p95} ms >= ${maxP95Ms} ms`);
  return failures;
}

module.exports = {
  SPIKE_DEFAULTS,
  DEFAULT_THRESHOLDS,
  RecordingClient,
  runSpike,
  summarize,
  thresholdFailures,
  percentile,
  latencySummary,
  vuWindow,
  countFifoViolations,
};
