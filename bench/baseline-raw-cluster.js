// @ts-check
// Baseline of the whole box: bench/baseline-raw.js as WORKERS (default 2) node:cluster workers on one port, the
// way API_WORKERS runs the api. The primary says 'ready' over IPC once every worker listens, and on SIGTERM stops
// the workers and exits.
// The types declare the cluster as the default export; at run time require() returns it.
const cluster = /** @type {import('node:cluster').Cluster} */ (/** @type {unknown} */ (require('node:cluster')));

if (cluster.isPrimary) {
  const count = Number(process.env.WORKERS || 2);
  let ready = 0;
  for (let i = 0; i < count; i++) {
    cluster.fork().on('message', (/** @type {unknown} */ m) => {
      if (m === 'ready' && ++ready === count) process.send?.('ready');
    });
  }
  cluster.on('exit', () => {
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
  });
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
  });
} else {
  require('./baseline-raw');
}
