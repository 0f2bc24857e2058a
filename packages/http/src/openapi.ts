import { OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import type { AnyZodObject } from 'zod';
import type { ErrorCode } from '@waiting-queue/core/errors';
import { adminRoutes, apiRoutes, builtinRoutes } from './route-tables';
import type { RouteSecurity, RouteSpec } from './routes';
import { ID_CHARS } from '@waiting-queue/core/ids';
import { idempotencyKeyHeader, parameterRegistry, requestIdHeader as requestIdHeaderParam, viewSchemas } from './views';

/** A JSON Schema (2020-12, as OpenAPI 3.1 uses it) or any other JSON object of the document. */
type Json = { [key: string]: unknown };

const nullable = (schema: Json): Json => ({ oneOf: [schema, { type: 'null' }] });

/** The SUCCESS envelope around `data`. */
function successEnvelope(data: Json): Json {
  return {
    type: 'object',
    required: ['state', 'errorCode', 'errorMessage', 'data'],
    additionalProperties: false,
    properties: { state: { const: 'SUCCESS' }, errorCode: { type: 'null' }, errorMessage: { type: 'null' }, data },
  };
}

/** The FAIL envelope with one of `codes`; `data` is null unless `data` describes it. */
function failureEnvelope(codes: ErrorCode[], data: Json = { type: 'null' }): Json {
  return {
    type: 'object',
    required: ['state', 'errorCode', 'errorMessage', 'data'],
    additionalProperties: false,
    properties: { state: { const: 'FAIL' }, errorCode: { enum: codes }, errorMessage: { type: 'string' }, data },
  };
}

const requestIdHeader: Json = {
  description:
    "The request id: the caller's valid `x-request-id`, else one the server made. Also in the server's logs.",
  schema: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,128}$' },
};
const retryAfterHeader: Json = {
  description: 'Seconds to wait before retrying.',
  schema: { type: 'string', pattern: '^[0-9]+$' },
};

function jsonResponse(description: string, schema: Json, headers: Json = {}): Json {
  return {
    description,
    headers: { 'X-Request-Id': { $ref: '#/components/headers/RequestId' }, ...headers },
    content: { 'application/json': { schema } },
  };
}

/** A FAIL response for `codes` (all of one HTTP status). */
function fail(description: string, codes: ErrorCode[], data?: Json): Json {
  const retry = codes.some((c) => c === 'SERVICE_UNAVAILABLE' || c === 'TOO_MANY_REQUESTS' || c === 'ITEM_NOT_OPEN');
  return jsonResponse(
    description,
    failureEnvelope(codes, data),
    retry ? { 'Retry-After': { $ref: '#/components/headers/RetryAfter' } } : {},
  );
}

const R = (name: string): Json => ({ $ref: `#/components/responses/${name}` });

const etagHeader: Json = {
  description: 'The item\'s ETag `"<settings version>.<remainCount>"`; send it back in `If-Match` to update the item.',
  required: true,
  schema: { type: 'string', pattern: '^"[0-9]+\\.[0-9]+"$' },
};
/**
 * The answers a route's declaration implies (routes.ts): every envelope route (one that reads `x-request-id`, not a
 * page or a file) may answer 400, 500 and 503, and a POST or PUT the body errors 413 and 415 (express parses a
 * body even when the route reads none); a bearer route 401; a route that reads an Idempotency-Key 422; a static
 * file mount 404 `NOT_FOUND` for a file it does not have.
 */
function impliedResponses(route: RouteSpec): Json {
  const envelope = !route.static && !route.html && (route.headers ?? []).includes(requestIdHeaderParam);
  return {
    ...(envelope ? { '400': R('InvalidParameter'), '500': R('Unknown'), '503': R('ServiceUnavailable') } : {}),
    ...(['internal', 'admin', 'metrics'].includes(route.security) ? { '401': R('Unauthorized') } : {}),
    ...((route.headers ?? []).includes(idempotencyKeyHeader) ? { '422': R('IdempotencyKeyReused') } : {}),
    ...(envelope && (route.method === 'post' || route.method === 'put')
      ? { '413': R('PayloadTooLarge'), '415': R('UnsupportedMediaType') }
      : {}),
    ...(route.static ? { '404': R('NotFound') } : {}),
  };
}

