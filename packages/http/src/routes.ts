import type { z } from 'zod';
import type { ErrorCode } from '@waiting-queue/core/errors';

/**
 * The declaration kit of the route tables: each service declares every route once (method, path template,
 * operationId, security, and the zod schemas of its query, body and answer) in a table, and the express
 * registration, the fast-path matchers, the metric's `route` label, the literal URLs of callers, the handlers'
 * input parsing and types and the OpenAPI document are derived from it. Pure: no express, no node:http.
 */

/** HTTP methods of the tables (HEAD is answered as GET by express and by the built-in routes). */
export type RouteMethod = 'get' | 'post' | 'put' | 'delete' | 'patch';

/**
 * Who may call a route:
 * - `public`: anyone (browsers, load balancers, key fetchers);
 * - `shopper`: anyone; in JWT identity mode a bearer user JWT names the shopper;
 * - `internal`: order services, bearer INTERNAL_TOKEN (not checked when INTERNAL_TOKEN is unset, DEV_MODE only);
 * - `admin`: operators, bearer ADMIN_TOKEN;
 * - `metrics`: scrapers, bearer METRICS_TOKEN when it is set.
 */
export type RouteSecurity = 'public' | 'shopper' | 'internal' | 'admin' | 'metrics';

/** The document's group of a route: who calls it (`pages` and `operations` are not the envelope APIs). */
export type RouteTag = 'public' | 'internal' | 'admin' | 'pages' | 'operations';

/**
 * A FAIL envelope a route answers beyond those its declaration implies (400, 401, 413, 415, 422, 500, 503): its
 * HTTP status, the errorCodes it carries under that status, what it means, and the zod schema of its `data`
 * (absent: `data` is null).
 */
export interface RouteError {
  readonly status: number;
  readonly errorCodes: readonly ErrorCode[];
  readonly description: string;
  readonly data?: z.ZodTypeAny;
}

/**
 * An answer of a route that is not the envelope (a page, a file, a health or key answer, metrics, the document):
 * its HTTP status, what it means, the zod schema of its body per media type, and whether it carries
 * `X-Request-Id` (default true; false for answers given before the request telemetry or by a file server).
 */
export interface RouteAnswer {
  readonly status: number;
  readonly description: string;
  readonly content: Readonly<Record<string, z.ZodTypeAny>>;
  readonly requestId?: boolean;
}

/** One route as a table declares it. */
export interface RouteSpec {
  readonly method: RouteMethod;
  /** OpenAPI path template, e.g. `/api/v1/item/{itemId}/waiting-queue`. */
  readonly path: string;
  /** The OpenAPI operationId; unique over every table. */
  readonly operationId: string;
  readonly security: RouteSecurity;
  /** The document's group of the route. */
  readonly tag: RouteTag;
  /** One line of what the route does (the operation's summary). */
  readonly summary: string;
  /** More than the summary says, when needed (the operation's description). */
  readonly description?: string;
  /** The route's own FAIL answers, one per status (see {@link RouteError}). */
  readonly errors?: readonly RouteError[];
  /** The route's answers that are not the envelope (see {@link RouteAnswer}). */
  readonly answers?: readonly RouteAnswer[];
  /** What the SUCCESS answer holds, when it says more than the envelope (default: the SUCCESS envelope). */
  readonly successDescription?: string;
  /** The SUCCESS answer carries the item's `ETag` (send it back in `If-Match`). */
  readonly etag?: true;
  /** A static file mount: its handler serves the files under the path's prefix (the template ends in `/{file}`). */
  readonly static?: true;
  /** An HTML page (not the envelope). */
  readonly html?: true;
  /** zod schema of the path parameters (one key per `{name}` of the template; views.ts names the shared ones). */
  readonly params?: z.AnyZodObject;
  /** The request headers the route reads, as named parameter schemas (views.ts), in the document's order. */
  readonly headers?: readonly z.ZodTypeAny[];
  /** zod schema of the query string (express's parsed `req.query`) the handler reads; absent: none is read. */
  readonly query?: z.ZodTypeAny;
  /** zod schema of the JSON body the handler reads; absent: the route reads no body. */
  readonly body?: z.ZodTypeAny;
  /** Whether a request must carry {@link body} (default true when `body` is declared). */
  readonly bodyRequired?: boolean;
  /** zod schema of `data` in the SUCCESS envelope; absent: the route does not answer the envelope (or not yet typed). */
  readonly data?: z.ZodTypeAny;
}

