import { collectDefaultMetrics, Counter, Registry } from 'prom-client';

// The metric classes, for the api's and the scheduler's own metrics (one prom-client for the whole product).
export { Counter, Gauge, Histogram } from 'prom-client';

/**
 * The process's Prometheus registry (prom-client): one per process, api or scheduler. Every metric of the product
 * registers here, and `/metrics` serves it (see `sendMetrics` of @waiting-queue/http/http-metrics).
 */
export const metricsRegistry = new Registry();

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
