import type { ServerResponse } from 'node:http';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

// The metric classes, for the api's and the scheduler's own metrics (one prom-client for the whole product).
export { Counter, Gauge, Histogram } from 'prom-client';

/**
 * The process's Prometheus registry (prom-client): one per process, api or scheduler. Every metric of the product
 * registers here, and `/metrics` serves it (see {@link sendMetrics}).
 */
export const metricsRegistry = new Registry();

/** Buckets of the HTTP duration histogram, seconds: the hot routes answer in well under a millisecond to a few ms. */
export const HTTP_DURATION_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/**
 * `http_request_duration_seconds{route, method, status}`: time from the request's arrival to its response being
 * written, seconds. `route` is the route TEMPLATE (e.g. `/api/v1/item/:itemId/waiting-queue/:waitingQueueToken`),
 * `unmatched` for a path no route took, never the raw path (a raw path would make a series per token).
 */
export const httpRequestDuration = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'HTTP request duration until the response is written, seconds, by route template, method and status',
  labelNames: ['route', 'method', 'status'] as const,
  buckets: HTTP_DURATION_BUCKETS_SECONDS,
  registers: [metricsRegistry],
});

/** Where a Redis error was seen: a request answered 503, an ioredis `error` event, an item of a tick, a scrape. */
export type RedisErrorKind = 'request' | 'connection' | 'tick' | 'scrape';

/** `wq_redis_errors_total{kind}`: Redis errors seen by this process (see {@link RedisErrorKind}). */
export const redisErrors = new Counter({
  name: 'wq_redis_errors_total',
  help: 'Redis errors: kind=request (answered 503), connection (ioredis error events), tick (an item failed in an admission tick), scrape',
  labelNames: ['kind'] as const,
  registers: [metricsRegistry],
});

/** Counts `n` (default 1) Redis errors of `kind`. */
export function countRedisError(kind: RedisErrorKind, n = 1): void {
  redisErrors.inc({ kind }, n);
}

let processMetricsOn = false;

/**
 * Turns on prom-client's default process metrics on {@link metricsRegistry} (CPU, memory, GC, handles, and the
 * event-loop lag `nodejs_eventloop_lag_*` seconds). Idempotent; call once at start-up of a server process.
 */
export function startProcessMetrics(): void {
  if (processMetricsOn) return;
  processMetricsOn = true;
  collectDefaultMetrics({ register: metricsRegistry });
}

/**
 * Answers a scrape: the registry in the Prometheus text format (not the envelope), status 200, or 500 with a plain
 * text reason when a collector failed. Collectors may read Redis (the scheduler's per-item gauges).
 */
export async function sendMetrics(res: ServerResponse): Promise<void> {
  let body: string;
  try {
    body = await metricsRegistry.metrics();
  } catch (err) {
    res.statusCode = 500;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end(`metrics collection failed: ${(err as Error).message}\n`);
    return;
  }
  res.statusCode = 200;
  res.setHeader('Content-Type', metricsRegistry.contentType);
  res.setHeader('Cache-Control', 'no-store');
  res.end(body);
}
