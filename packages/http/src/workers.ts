import cluster, { type Worker } from 'node:cluster';
import { createServer as createNetServer } from 'node:net';
import type { Server } from 'node:http';
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import type { Logger } from '@waiting-queue/core/logger';
import { metricsRegistry } from '@waiting-queue/core/metrics';

// A service run as node:cluster workers on one port (API_WORKERS): the primary forks and supervises the workers
// and aggregates their metrics; each worker is the service as a single process runs it. They share nothing but
// Redis. The messages between them are below; prom-client's own (the per-worker metrics) travel beside them.

/** A worker tells the primary it is ready (warmed up, serving). */
const READY = 'wq:worker-ready';
/** A worker asks the primary for the whole cluster's metrics, to answer a scrape. */
const METRICS_REQ = 'wq:cluster-metrics-req';
/** The primary answers {@link METRICS_REQ}: the Prometheus text, or an error message. */
const METRICS_RES = 'wq:cluster-metrics-res';

type WorkerMessage = { type: typeof READY } | { type: typeof METRICS_REQ; id: number };
type PrimaryMessage = { type: typeof METRICS_RES; id: number; text?: string; error?: string };

/** First delay before a worker that died is replaced, milliseconds; it doubles per death in a row. */
export const RESTART_BACKOFF_MIN_MS = 100;
/** Longest delay before a worker that died is replaced, milliseconds. */
export const RESTART_BACKOFF_MAX_MS = 10_000;

/** Whether this process is a worker of a cluster run by {@link runPrimary}. */
export function isClusterWorker(): boolean {
  return cluster.isWorker;
}

/** What {@link runPrimary} needs. */
export interface PrimaryOptions {
  /** Workers to keep running, >= 2. */
  workers: number;
  /** The service's logger (JSON lines, like the workers'). */
  logger: Logger;
  /**
   * How long the workers get to shut down after SIGTERM/SIGINT before they are killed (SIGKILL), milliseconds:
   * their own grace period (SHUTDOWN_TIMEOUT_MS) plus their drain.
   */
  shutdownTimeoutMs: number;
}

/**
 * The cluster primary: forks `workers` copies of this script (each one runs the service: see
 * {@link workerStarted}), and then
 * - replaces a worker that exits while the service runs, after a back-off ({@link RESTART_BACKOFF_MIN_MS},
 *   doubling per death in a row up to {@link RESTART_BACKOFF_MAX_MS}, reset once a replacement is ready), logged;
 * - fails the start (stops the others, exits 1) when a worker exits before any worker was ever ready: a start-up
 *   error (Redis unreachable, port in use) that every replacement would repeat;
 * - forwards SIGTERM/SIGINT to every worker (each drains and finishes in-flight requests), kills (SIGKILL) those
 *   still running after `shutdownTimeoutMs` + 5 s, and exits when all have exited: 0 when every worker exited 0,
 *   else 1;
 * - answers the workers' metrics requests with the metrics of every worker aggregated (prom-client's
 *   AggregatorRegistry: counters and histograms summed; gauges as each declares), plus its own
 *   `wq_api_workers` and `wq_api_worker_restarts_total`.
 * It serves no port itself. Validate the configuration before calling it, so that an invalid one stops the
 * process before any worker is forked.
 */
