import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { failure } from './envelope';
import { bearerMatches, sendJson } from './http';
import { sendMetrics } from './http-metrics';
import { openApiJson } from './openapi';
import type { RequestTelemetry } from './request-log';
import { builtinRoutes } from './route-tables';

/** Path of the Prometheus scrape endpoint on both servers (bearer METRICS_TOKEN when set); route `metrics`. */
export const METRICS_PATH = builtinRoutes.metrics.path;
/** Path of the OpenAPI 3.1 document on both servers; route `openapi`. */
export const OPENAPI_PATH = builtinRoutes.openapi.path;

/** What {@link observedListener} wraps. */
export interface ObservedListenerOptions {
  telemetry: RequestTelemetry;
  /** The express app (or any listener) that answers everything else. */
  app: (req: IncomingMessage, res: ServerResponse) => void;
  /**
   * The api's node:http fast path: answers a request and returns true, or returns false for the app. It must
   * call `telemetry.end(req, res, routeTemplate)` once it has answered.
   */
  fastPath?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** When set, `/metrics` requires `Authorization: Bearer <metricsToken>` (401 `UNAUTHORIZED` otherwise). */
  metricsToken?: string;
}

/**
 * Serves the built-in routes `metrics` and `openapi` (route-tables.ts) for GET and HEAD alike (query ignored; HEAD:
 * node:http sends the headers alone), before express, on both servers; false for any other request.
 */
function serveBuiltin(
  req: IncomingMessage,
  res: ServerResponse,
  telemetry: RequestTelemetry,
  metricsToken: string | undefined,
): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const url = req.url ?? '';
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  if (path === METRICS_PATH) {
    if (!bearerMatches(req.headers.authorization, metricsToken)) {
      sendJson(res, 401, failure('UNAUTHORIZED', 'missing or wrong bearer token'), {
        'WWW-Authenticate': 'Bearer realm="metrics"',
      });
      telemetry.end(req, res, METRICS_PATH);
      return true;
    }
    void sendMetrics(res).then(() => telemetry.end(req, res, METRICS_PATH));
    return true;
  }
  if (path === OPENAPI_PATH) {
    const body = openApiJson();
    res.statusCode = 200;
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Content-Length', Buffer.byteLength(body));
    res.end(body);
    telemetry.end(req, res, OPENAPI_PATH);
    return true;
  }
  return false;
}

/**
 * The request listener of a server with telemetry: every request gets a request id and its duration recorded
 * (see RequestTelemetry); the fast path (if any) goes first, then `/metrics` and `/openapi.json`, then the app.
 * `/health/*` is answered before this listener by terminus (serveWithLifecycle) and is not recorded.
 */
export function observedListener(o: ObservedListenerOptions): RequestListener {
  const { telemetry, app, fastPath, metricsToken } = o;
  return (req, res) => {
    telemetry.begin(req);
    if (fastPath !== undefined && fastPath(req, res)) return;
    telemetry.stampHeader(req, res);
    if (serveBuiltin(req, res, telemetry, metricsToken)) return;
    telemetry.watch(req, res);
    app(req, res);
  };
}
