import type { ServerResponse } from 'node:http';
import { Histogram } from 'prom-client';
import { metricsRegistry } from '@waiting-queue/core/metrics';
import { clusterMetricsText, isClusterWorker } from './workers';

// HTTP telemetry on the process registry of @waiting-queue/core/metrics: the request duration histogram and the
// `/metrics` responder.

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

/**
 * Answers a scrape: the registry in the Prometheus text format (not the envelope), status 200, or 500 with a plain
 * text reason when a collector failed. Collectors may read Redis (the scheduler's per-item gauges). In a cluster
 * worker (API_WORKERS > 1) the answer is every worker's registry aggregated by the primary (see ./workers), so
 * any worker answers for the whole api.
 */
export async function sendMetrics(res: ServerResponse): Promise<void> {
  let body: string;
  try {
    body = isClusterWorker() ? await clusterMetricsText() : await metricsRegistry.metrics();
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
