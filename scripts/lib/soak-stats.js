// @ts-check
/**
 * Resource sampling and trend of `npm run load`'s soak: the api process's resident memory (Linux /proc) and Redis
 * `used_memory`, and the least-squares slope of a series.
 */
const { readFileSync } = require('node:fs');

/**
 * Resident set size of process `pid`, bytes (VmRSS of /proc/<pid>/status).
 * @param {number} pid
 * @returns {number}
 * @throws when the process does not exist or /proc is not Linux's.
 */
function rssBytes(pid) {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

/**
 * Redis `used_memory` (INFO memory), bytes.
 * @param {import('ioredis').Redis} redis
 * @returns {Promise<number>}
 */
async function redisUsedMemory(redis) {
  const m = /^used_memory:(\d+)\r?$/m.exec(await redis.info('memory'));
  if (!m) throw new Error('no used_memory in INFO memory');
  return Number(m[1]);
}

/**
 * Least-squares slope of `points` ([x, y] pairs), y units per x unit; null for fewer than 2 distinct x.
 * @param {[number, number][]} points
 * @returns {number|null}
 */
function slope(points) {
  const n = points.length;
  if (n < 2) return null;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
  }
  return sxx === 0 ? null : sxy / sxx;
}

/**
 * Summary of a memory series sampled at `samples[i].tMs` (ms since the soak began): first, last, min, max (bytes)
 * and the slope in bytes per minute; null when the series is empty.
 * @param {{tMs: number, bytes: number}[]} samples
 */
function memoryTrend(samples) {
  if (samples.length === 0) return null;
  const bytes = samples.map((s) => s.bytes);
  const perMs = slope(samples.map((s) => [s.tMs, s.bytes]));
  return {
    samples: samples.length,
    firstBytes: bytes[0],
    lastBytes: bytes[bytes.length - 1],
    minBytes: Math.min(...bytes),
    maxBytes: Math.max(...bytes),
    slopeBytesPerMinute: perMs === null ? null : Math.round(perMs * 60_000),
  };
}

module.exports = { rssBytes, redisUsedMemory, slope, memoryTrend };
