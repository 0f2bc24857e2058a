#!/usr/bin/env node
// @ts-check
/**
 * Summarises a V8 CPU profile (`node --cpu-prof`, e.g. from `npm run bench -- --only endpoints --cpu-prof`):
 * self time by function and by package, in percent of the samples, so that a profile can be read in a terminal.
 *
 * With --inclusive, also total time (self + callees) of the functions of our own packages, each counted once per
 * sample even when recursive: where the product's own code spends its share.
 *
 * Usage: node bench/profile-summary.js <file.cpuprofile> [--top 40] [--inclusive]
 */
const { readFileSync } = require('node:fs');

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node bench/profile-summary.js <file.cpuprofile> [--top N] [--inclusive]\n');
  process.exit(2);
}
const topIdx = process.argv.indexOf('--top');
const TOP = topIdx > 0 ? Number(process.argv[topIdx + 1]) : 40;
/**
 * The parts of a V8 CPU profile read here.
 * @typedef {{id: number, callFrame: {functionName: string, url: string, lineNumber: number}, children?: number[]}} ProfileNode
 */
/** @type {{nodes: ProfileNode[], samples: number[], startTime: number, endTime: number}} */
const profile = JSON.parse(readFileSync(file, 'utf8'));

/**
 * Package of a script URL: `node:internal`, a node_modules package, our workspace package, or `(native)`.
 * @param {string} url
 */
function packageOf(url) {
  if (!url) return '(native)';
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 13).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const pkg = /packages\/([^/]+)\//.exec(url);
  return pkg ? `@waiting-queue/${pkg[1]}` : url;
}

/** @type {Map<number, number>} */
const counts = new Map(profile.samples.map((id) => [id, 0]));
for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
const total = profile.samples.length;
/** @type {Map<string, number>} */
const byFn = new Map();
/** @type {Map<string, number>} */
const byPkg = new Map();
for (const node of profile.nodes) {
  const n = counts.get(node.id) ?? 0;
  if (n === 0) continue;
  const cf = node.callFrame;
  const where = cf.url ? `${cf.url.replace(/^.*\/(node_modules|packages)\//, '')}:${cf.lineNumber + 1}` : '';
  const fn = `${cf.functionName || '(anonymous)'} ${where}`.trim();
  byFn.set(fn, (byFn.get(fn) ?? 0) + n);
  const pkg = packageOf(cf.url);
  byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + n);
}
const pct = (/** @type {number} */ n) => `${((n / total) * 100).toFixed(1).padStart(5)}%`;
/** @param {string} title @param {Map<string, number>} map @param {number} top */
const print = (title, map, top) => {
  process.stdout.write(`\n${title}\n`);
  [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .forEach(([k, n]) => process.stdout.write(`${pct(n)}  ${k}\n`));
};
process.stdout.write(`${file}: ${total} samples over ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s\n`);
print('self time by package', byPkg, 25);
print('self time by function', byFn, TOP);

if (process.argv.includes('--inclusive')) {
  /** @type {Map<number, ProfileNode>} */
  const parent = new Map();
  for (const node of profile.nodes) for (const c of node.children ?? []) parent.set(c, node);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const label = (/** @type {ProfileNode} */ node) => {
    const cf = node.callFrame;
    return `${cf.functionName || '(anonymous)'} ${cf.url.replace(/^.*\/(node_modules|packages)\//, '')}:${cf.lineNumber + 1}`;
  };
  /** @type {Map<string, number>} */
  const incl = new Map();
  for (const [id, n] of counts) {
    if (n === 0) continue;
    const seen = new Set();
    for (let node = byId.get(id); node; node = parent.get(node.id)) {
      if (!/\/packages\//.test(node.callFrame.url)) continue;
      const k = label(node);
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + n);
    }
  }
  print('total time (self + callees) of our functions', incl, TOP);
}