/** The parsed body of a route (`z.output` of its `body` schema; `undefined` when it declares none). */
export type BodyOf<R extends RouteSpec> = R['body'] extends z.ZodTypeAny ? z.output<R['body']> : undefined;
/** The parsed query of a route (`z.output` of its `query` schema; `undefined` when it declares none). */
export type QueryOf<R extends RouteSpec> = R['query'] extends z.ZodTypeAny ? z.output<R['query']> : undefined;
/** The `data` a route answers (`z.input` of its `data` schema; `unknown` when it declares none). */
export type DataOf<R extends RouteSpec> = R['data'] extends z.ZodTypeAny ? z.input<R['data']> : unknown;

/**
 * Declares a route table: returns it as given, checked to be {@link RouteSpec}s and kept literal for typing.
 * @throws Error when two routes share an operationId or a method and path.
 */
export function defineRoutes<const T extends Record<string, RouteSpec>>(table: T): T {
  const ids = new Set<string>();
  const keys = new Set<string>();
  for (const r of Object.values(table)) {
    const key = `${r.method} ${r.path}`;
    if (ids.has(r.operationId) || keys.has(key))
      throw new Error(`route table: ${r.operationId} (${key}) is declared twice`);
    if (r.static) staticMount(r);
    ids.add(r.operationId);
    keys.add(key);
  }
  return table;
}

const PARAM = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** The parameter names of a path template, in order (`/a/{x}/b/{y}` gives `['x', 'y']`). */
export function paramNames(path: string): string[] {
  return [...path.matchAll(PARAM)].map((m) => m[1]);
}

/**
 * The express form of a path template (`{itemId}` becomes `:itemId`); also the `route` label of the HTTP metrics
 * and of the request logs, on express and on the fast path alike.
 */
export function expressPath(route: Pick<RouteSpec, 'path'> | string): string {
  return (typeof route === 'string' ? route : route.path).replace(PARAM, ':$1');
}

/**
 * The mount path of a static route: its template without the trailing `/{file}`.
 * @throws Error when the route's template does not end in `/{file}`.
 */
export function staticMount(route: Pick<RouteSpec, 'path'>): string {
  if (!route.path.endsWith('/{file}')) throw new Error(`static route ${route.path} must end in /{file}`);
  return route.path.slice(0, -'/{file}'.length);
}

/**
 * A concrete path of a route: each `{name}` replaced by `encodeURIComponent(params[name])`, or by the value as is
 * with `raw` (tests that send malformed values on purpose).
 * @example pathOf(apiRoutes.poll, { itemId: 'shoe', waitingQueueToken: t }) === `/api/v1/item/shoe/waiting-queue/${t}`
 * @throws Error when `params` lacks a parameter of the template.
 */
export function pathOf(
  route: Pick<RouteSpec, 'path'>,
  params: Record<string, string | number> = {},
  options: { raw?: boolean } = {},
): string {
  return route.path.replace(PARAM, (_m, name: string) => {
    const v = params[name];
    if (v === undefined) throw new Error(`pathOf ${route.path}: missing parameter ${name}`);
    return options.raw ? String(v) : encodeURIComponent(String(v));
  });
}

/**
 * A regular expression of a path template for exact matching of a raw (undecoded, query-less) request path: one
 * capture group of `[^/]+` per parameter, in {@link paramNames} order; literal parts match as written (case and
 * trailing slash exactly: anything else is left to express).
 */
export function pathRegExp(route: Pick<RouteSpec, 'path'>): RegExp {
  const parts = route.path.split(PARAM);
  // split with a capturing group alternates literal, name, literal, ...
  let source = '';
  for (let i = 0; i < parts.length; i++)
    source += i % 2 === 0 ? parts[i].replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : '([^/]+)';
  return new RegExp(`^${source}$`);
}
