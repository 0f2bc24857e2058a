// @ts-check
/**
 * What bench/run.js and bench/million.js share: CPU accounting of a process tree, the wait for every api worker,
 * the bulk seed of a waiting queue, the results table, and the stop of every child process on SIGINT/SIGTERM.
 */
const { readFileSync } = require('node:fs');
const { keys } = require('@waiting-queue/core/keys');
const { writeReport } = require('../scripts/lib/report');

const log = (/** @type {string} */ m) => process.stderr.write(`[bench] ${m}\n`);

/**
 * CPU seconds (user + system) a process and its live children (a cluster's workers) have used so far, from
 * /proc/<pid>/stat and /proc/<pid>/task/<pid>/children; null where unreadable.
 * @param {number | undefined} pid
 * @returns {number | null}
 */
function cpuSeconds(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    let children = 0;
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean))
        children += cpuSeconds(Number(c)) ?? 0;
    } catch {
      /* no children list: the process alone */
    }
    return (Number(f[11]) + Number(f[12])) / 100 + children;
  } catch {
    return null;
  }
}

/**
 * Waits until `/health/ready` answers 200 on 3 x `workers` fresh connections in a row: the cluster hands new
 * connections to its workers in turn, so every worker has then answered ready (each answers for itself).
 * @param {number} port
 * @param {number} workers
 * @throws after 60 s.
 */
async function allWorkersReady(port, workers) {
  const status = () =>
    new Promise((resolve) => {
      const req = require('node:http').get({ host: '127.0.0.1', port, path: '/health/ready', agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      });
      req.on('error', () => resolve(0));
    });
  const deadline = Date.now() + 60_000;
  for (let inRow = 0; inRow < 3 * workers;) {
    if (Date.now() > deadline) throw new Error(`not every api worker was ready within 60 s`);
    if ((await status()) === 200) inRow++;
    else {
      inRow = 0;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * Puts `count` users in `itemId`'s waiting queue with the product's own layout (ZSET userId -> seq, the item's
 * seq counter), in pipelined batches: the same bytes registration writes, without 1,000,000 HTTP calls. User i
 * (0-based) is `${prefix}${i}` at place i + 1.
 * @param {import('ioredis').Redis} redis
 * @param {string} itemId
 * @param {number} count
 */
async function fillQueue(redis, itemId, count, prefix = 'u') {
  const key = keys.waiting(itemId);
  for (let start = 0; start < count; start += 10_000) {
    const pipe = redis.pipeline();
    const end = Math.min(count, start + 10_000);
    for (let b = start; b < end; b += 1000) {
      const zargs = [];
      for (let i = b; i < Math.min(end, b + 1000); i++) zargs.push(i + 1, `${prefix}${i}`);
      pipe.zadd(key, ...zargs);
    }
    await pipe.exec();
  }
  await redis.hset(keys.item(itemId), 'seq', count);
}

/**
 * The results file as it is (bench/results.json), so that a run of one mode keeps the other's figures.
 * @param {string} file
 * @returns {Record<string, unknown>} its object; empty when it is missing or not JSON.
 */
function readResults(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return {};
  }
}

/** `used_memory` of INFO memory, bytes. @param {import('ioredis').Redis} redis */
async function usedMemory(redis) {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
}

/**
 * Prints `rows` (the first is the header) as aligned columns on stdout.
 * @param {(string | number)[][]} rows
 */
function printTable(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  for (const r of rows) console.log(r.map((cell, c) => String(cell).padEnd(widths[c])).join('  '));
}

/**
 * A target row of the results: the figure, its measured value (null: not measured), the target as printed and
 * whether it was met (null: not measured).
 * @typedef {{figure: string, value: number | null, target: string, met: boolean | null}} Target
 */

/**
 * The printed table's rows of `targets`: figure, measured, target, met ('yes', 'NO', or blank when not measured).
 * @param {Target[]} targets
 * @returns {(string | number)[][]}
 */
function targetRows(targets) {
  return targets.map((t) => [
    t.figure,
    t.value == null ? 'n/a' : Number(t.value).toFixed(Number(t.value) < 10 ? 3 : 0),
    t.target,
    t.met == null ? '' : t.met ? 'yes' : 'NO',
  ]);
}

/**
 * The bench's HTML report: the table as printed, and one chart per target figure that was measured, with the
 * measured value beside the target value (the number in the target, e.g. 25 of '<= 25').
 * @param {{figure: string, value: number | null, target: string, met: boolean | null}[]} targets
 * @param {(string | number)[][]} rows the table as printed
 * @param {boolean} smoke a smoke run (said in the subtitle)
 * @returns {import('../scripts/lib/report').ReportSpec}
 */
function benchReportSpec(targets, rows, smoke) {
  const measured = targets.filter((t) => t.value != null);
  return {
    title: `Bench: ${measured.filter((t) => t.met).length} of ${measured.length} measured targets met`,
    subtitle: `${new Date().toISOString()}${smoke ? ', smoke run: figures are not representative' : ''}`,
    table: rows,
    charts: measured.map((t) => ({
      title: `${t.figure}: ${Number(t.value).toFixed(Number(t.value) < 10 ? 3 : 0)} (target ${t.target}, ${t.met ? 'met' : 'NOT met'})`,
      kind: /** @type {const} */ ('bars'),
      x: [0],
      xLabels: [t.figure],
      xLabel: '',
      yLabel: '',
      series: [
        { label: 'measured', values: [t.value], color: t.met ? '#166534' : '#b91c1c' },
        { label: `target ${t.target}`, values: [Number(/[\d.]+/.exec(t.target)?.[0])], color: '#4a5160' },
      ],
    })),
  };
}

/** Stops of the children this process started and has not stopped yet, run on SIGINT/SIGTERM. */
const stops = new Set();
let signalsInstalled = false;

/**
 * Remembers `stop` (of a child process this bench started) and runs it on SIGINT or SIGTERM: the bench then stops
 * every child it still runs, newest first (so redis-server, started first, stops last), and exits 130 or 143.
 * Without this a SIGTERM to the bench alone left its redis-server, api and scheduler running.
 * @param {() => Promise<unknown>} stop
 * @returns {() => Promise<void>} the stop to call instead: it forgets `stop`, then runs it.
 */
function stopOnSignal(stop) {
  const entry = async () => void (await stop());
  stops.add(entry);
  if (!signalsInstalled) {
    signalsInstalled = true;
    for (const [sig, code] of /** @type {const} */ ([
      ['SIGINT', 130],
      ['SIGTERM', 143],
    ])) {
      process.on(sig, () => {
        log(`${sig}: stopping ${stops.size} child process(es)`);
        void (async () => {
          for (const s of [...stops].reverse()) await s().catch(() => undefined);
          process.exit(code);
        })();
      });
    }
  }
  return async () => {
    stops.delete(entry);
    await entry();
  };
}

module.exports = {
  log,
  cpuSeconds,
  allWorkersReady,
  fillQueue,
  usedMemory,
  printTable,
  targetRows,
  benchReportSpec,
  writeReport,
  stopOnSignal,
  readResults,
};