const API_SERVER = [{ url: 'http://localhost:8080', description: 'api (API_PORT)' }];
const ADMIN_SERVER = [{ url: 'http://127.0.0.1:8081', description: 'scheduler admin server (ADMIN_HOST:ADMIN_PORT)' }];
const BOTH_SERVERS = [...API_SERVER, ...ADMIN_SERVER];

/** The OpenAPI security requirement of a route's {@link RouteSecurity}. */
const SECURITY: Record<RouteSecurity, Json[]> = {
  public: [],
  shopper: [{}, { userJwt: [] }],
  internal: [{ internalBearer: [] }],
  admin: [{ adminBearer: [] }],
  metrics: [{ metricsBearer: [] }, {}],
};

/** The tables, each with the servers that answer its routes. */
const TABLES: [Record<string, RouteSpec>, Json[]][] = [
  [apiRoutes, API_SERVER],
  [adminRoutes, ADMIN_SERVER],
  [builtinRoutes, BOTH_SERVERS],
];

/**
 * Removes repeated alternatives of every `anyOf` under `node`, in place: the generator writes a union with null
 * (a nullable reference) as `anyOf: [ref, {type: null}, {type: null}]`, which means the same as one null.
 */
function dropRepeatedAlternatives(node: unknown): void {
  if (Array.isArray(node)) {
    for (const child of node) dropRepeatedAlternatives(child);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const obj = node as Json;
  if (Array.isArray(obj.anyOf)) {
    const seen = new Set<string>();
    obj.anyOf = obj.anyOf.filter((alternative) => {
      const key = JSON.stringify(alternative);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }
  for (const child of Object.values(obj)) dropRepeatedAlternatives(child);
}

/**
 * What zod-to-openapi generates from the route tables' zod schemas (one registry): per route, the query parameters,
 * path and header parameters, the request body and the JSON schemas of the envelopes' `data` (SUCCESS under 200,
 * a declared FAIL answer's under its status); and the
 * component schemas and parameters they and views.ts name.
 */
function generated(): { operations: Map<string, Json>; schemas: Json; parameters: Json } {
  const registry = new OpenAPIRegistry();
  for (const [table] of TABLES) {
    for (const r of Object.values(table)) {
      const config: RouteConfig = { method: r.method, path: r.path, responses: {} };
      config.request = {};
      if (r.params) config.request.params = r.params;
      if (r.headers) config.request.headers = [...r.headers];
      if (r.query) config.request.query = r.query as AnyZodObject;
      if (r.body)
        config.request.body = {
          required: r.bodyRequired ?? true,
          content: { 'application/json': { schema: r.body } },
        };
      if (r.data) config.responses[200] = { description: 'data', content: { 'application/json': { schema: r.data } } };
      for (const a of r.answers ?? [])
        config.responses[a.status] = {
          description: a.description,
          content: Object.fromEntries(Object.entries(a.content).map(([type, schema]) => [type, { schema }])),
        };
      for (const e of r.errors ?? [])
        if (e.data)
          config.responses[e.status] = { description: 'data', content: { 'application/json': { schema: e.data } } };
      registry.registerPath(config);
    }
  }
  const components = viewSchemas.map((schema) => ({ type: 'schema' as const, schema }));
  const definitions = [...components, ...parameterRegistry.definitions, ...registry.definitions];
  const doc = new OpenApiGeneratorV31(definitions).generateDocument({
    openapi: '3.1.0',
    info: { title: '', version: '' },
  });
  dropRepeatedAlternatives(doc);
  const operations = new Map<string, Json>();
  for (const [path, item] of Object.entries((doc.paths ?? {}) as Record<string, Json>))
    for (const [method, op] of Object.entries(item)) operations.set(`${method} ${path}`, op as Json);
  // A registered parameter's schema comes out as a component schema of the parameter's name: inline it there.
  const schemas = (doc.components?.schemas ?? {}) as Record<string, Json>;
  const parameters = (doc.components?.parameters ?? {}) as unknown as Record<string, Json>;
  for (const [name, parameter] of Object.entries(parameters)) {
    const own = `#/components/schemas/${name}`;
    if ((parameter.schema as Json | undefined)?.$ref !== own) continue;
    parameter.schema = schemas[name];
    delete schemas[name];
  }
  return { operations, schemas, parameters };
}

const zodGenerated = generated();

/** The JSON schema of `data` that zod-to-openapi generated under `status` of an operation (undefined: none). */
function generatedData(op: Json, status: number): Json | undefined {
  const response = (op.responses as Record<string, Json> | undefined)?.[String(status)];
  return (response?.content as Record<string, { schema: Json }> | undefined)?.['application/json'].schema;
}

/** The route's answers that are not the envelope ({@link RouteSpec.answers}), as generated, with their headers. */
function plainResponses(route: RouteSpec, op: Json): Json {
  const responses: Json = {};
  for (const a of route.answers ?? []) {
    const generatedAnswer = (op.responses as Record<string, Json>)[String(a.status)];
    responses[String(a.status)] = {
      ...generatedAnswer,
      ...(a.requestId === false ? {} : { headers: { 'X-Request-Id': { $ref: '#/components/headers/RequestId' } } }),
    };
  }
  return responses;
}

/** The SUCCESS answer of a route that declares `data`, with its description and headers. */
function successResponse(route: RouteSpec, data: Json): Json {
  return jsonResponse(
    route.successDescription ?? 'Success: the SUCCESS envelope.',
    successEnvelope(data),
    route.etag ? { ETag: { $ref: '#/components/headers/ETag' } } : {},
  );
}

/** The route's own FAIL answers ({@link RouteSpec.errors}), with their generated `data` schemas. */
function errorResponses(route: RouteSpec, op: Json): Json {
  const responses: Json = {};
  for (const e of route.errors ?? [])
    responses[String(e.status)] = fail(
      e.description,
      [...e.errorCodes],
      e.data ? generatedData(op, e.status) : undefined,
    );
  return responses;
}

/**
 * The document's paths: every route of the tables, on the servers that answer it, its operation from the tables
 * (operationId, tags, summary, description, security, parameters, request body, the success answer, its answers
 * that are not the envelope, its own FAIL answers), with the answers the declaration implies and, on the api, the
 * load shedder's 429 unless the route declares its own.
 */
function pathsOf(): Json {
  const paths: Record<string, Json> = {};
  for (const [table, servers] of TABLES) {
    for (const route of Object.values(table)) {
      // The api's load shedder (MAX_IN_FLIGHT, packages/api/src/load-shedder.ts) answers any request of the api,
      // before routing, with 429 TOO_MANY_REQUESTS; only /health/* (answered by terminus before it) is never shed.
      const shed = servers.includes(API_SERVER[0]) && !route.path.startsWith('/health/');
      const item = (paths[route.path] ??= { servers });
      const fromZod = zodGenerated.operations.get(`${route.method} ${route.path}`) ?? {};
      const parameters = (fromZod.parameters as Json[] | undefined) ?? [];
      const data = route.data ? generatedData(fromZod, 200) : undefined;
      item[route.method] = {
        operationId: route.operationId,
        tags: [route.tag],
        summary: route.summary,
        ...(route.description ? { description: route.description } : {}),
        ...(parameters.length > 0 ? { parameters } : {}),
        ...(fromZod.requestBody ? { requestBody: fromZod.requestBody } : {}),
        responses: {
          ...(data ? { '200': successResponse(route, data) } : {}),
          ...plainResponses(route, fromZod),
          ...impliedResponses(route),
          ...(shed ? { '429': R('Shed') } : {}),
          ...errorResponses(route, fromZod),
        },
        security: SECURITY[route.security],
      };
    }
  }
  return paths;
}

/**
 * The OpenAPI 3.1 document of the public (`/api/v1`), internal (`/internal/v1`) and admin (`/internal/admin/v1`)
 * APIs, plus the operational endpoints. Both servers serve the whole document at `GET /openapi.json`; each path
 * names the server that answers it (`servers`). Response bodies are strict (`additionalProperties: false`) so that
 * test/openapi.test.ts catches any drift between the code and this document.
 */
export const openApiDocument: Json = {
  openapi: '3.1.0',
  info: {
    title: 'waiting-queue',
    version: '0.1.0',
    summary: 'A virtual waiting room for flash sales',
    description:
      'Every response of the public, internal and admin APIs is the envelope `{state, errorCode, errorMessage, data}`. ' +
      `\`userId\` and \`itemId\` match \`${ID_CHARS}\`. Every response carries \`X-Request-Id\`.`,
    license: { name: 'MIT', identifier: 'MIT' },
  },
  servers: API_SERVER,
  tags: [
    { name: 'public', description: 'Shoppers (api).' },
    {
      name: 'internal',
      description: 'Order services (api, `/internal/v1`, bearer INTERNAL_TOKEN; required unless DEV_MODE=1).',
    },
    { name: 'admin', description: 'Operators (scheduler admin server, bearer ADMIN_TOKEN).' },
    {
      name: 'pages',
      description: 'HTML pages and their assets: the waiting room (api) and the admin console (scheduler).',
    },
    { name: 'operations', description: 'Health, metrics and this document (both servers).' },
  ],
  paths: pathsOf(),
  components: {
    securitySchemes: {
      internalBearer: {
        type: 'http',
        scheme: 'bearer',
        description:
          'INTERNAL_TOKEN. Outside DEV_MODE the api refuses to start without it, so the bearer is always required in production; ' +
          'with DEV_MODE=1 and INTERNAL_TOKEN unset the internal API accepts calls without any Authorization header (development only).',
      },
      metricsBearer: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN (required on /metrics when set).' },
      adminBearer: {
        type: 'http',
        scheme: 'bearer',
        description:
          'ADMIN_TOKEN. Outside DEV_MODE the scheduler refuses to start without it, so the bearer is always required in production; ' +
          'with DEV_MODE=1 and ADMIN_TOKEN unset the admin API accepts calls without any Authorization header (development only).',
      },
      userJwt: {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description:
          'JWT identity mode (AUTH_JWT_SECRET or AUTH_JWKS_URL): `exp` required; the userId is the `sub` and the lane the claim AUTH_JWT_LANE_CLAIM (default `tier`); the `user-id` and `user-tier` headers are ignored.',
      },
    },
    headers: { RequestId: requestIdHeader, RetryAfter: retryAfterHeader, ETag: etagHeader },
    // Generated from the parameter schemas of views.ts.
    parameters: zodGenerated.parameters,
    responses: {
      InvalidParameter: fail(
        'Malformed ids, token, query or body (including malformed JSON, a body that is not JSON, bad URL encoding). When a body or query fails its schema, `data.fields` maps each field path (e.g. `lanes`, `lanes.1`) to its message, so a form can show it next to the field; otherwise `data` is null.',
        ['INVALID_PARAMETER'],
        nullable({
          type: 'object',
          required: ['fields'],
          additionalProperties: false,
          properties: { fields: { type: 'object', additionalProperties: { type: 'string' } } },
        }),
      ),
      Unauthorized: {
        ...fail('Missing or wrong bearer token.', ['UNAUTHORIZED']),
        headers: {
          'X-Request-Id': { $ref: '#/components/headers/RequestId' },
          'WWW-Authenticate': { description: 'The bearer realm.', schema: { type: 'string' } },
        },
      },
      PayloadTooLarge: fail('The body is over BODY_LIMIT_BYTES.', ['PAYLOAD_TOO_LARGE']),
      UnsupportedMediaType: fail('The body is in an unsupported content encoding or charset.', [
        'UNSUPPORTED_MEDIA_TYPE',
      ]),
      Unknown: fail('A bug (logged with its stack and request id).', ['UNKNOWN']),
      ServiceUnavailable: fail(
        'Redis is unreachable, or the connection dropped before its answer (a write may then have happened: retry it with the same Idempotency-Key); retry after `Retry-After` seconds.',
        ['SERVICE_UNAVAILABLE'],
      ),
      NotFound: fail('No route for this method and path.', ['NOT_FOUND']),
      IdempotencyKeyReused: fail(
        'The Idempotency-Key was used for another request (route, parameters, body or caller); nothing was changed.',
        ['IDEMPOTENCY_KEY_REUSED'],
      ),
      Shed: {
        // Answered before routing and request telemetry: no X-Request-Id (counted by wq_requests_shed_total).
        description: 'The api is at capacity (MAX_IN_FLIGHT requests in flight): retry after `Retry-After` seconds.',
        headers: { 'Retry-After': { $ref: '#/components/headers/RetryAfter' } },
        content: { 'application/json': { schema: failureEnvelope(['TOO_MANY_REQUESTS']) } },
      },
    },
    schemas: {
      // Generated from the zod schemas of views.ts and the route tables.
      ...zodGenerated.schemas,
    },
  },
};

let serialized: string | undefined;

/** {@link openApiDocument} as JSON text, serialized once. */
export function openApiJson(): string {
  serialized ??= JSON.stringify(openApiDocument);
  return serialized;
}
