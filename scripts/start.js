#!/usr/bin/env node
// @ts-check
/**
 * `npm start`: runs the whole product on this machine.
 *
 * - With REDIS_URL (or REDIS_CLUSTER_NODES) set, uses that Redis. Without, starts a throw-away redis-server
 *   (Debian's, from PATH) on a free port, with persistence off, and removes it on exit.
 * - Seeds the demo items 1..8 (100 in stock each) where they do not exist yet.
 * - Starts the api and the scheduler as child processes, waits until both are ready, prints the URLs. The api runs
 *   API_WORKERS node:cluster workers on one port (default the number of cores).
 * - Ctrl-C / SIGTERM stops everything it started, by pid.
 * - Logs: on a terminal (stdout is a TTY) the api's and scheduler's pino lines are printed human-readable through
 *   pino-pretty (time, level, service, message, fields); otherwise (piped, redirected, CI) as the JSON lines they
 *   are, one per line, for log shippers. LOG_FORMAT=json forces JSON on a terminal too.
 */
const { availableParallelism } = require('node:os');
const { redisTarget } = require('@waiting-queue/core/config');
const { ItemStore } = require('@waiting-queue/core/item-store');
const { connectRedis } = require('@waiting-queue/core/redis');
const { adminRoutes, apiRoutes, builtinRoutes } = require('@waiting-queue/http/route-tables');
const { pathOf } = require('@waiting-queue/http/routes');
const { startStack } = require('@waiting-queue/testkit/stack');

const env = { ...process.env };
const apiPort = Number(env.API_PORT || 8080);
const adminPort = Number(env.ADMIN_PORT || 8081);
const DEMO_ITEMS = 8;
const DEMO_STOCK = 100;

/** Human-readable logs: stdout is a terminal and JSON was not asked for. */
const prettyLogs = Boolean(process.stdout.isTTY) && env.LOG_FORMAT !== 'json';
/** The running stack, once started. @type {import('@waiting-queue/testkit/stack').Stack | undefined} */
let stack;
let stopping = false;

/** @param {string} msg */
function log(msg) {
  process.stdout.write(`[start] ${msg}\n`);
}

/**
 * Stops the stack (api and scheduler by pid, SIGKILL after 15 s; the throw-away redis-server last), then exits.
 * @param {number} code the exit code.
 */
async function stop(code) {
  if (stopping) return;
  stopping = true;
  if (stack) {
    await stack.stop(15_000);
    if (stack.redis) log(`stopped the throw-away redis-server (pid ${stack.redis.pid})`);
  }
  process.exit(code);
}

async function main() {
  const throwAway = !env.REDIS_URL && !env.REDIS_CLUSTER_NODES;
  if (!throwAway) log(`using Redis at ${env.REDIS_CLUSTER_NODES || env.REDIS_URL}`);
  /** @type {Record<string, string>} */
  const devEnv = {};
  if (!env.ADMIN_TOKEN) {
    devEnv.DEV_MODE = '1';
    log(
      'development mode (DEV_MODE=1): ADMIN_TOKEN is not set, so the admin API is open, as is the internal API ' +
        'without INTERNAL_TOKEN, and TOKEN_SECRET / ENTRY_PASS_PRIVATE_JWK are generated into Redis when unset; ' +
        'outside it the api and the scheduler refuse to start without them',
    );
  }
  /** @type {'pipe' | 'inherit'} */
  const stdout = prettyLogs ? 'pipe' : 'inherit';
  stack = await startStack({
    startRedis: throwAway,
    // In its own process group: Ctrl-C reaches the api and scheduler, which finish their in-flight requests with
    // Redis still there; stack.stop() stops it last.
    redisOwnProcessGroup: true,
    env: devEnv,
    services: [
      { name: 'scheduler', port: adminPort, stdout, stderr: 'inherit' },
      { name: 'api', port: apiPort, stdout, stderr: 'inherit' },
    ],
  });
  if (stack.redis)
    log(`no REDIS_URL: started a throw-away redis-server at ${stack.redis.url} (pid ${stack.redis.pid})`);
  for (const svc of stack.services) {
    if (prettyLogs) {
      // One pretty-printer per child, so that the two streams' lines never interleave mid-line.
      const pretty = require('pino-pretty')({
        colorize: true,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname,name,service',
        messageFormat: '{service}: {msg}',
        sync: true,
      });
      svc.child.stdout?.pipe(pretty);
    }
    void svc.exited.then(({ code, signal }) => {
      if (stopping) return;
      log(`${svc.name} exited (${signal || code}); stopping everything`);
      void stop(1);
    });
  }

  const redis = await connectRedis(
    redisTarget({ ...env, ...(stack.redisUrl ? { REDIS_URL: stack.redisUrl } : {}) }),
    'wq-start',
  );
  const items = new ItemStore(redis);
  let seeded = 0;
  for (let i = 1; i <= DEMO_ITEMS; i++) {
    if (!(await items.get(String(i)))) {
      await items.upsert(String(i), { itemName: `Demo item ${i}`, remainCount: DEMO_STOCK, waitingQueueEnabled: true });
      seeded++;
    }
  }
  redis.disconnect();
  log(`demo items 1..${DEMO_ITEMS}: ${seeded} seeded with ${DEMO_STOCK} in stock (existing ones kept)`);

  const api = `http://127.0.0.1:${apiPort}`;
  const admin = `http://127.0.0.1:${adminPort}`;
  log('waiting-queue is running:');
  log(
    `  waiting room   ${api}${pathOf(apiRoutes.waitingRoomPage, { itemId: 1 })}   (open in a browser: items 1..${DEMO_ITEMS}; type a user id)`,
  );
  log(`  admin console  ${admin}${adminRoutes.adminConsole.path}${env.ADMIN_TOKEN ? '   (asks for ADMIN_TOKEN)' : ''}`);
  log(`  public API     ${api}${pathOf(apiRoutes.register, { itemId: 1 })}   (POST with header user-id)`);
  log(`  internal API   ${api}${apiRoutes.validate.path}`);
  log(`  admin API      ${admin}${adminRoutes.getTokenCounts.path}`);
  log(`  health         ${api}${builtinRoutes.readiness.path}   ${admin}${builtinRoutes.readiness.path}`);
  log(
    `  api workers    ${env.API_WORKERS?.trim() || availableParallelism()} on one port (API_WORKERS; /health/ready answers for the worker it reaches, /metrics for all)`,
  );
  log(`  spike test     BASE_URL=${api} npm run spike`);
  log('Ctrl-C stops everything.');
}

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
main().catch((/** @type {Error} */ err) => {
  log(`failed: ${err.message}`);
  void stop(1);
});
