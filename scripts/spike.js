#!/usr/bin/env node
// @ts-check
/**
 * `npm run spike`: the spike test of k6scripts/spike-test.js, from Node (no k6 needed).
 *
 * 50 virtual users ramp up in 1 s, hold 10 s, ramp down in 1 s. Each one, in a loop, registers a new user in the
 * waiting queue of a random item 1..8, polls the token at the server's `pollAfterMs` until admitted, then sleeps
 * 3 s. Users still waiting when the stages end are followed until admitted (at most --drain-seconds).
 *
 * Prints users, registered, admitted, FIFO violations, error rate, p50/p95/p99 latency and polls; with --json the
 * last line of stdout is one JSON object of the figures. Exit code 1 when a check fails: FIFO violations,
 * admitted < registered, error rate >= 1 %, p95 >= 100 ms (k6's thresholds); 2 on bad arguments.
 * With --report FILE it also writes an HTML report with charts (uPlot, inlined): requests/s and p50/p99 latency per
 * second of the run, and admitted users per scheduler tick, beside the summary table.
 *
 *   BASE_URL=http://127.0.0.1:8080 npm run spike -- --vus 10 --hold-seconds 3 --json
 */
const { parseArgs } = require('node:util');
const { runSpike, thresholdFailures, SPIKE_DEFAULTS, DEFAULT_THRESHOLDS } = require('./lib/spike-core');
const { writeReport } = require('./lib/report');

const USAGE = `usage: node scripts/spike.js [options]   (BASE_URL env, default ${SPIKE_DEFAULTS.baseUrl})
  --base-url <url>           overrides BASE_URL
  --vus <n>                  virtual users at the peak (default ${SPIKE_DEFAULTS.vus})
  --ramp-up-seconds <s>      (default ${SPIKE_DEFAULTS.rampUpSeconds})
  --hold-seconds <s>         (default ${SPIKE_DEFAULTS.holdSeconds})
  --ramp-down-seconds <s>    (default ${SPIKE_DEFAULTS.rampDownSeconds})
  --items <n>                items 1..n are used (default ${SPIKE_DEFAULTS.items})
  --sleep-seconds <s>        sleep after each admission (default ${SPIKE_DEFAULTS.sleepSeconds})
  --max-polls <n>            polls per user before giving up (default ${SPIKE_DEFAULTS.maxPolls})
  --drain-seconds <s>        follow waiting users this long after the stages (default ${SPIKE_DEFAULTS.drainSeconds})
  --max-p95-ms <ms>          latency threshold (default ${DEFAULT_THRESHOLDS.maxP95Ms}, as k6's p(95)<100)
  --no-latency-threshold     do not fail on p95 (noisy CI machines)
  --report <file>            also write an HTML report with charts to <file>
  --json                     last stdout line: the figures as one JSON object
  --quiet                    no progress lines on stderr`;

/** @typedef {import('./lib/spike-core').SpikeResult} SpikeResult */
/** @typedef {import('./lib/spike-core').Thresholds} Thresholds */
/** @typedef {import('./lib/spike-core').SpikeOptions} SpikeOptions */

/**
 * The numeric flags: the runSpike option (or threshold) each sets, and its bounds.
 * @type {Record<string, {key: keyof SpikeOptions | 'maxP95Ms', int?: boolean, min: number}>}
 */
const NUMERIC = {
  vus: { key: 'vus', int: true, min: 1 },
  'ramp-up-seconds': { key: 'rampUpSeconds', min: 0 },
  'hold-seconds': { key: 'holdSeconds', min: 0 },
  'ramp-down-seconds': { key: 'rampDownSeconds', min: 0 },
  items: { key: 'items', int: true, min: 1 },
  'sleep-seconds': { key: 'sleepSeconds', min: 0 },
  'max-polls': { key: 'maxPolls', int: true, min: 1 },
  'drain-seconds': { key: 'drainSeconds', min: 0 },
  'max-p95-ms': { key: 'maxP95Ms', min: 0 },
};

/**
 * Parses argv into runSpike options and thresholds.
 * @param {string[]} argv
 * @throws Error with a message for the user.
 */
