import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Logger } from '@waiting-queue/core/logger';
import { httpRequestDuration } from './http-metrics';

/** Request header a caller (gateway, load balancer) may set to carry its own request id; echoed as `X-Request-Id`. */
export const REQUEST_ID_HEADER = 'x-request-id';
/** An accepted incoming request id: 1-128 characters of `[A-Za-z0-9._-]` (anything else is replaced by ours). */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;
/** The `route` label of a request that no route took (never the raw path: one series per token otherwise). */
export const UNMATCHED_ROUTE = 'unmatched';

const ID = Symbol('wq.requestId');
const START = Symbol('wq.requestStart');
const ROUTE = Symbol('wq.route');

interface Tagged {
  [ID]?: string;
  [START]?: number;
  [ROUTE]?: string;
}

/** The request id {@link RequestTelemetry.begin} gave the request, if any. */
export function requestIdOf(req: IncomingMessage | undefined): string | undefined {
  return req ? (req as Tagged)[ID] : undefined;
}

/** The parts of an express request that name its route: the router's mount path and the matched route. */
interface RoutedRequest {
  baseUrl?: string;
  route?: { path?: unknown };
}

/** The path of a matched express route: its string, or the first of an array of paths; else undefined. */
function routePath(req: RoutedRequest): string | undefined {
  const path = req.route?.path;
  if (typeof path === 'string') return path;
  if (Array.isArray(path) && typeof path[0] === 'string') return path[0];
  return undefined;
}

/** What a mount path may hold once lower-cased: our mounts are literal lower-case paths. */
const MOUNT_PATTERN = /^[a-z0-9/_.-]*$/;

/**
 * The mount path of an express router as a label: express matches paths case-insensitively and `baseUrl` is the
 * path as the client typed it, so it is lower-cased (our mounts are lower-case literals); anything else (a mount
 * with parameters, odd characters) is not a template and yields undefined. Without this, every case variant of
 * `/waiting-room-assets/...` made a series of its own.
 */
function mountOf(baseUrl: string | undefined): string | undefined {
  if (!baseUrl) return '';
  const lower = baseUrl.toLowerCase();
  return MOUNT_PATTERN.test(lower) ? lower : undefined;
}

/**
 * Sets the route template of a request answered outside express (the api's fast path), before its answer is
 * written, so that {@link routeTemplateOf} (error logs) names it.
 */
export function setRoute(req: IncomingMessage, template: string): void {
  (req as Tagged)[ROUTE] = template;
}

/**
 * Remembers the route template of an express request while its router is still mounted (`baseUrl` is reset when an
 * error leaves the router, so it must be read in the route handler, not when the response finishes). The shared
 * `route()` wrapper calls it; routes without it still get `baseUrl + route.path` on finish.
 */
export function markRoute(req: IncomingMessage & RoutedRequest): void {
  const path = routePath(req);
  const mount = mountOf(req.baseUrl);
  if (path !== undefined && mount !== undefined) (req as Tagged)[ROUTE] = mount + path;
}

/**
 * The route template of a request, for metric labels and logs (never the raw path, which holds tokens and which a
 * client can vary without end): the one {@link markRoute} or {@link setRoute} recorded; else, for express, the
 * matched route under its mount, or `<mount>/*` when only a router took it (e.g. static assets); else `unmatched`.
 */
export function routeTemplateOf(req: IncomingMessage | undefined): string {
  if (req === undefined) return UNMATCHED_ROUTE;
  const marked = (req as Tagged)[ROUTE];
  if (marked) return marked;
  const routed = req as IncomingMessage & RoutedRequest;
  const mount = mountOf(routed.baseUrl);
  if (mount === undefined) return UNMATCHED_ROUTE;
  const path = routePath(routed);
  if (path !== undefined) return mount + path;
  if (mount) return `${mount}/*`;
  return UNMATCHED_ROUTE;
}

/**
 * Request ids, request logs and the HTTP duration histogram for both transports (express and the api's node:http
 * fast path), at a cost fit for the hot path:
 * - {@link begin}: takes a valid incoming `x-request-id` or makes one (a per-process random prefix and a counter,
 *   no crypto per request) and stamps the start time; `sendJson` writes it as `X-Request-Id` with the other
 *   headers, and {@link stampHeader} sets it for responses written otherwise (express, static files);
 * - {@link end}: observes `http_request_duration_seconds{route, method, status}` and, when `logRequests`
 *   (LOG_REQUESTS=1), writes one JSON line `{reqId, method, route, status, ms}`.
 * Without `logRequests`, the request id still reaches the error logs of `sendError` (5xx) through {@link requestIdOf}.
 */
export class RequestTelemetry {
  private readonly prefix = `${randomBytes(4).toString('hex')}-`;
  private seq = 0;

  private readonly logger: Logger;
  private readonly logRequests: boolean;

  /** @param o.logRequests LOG_REQUESTS: one JSON line per request when true. */
  constructor(o: { logger: Logger; logRequests: boolean }) {
    this.logger = o.logger;
    this.logRequests = o.logRequests;
  }

  /**
   * Starts the request's telemetry (idempotent): request id and start time. Sets no header: `sendJson` writes
   * the id with its other headers (one `writeHead`); call {@link stampHeader} before handing the response to
   * code that writes it otherwise.
   */
  begin(req: IncomingMessage): void {
    const t = req as Tagged;
    if (t[ID] !== undefined) return;
    const incoming = req.headers[REQUEST_ID_HEADER];
    const id =
      typeof incoming === 'string' && REQUEST_ID_PATTERN.test(incoming)
        ? incoming
        : this.prefix + (++this.seq).toString(36);
    t[ID] = id;
    t[START] = performance.now();
  }

  /** Sets `X-Request-Id` on the response (a request that {@link begin} saw). */
  stampHeader(req: IncomingMessage, res: ServerResponse): void {
    const id = (req as Tagged)[ID];
    if (id !== undefined) res.setHeader('X-Request-Id', id);
  }

  /**
   * Ends the request's telemetry once its response is written: observes its duration under `route` (a template)
   * and logs the request line when request logging is on. Call once per request.
   */
  end(req: IncomingMessage, res: ServerResponse, route: string): void {
    const t = req as Tagged;
    const ms = performance.now() - (t[START] ?? performance.now());
    const method = req.method ?? 'GET';
    const status = res.statusCode;
    httpRequestDuration.observe({ route, method, status }, ms / 1000);
    if (this.logRequests)
      this.logger.info({ reqId: t[ID], method, route, status, ms: Math.round(ms * 100) / 100 }, 'request');
  }

  /** For requests that express answers: ends the telemetry when the response finishes, with the route template. */
  watch(req: IncomingMessage, res: ServerResponse): void {
    res.once('finish', () => this.end(req, res, routeTemplateOf(req)));
  }
}