export function runPrimary(o: PrimaryOptions): void {
  const { logger } = o;
  const aggregator = new AggregatorRegistry();
  const own = new Registry();
  const restarts = new Counter({
    name: 'wq_api_worker_restarts_total',
    help: 'api workers replaced by the cluster primary after they exited unexpectedly',
    registers: [own],
  });
  new Gauge({
    name: 'wq_api_workers',
    help: 'api worker processes running now (API_WORKERS is the number kept running)',
    registers: [own],
    collect() {
      this.set(Object.keys(cluster.workers ?? {}).length);
    },
  });

  let everReady = false;
  let stopping = false;
  let deathsInRow = 0;
  const failedExit = new Set<number>();
  const pendingRestarts = new Set<NodeJS.Timeout>();

  const fork = (): Worker => {
    const worker = cluster.fork();
    worker.on('message', (m: WorkerMessage) => {
      if (m?.type === READY) {
        everReady = true;
        deathsInRow = 0;
        logger.info({ workerPid: worker.process.pid }, 'api worker ready');
      } else if (m?.type === METRICS_REQ) {
        void answerMetrics(worker, m.id);
      }
    });
    return worker;
  };

  const answerMetrics = async (worker: Worker, id: number) => {
    let reply: PrimaryMessage;
    try {
      const text = (await aggregator.clusterMetrics()) + (await own.metrics());
      reply = { type: METRICS_RES, id, text };
    } catch (err) {
      reply = { type: METRICS_RES, id, error: (err as Error).message };
    }
    if (worker.isConnected()) worker.send(reply);
  };

  const exitWhenAllGone = () => {
    if (Object.keys(cluster.workers ?? {}).length > 0 || pendingRestarts.size > 0) return;
    const code = failedExit.size === 0 ? 0 : 1;
    logger.info({ code }, 'api workers stopped');
    process.exit(code);
  };

  const stop = (signal: NodeJS.Signals, why: string) => {
    if (stopping) return;
    stopping = true;
    for (const t of pendingRestarts) clearTimeout(t);
    pendingRestarts.clear();
    logger.info({ signal }, `${why}: stopping the api workers`);
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(signal);
    setTimeout(() => {
      for (const w of Object.values(cluster.workers ?? {})) {
        logger.warn({ workerPid: w?.process.pid }, 'api worker still running after the grace period: killed');
        w?.process.kill('SIGKILL');
      }
    }, o.shutdownTimeoutMs + 5_000).unref();
    exitWhenAllGone();
  };

  cluster.on('exit', (worker, code, signal) => {
    const pid = worker.process.pid;
    if (stopping) {
      if (code !== 0) failedExit.add(pid ?? 0);
      exitWhenAllGone();
      return;
    }
    if (!everReady) {
      logger.error({ workerPid: pid, code, signal }, 'an api worker failed to start: stopping');
      failedExit.add(pid ?? 0);
      stop('SIGTERM', 'start failed');
      return;
    }
    const delayMs = Math.min(RESTART_BACKOFF_MAX_MS, RESTART_BACKOFF_MIN_MS * 2 ** deathsInRow);
    deathsInRow++;
    logger.warn({ workerPid: pid, code, signal, restartInMs: delayMs }, 'api worker exited unexpectedly: replacing it');
    const t = setTimeout(() => {
      pendingRestarts.delete(t);
      restarts.inc();
      fork();
    }, delayMs);
    pendingRestarts.add(t);
  });

  process.on('SIGTERM', () => stop('SIGTERM', 'SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT', 'SIGINT'));
  logger.info({ workers: o.workers }, 'api starting as node:cluster workers');
  for (let i = 0; i < o.workers; i++) fork();
}

let metricsRequests = 0;
const pendingMetrics = new Map<number, { resolve: (text: string) => void; reject: (err: Error) => void }>();

/**
 * Joins the cluster from a worker, first thing at start-up: answers the primary's requests for this worker's
 * metrics ({@link metricsRegistry}, through prom-client's AggregatorRegistry) and receives the primary's answers
 * to {@link clusterMetricsText}.
 */
export function joinCluster(): void {
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([metricsRegistry]);
  process.on('message', (m: PrimaryMessage) => {
    if (m?.type !== METRICS_RES) return;
    const p = pendingMetrics.get(m.id);
    if (!p) return;
    pendingMetrics.delete(m.id);
    if (m.text !== undefined) p.resolve(m.text);
    else p.reject(new Error(m.error ?? 'no metrics'));
  });
}

/**
 * The metrics of every worker of the cluster, aggregated by the primary, in the Prometheus text format: what a
 * worker's `/metrics` answers.
 * @throws Error when the primary reports a failure (a worker did not answer within prom-client's 5 s) or does not
 * answer within 10 s.
 */
export function clusterMetricsText(): Promise<string> {
  const id = ++metricsRequests;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      pendingMetrics.delete(id);
      reject(new Error('the cluster primary did not answer within 10 s'));
    }, 10_000);
    pendingMetrics.set(id, {
      resolve: (t) => (clearTimeout(timer), resolve(t)),
      reject: (e) => (clearTimeout(timer), reject(e)),
    });
    process.send!({ type: METRICS_REQ, id } satisfies WorkerMessage);
  });
}

/**
 * Opens a private door to a worker's own server: a loopback listener on a port of its own (not shared through the
 * primary, `exclusive`) whose connections go to `server`. Requests to the shared port may reach any worker; a
 * worker's warm-up must reach itself.
 * @returns the door's URL (`http://127.0.0.1:<port>`) and its close (no new connections; those open stay with
 * `server`, which closes them at shutdown).
 */
export async function openPrivateDoor(server: Server): Promise<{ url: string; close: () => void }> {
  const door = createNetServer((socket) => server.emit('connection', socket));
  await new Promise<void>((resolve, reject) => {
    door.once('error', reject);
    door.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => resolve());
  });
  const addr = door.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => void door.close(),
  };
}

/** Tells the primary this worker is ready (its warm-up done): the primary's start succeeded. */
export function workerStarted(): void {
  process.send?.({ type: READY } satisfies WorkerMessage);
}