function parseCli(argv) {
  /** @type {import('node:util').ParseArgsConfig['options'] & {}} */
  const optionSpec = {
    'base-url': { type: 'string' },
    report: { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
    'no-latency-threshold': { type: 'boolean' },
  };
  for (const name of Object.keys(NUMERIC)) optionSpec[name] = { type: 'string' };
  const { values } = parseArgs({ args: argv, options: optionSpec, strict: true, allowPositionals: false });
  /** @type {Record<string, string | boolean | (string | boolean)[] | undefined>} */
  const flags = values;
  /** @type {Partial<SpikeOptions> & {baseUrl: string}} */
  const options = { baseUrl: String(flags['base-url'] || process.env.BASE_URL || SPIKE_DEFAULTS.baseUrl) };
  /** @type {{maxErrorRate: number, maxP95Ms: number | null}} */
  const thresholds = { ...DEFAULT_THRESHOLDS };
  for (const [name, spec] of Object.entries(NUMERIC)) {
    if (flags[name] === undefined) continue;
    const v = Number(flags[name]);
    if (!Number.isFinite(v) || v < spec.min || (spec.int && !Number.isInteger(v))) {
      throw new Error(`--${name} must be ${spec.int ? 'an integer' : 'a number'} >= ${spec.min}, got ${flags[name]}`);
    }
    if (spec.key === 'maxP95Ms') thresholds.maxP95Ms = v;
    else /** @type {Record<string, unknown>} */ (options)[spec.key] = v;
  }
  if (flags['no-latency-threshold']) thresholds.maxP95Ms = null;
  new URL(options.baseUrl); // throws on a malformed URL
  if (flags.report === '') throw new Error('--report needs a file name');
  const report = typeof flags.report === 'string' ? flags.report : undefined;
  return {
    options,
    thresholds,
    report,
    json: Boolean(flags.json),
    quiet: Boolean(flags.quiet),
    help: Boolean(flags.help),
  };
}

/**
 * Prints the figures and the verdict on stdout.
 * @param {SpikeResult} r
 * @param {string[]} failures
 * @param {Thresholds} thresholds
 */
function printSummary(r, failures, thresholds) {
  const pct = (/** @type {number} */ x) => `${(x * 100).toFixed(2)} %`;
  const lines = [
    `spike against ${r.baseUrl} (run ${r.runId}, ${r.options.vus} VUs, ${r.options.items} items, ${(r.durationMs / 1000).toFixed(1)} s)`,
    `  users            ${r.users}`,
    `  registered       ${r.registered}`,
    `  admitted         ${r.admitted}`,
    `  FIFO violations  ${r.fifoViolations}`,
    `  error rate       ${pct(r.errorRate)} (${r.errors} of ${r.requests} requests; by status ${JSON.stringify(r.statusCounts)})`,
    `  latency ms       p50 ${r.p50}  p95 ${r.p95}  p99 ${r.p99}  max ${r.max}`,
    `  polls            ${r.polls}`,
    `  admission wait   p50 ${r.admissionWaitMs.p50} ms  p95 ${r.admissionWaitMs.p95} ms  max ${r.admissionWaitMs.max} ms`,
    `  thresholds       errorRate < ${thresholds.maxErrorRate}, ${thresholds.maxP95Ms === null ? 'p95 not checked' : `p95 < ${thresholds.maxP95Ms} ms`}, FIFO 0, admitted == registered`,
    failures.length ? `  FAILED: ${failures.join('; ')}` : '  passed',
  ];
  if (r.fifoExamples.length) lines.splice(5, 0, `  FIFO examples    ${JSON.stringify(r.fifoExamples)}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

/**
 * The spike's HTML report: the summary, then requests/s and latency per second, and admitted users per tick.
 * @param {SpikeResult} r
 * @param {string[]} failures
 * @param {{maxErrorRate: number, maxP95Ms: number | null}} thresholds
 * @returns {import('./lib/report').ReportSpec}
 */
function reportSpec(r, failures, thresholds) {
  const t = r.timeline;
  const ticks = r.admissionsPerTick;
  return {
    title: `Spike test: ${failures.length ? 'FAILED' : 'passed'}`,
    subtitle: `${r.baseUrl}, run ${r.runId}, ${r.options.vus} VUs, ${r.options.items} items, ${(r.durationMs / 1000).toFixed(1)} s, ${new Date().toISOString()}`,
    table: [
      ['figure', 'value', 'threshold'],
      ['users registered', r.registered, ''],
      ['users admitted', r.admitted, 'admitted == registered'],
      ['FIFO violations', r.fifoViolations, '0'],
      [
        'error rate',
        `${(r.errorRate * 100).toFixed(2)} % (${r.errors} of ${r.requests})`,
        `< ${thresholds.maxErrorRate * 100} %`,
      ],
      [
        'latency p50 / p95 / p99 ms',
        `${r.p50} / ${r.p95} / ${r.p99}`,
        thresholds.maxP95Ms === null ? 'p95 not checked' : `p95 < ${thresholds.maxP95Ms}`,
      ],
      ['admission wait p50 / p95 ms', `${r.admissionWaitMs.p50} / ${r.admissionWaitMs.p95}`, ''],
      ['result', failures.length ? `FAILED: ${failures.join('; ')}` : 'passed', ''],
    ],
    charts: [
      {
        title: 'Requests per second',
        kind: 'line',
        x: t.seconds,
        xLabel: 'second of the run',
        yLabel: 'requests/s',
        series: [{ label: 'requests/s', values: t.requestsPerSecond }],
      },
      {
        title: 'Latency per second (ms)',
        kind: 'line',
        x: t.seconds,
        xLabel: 'second of the run',
        yLabel: 'ms',
        series: [
          { label: 'p50 ms', values: t.p50Ms },
          { label: 'p99 ms', values: t.p99Ms },
        ],
      },
      {
        title: 'Admitted users per tick',
        kind: 'bars',
        x: ticks.at.map((_, i) => i),
        xLabels: ticks.at.map((a) => `${a} s`),
        xLabel: 'tick (seconds after the first admission)',
        yLabel: 'users',
        series: [{ label: 'admitted', values: ticks.admitted }],
      },
    ],
  };
}

async function main() {
  let cli;
  try {
    cli = parseCli(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${/** @type {Error} */ (err).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (cli.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const onProgress = cli.quiet
    ? undefined
    : (/** @type {import('./lib/spike-core').SpikeProgress} */ p) =>
        process.stderr.write(
          `[spike] t=${(p.elapsedMs / 1000).toFixed(0)}s vus=${p.activeVus} registered=${p.registered} admitted=${p.admitted} waiting=${p.waiting} requests=${p.requests}\n`,
        );
  const result = await runSpike(cli.options, onProgress);
  const failures = thresholdFailures(result, cli.thresholds);
  printSummary(result, failures, cli.thresholds);
  if (cli.report) {
    writeReport(cli.report, reportSpec(result, failures, cli.thresholds));
    process.stdout.write(`wrote the report ${cli.report}\n`);
  }
  if (cli.json)
    process.stdout.write(
      `${JSON.stringify({ ...result, thresholds: cli.thresholds, failures, ok: failures.length === 0 })}\n`,
    );
  process.exitCode = failures.length ? 1 : 0;
}

main().catch((err) => {
  process.stderr.write(`spike failed: ${err.stack || err}\n`);
  process.exit(1);
});
