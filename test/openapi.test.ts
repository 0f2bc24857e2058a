import { ErrorCodeAlternateStatus, ErrorCodes } from '@waiting-queue/core/errors';
import { openApiDocument } from '@waiting-queue/http/openapi';
import { createLogger } from '@waiting-queue/core/logger';
import { createApiApp } from '../packages/api/src/app';
import { createAdminApp } from '../packages/scheduler/src/admin-app';
import { createConsoleRouter } from '../packages/scheduler/src/console';
import { OpenApiValidator, type OpenApiDoc } from './helpers/openapi-validator';
import { call, startService, type ServiceProcess } from './helpers/processes';
import { testRedis } from './helpers/redis';
import { ADMIN, bearer, waitFor, type Reply } from './helpers/waiting-room-client';

/**
 * The OpenAPI 3.1 document against real processes: an api (INTERNAL_TOKEN, a per-user registration limit, a small
 * body limit), an api in JWT identity mode, and a scheduler (ADMIN_TOKEN, global N 0 so that users stay waiting
 * unless their item has its own N). Every endpoint is called with successful and failing requests, and every
 * response's status and body are validated (Ajv, JSON Schema 2020-12) against the document the api serves.
 * The last block stops Redis and checks the 503 answers.
 */
const INTERNAL_TOKEN = 'openapi-internal-token';
const ADMIN_TOKEN = 'openapi-admin-token';
/** The scheduler's /metrics requires it; the api's is open. */
const METRICS_TOKEN = 'openapi-metrics-token';
const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;
const UNKNOWN_UUID = '00000000-0000-4000-8000-000000000000';

describe('OpenAPI document against real responses', () => {
  let env: Awaited<ReturnType<typeof testRedis>>;
  let api: ServiceProcess | undefined;
  let jwtApi: ServiceProcess | undefined;
  let scheduler: ServiceProcess | undefined;
  let V: OpenApiValidator;
  /** Tokens of the public API test, used by the internal API test: alice waits (oa_open), dave is admitted (oa_fast). */
  const tokens: { alice?: string; dave?: string } = {};

  beforeAll(async () => {
    env = await testRedis();
    const started = await Promise.allSettled([
      startService('api', {
        REDIS_URL: env.url,
        INTERNAL_TOKEN,
        BODY_LIMIT_BYTES: '512',
        RATE_LIMIT_USER_POINTS: '4',
        RATE_LIMIT_USER_SECONDS: '600',
      }),
      // JWT identity mode, and a load shedder that lets one request in at a time (MAX_IN_FLIGHT=1).
      startService('api', {
        REDIS_URL: env.url,
        AUTH_JWT_SECRET: 'openapi-jwt-secret-0123456789abcdef',
        MAX_IN_FLIGHT: '1',
      }),
      startService('scheduler', {
        REDIS_URL: env.url,
        ADMIN_TOKEN,
        METRICS_TOKEN,
        TOKEN_COUNT_TO_MOVE: '0',
        BODY_LIMIT_BYTES: '512',
      }),
    ]);
    [api, jwtApi, scheduler] = started.map((s) => (s.status === 'fulfilled' ? s.value : undefined));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    const served = await call(`${api!.url}/openapi.json`);
    V = new OpenApiValidator(served.body as unknown as OpenApiDoc);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([api?.stop(), jwtApi?.stop(), scheduler?.stop()]);
    await env?.stop();
  });

  /**
   * Calls `url` and checks the answer against `method` `template` of the document: the status is `status` and
   * documented, the body matches its schema, and the response carries a request id.
   */
  async function expectDocumented(
    method: string,
    template: string,
    url: string,
    status: number,
    init: { headers?: Record<string, string>; body?: unknown; rawBody?: string } = {},
  ): Promise<Reply> {
    const r = await call(url, { method, ...init });
    const errors = V.check(method, template, r.status, r.body);
    expect({ call: `${method} ${url}`, status: r.status, errorCode: r.body.errorCode, errors }).toEqual({
      call: `${method} ${url}`,
      status,
      errorCode: r.body.errorCode,
      errors: [],
    });
    expect(r.headers.get('x-request-id')).toMatch(REQUEST_ID);
    return r;
  }

  const admin = (
    method: string,
    template: string,
    path: string,
    status: number,
    init: { headers?: Record<string, string>; body?: unknown; rawBody?: string } = {},
  ) =>
    expectDocumented(method, `${ADMIN}${template}`, `${scheduler!.url}${ADMIN}${path}`, status, {
      ...init,
      headers: { ...bearer(ADMIN_TOKEN), ...(init.headers ?? {}) },
    });
  const REGISTER = '/api/v1/item/{itemId}/waiting-queue';
  const POLL = '/api/v1/item/{itemId}/waiting-queue/{waitingQueueToken}';
  const VALIDATE = '/internal/v1/item/{itemId}/waiting-queue/{waitingQueueToken}';
  const CONSUME = '/internal/v1/item/{itemId}/waiting-queue/{waitingQueueToken}/consume';
  const register = (
    itemId: string,
    userId: string | undefined,
    status: number,
    init: { headers?: Record<string, string>; body?: unknown; rawBody?: string } = {},
  ) =>
    expectDocumented('POST', REGISTER, `${api!.url}/api/v1/item/${itemId}/waiting-queue`, status, {
      ...init,
      headers: { ...(userId === undefined ? {} : { 'user-id': userId }), ...(init.headers ?? {}) },
    });
  const pollAs = (itemId: string, token: string, userId: string, status: number) =>
    expectDocumented('GET', POLL, `${api!.url}/api/v1/item/${itemId}/waiting-queue/${token}`, status, {
      headers: { 'user-id': userId },
    });
  /** A call of the internal API with `auth` as the bearer (null: no Authorization header). */
  const internal = (
    template: string,
    method: string,
    itemId: string,
    token: string,
    status: number,
    auth: string | null = INTERNAL_TOKEN,
  ) =>
    expectDocumented(
      method,
      template,
      `${api!.url}/internal/v1/item/${itemId}/waiting-queue/${token}${method === 'POST' ? '/consume' : ''}`,
      status,
      {
        headers: bearer(auth ?? undefined),
      },
    );

  test('both servers serve the document of the code at /openapi.json, and it is OpenAPI 3.1 with every path given a server', async () => {
    const fromApi = await call(`${api!.url}/openapi.json`);
    const fromScheduler = await call(`${scheduler!.url}/openapi.json`);
    expect(fromApi.status).toBe(200);
    expect(fromApi.headers.get('content-type')).toMatch(/^application\/json/);
    expect(fromApi.body).toEqual(JSON.parse(JSON.stringify(openApiDocument)));
    expect(fromScheduler.body).toEqual(fromApi.body);
    expect(V.check('GET', '/openapi.json', fromApi.status, fromApi.body)).toEqual([]);
    expect(V.doc.openapi).toBe('3.1.0');
    for (const [path, item] of Object.entries(V.doc.paths)) {
      expect({ path, servers: Array.isArray(item.servers) && item.servers.length > 0 }).toEqual({
        path,
        servers: true,
      });
    }
  });

  test('every response schema compiles under strict JSON Schema 2020-12, and every operation has an id and a 2xx', () => {
    const ids = new Set<string>();
    for (const [method, path, op] of V.operations()) {
      expect({ method, path, operationId: typeof op.operationId }).toEqual({ method, path, operationId: 'string' });
      expect(ids.has(op.operationId)).toBe(false);
      ids.add(op.operationId);
      expect({ method, path, has2xx: Object.keys(op.responses).some((s) => /^2/.test(s)) }).toEqual({
        method,
        path,
        has2xx: true,
      });
    }
    let compiled = 0;
    for (const [method, path, status, response] of V.responses()) {
      for (const mediaType of Object.keys(response.content ?? {})) {
        expect(() => V.validatorFor(method, path, status, mediaType)).not.toThrow();
        compiled++;
      }
    }
    expect(compiled).toBeGreaterThan(50);
  });

  test('every route of the express apps (api with page and stock, admin with console and restock) is documented, and every documented path is served', () => {
    // The apps are built in-process with stub collaborators (nothing is called while routes are only listed).
    const logger = createLogger('openapi-test', 'silent');
    const stub = {} as any;
    const apiApp = createApiApp({
      ops: stub,
      logger,
      entryPasses: { jwks: () => ({ keys: [] }) } as any,
      internalToken: 'x',
      bodyLimitBytes: 1024,
      page: { items: stub },
      stock: { service: stub },
    });
    const adminApp = createAdminApp({
      items: stub,
      queue: stub,
      logger,
      defaultTokenCountToMove: 1,
      adminToken: 'x',
      bodyLimitBytes: 1024,
      console: createConsoleRouter({
        items: stub,
        queue: stub,
        redis: stub,
        adminToken: 'x',
        defaultTokenCountToMove: 1,
        tickMs: 1000,
      }) as any,
      restock: true,
      tickMs: 1000,
    } as any);
    /** [METHOD path] of every route and static mount, express `:param` written as OpenAPI `{param}`. */
    const list = (stack: any[], prefix: string, out: Set<string>): Set<string> => {
      const norm = (p: string) => (p.length > 1 ? p.replace(/\/$/, '') : p).replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      for (const layer of stack) {
        const mount = layer.rawPath === '/' || layer.rawPath === undefined ? '' : String(layer.rawPath);
        if (layer.route) {
          const paths: string[] = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
          for (const m of Object.keys(layer.route.methods)) for (const p of paths) out.add(`${m} ${norm(prefix + p)}`);
        } else if (layer.handle?.stack) {
          list(layer.handle.stack, prefix + mount, out);
        } else if (layer.name === 'serveStatic') {
          out.add(`get ${norm(prefix + mount)}/{file}`);
        }
      }
      return out;
    };
    const served = new Set([
      ...list((apiApp as any).router.stack, '', new Set()),
      ...list((adminApp as any).router.stack, '', new Set()),
    ]);
    expect(served.size).toBeGreaterThanOrEqual(20);
    const documented = new Set(V.operations().map(([m, p]) => `${m} ${p}`));
    for (const route of served)
      expect({ route, documented: documented.has(route) }).toEqual({ route, documented: true });
    // Answered outside express: /metrics and /openapi.json (observed-server.ts), /health/* (terminus).
    const outside = new Set(['get /metrics', 'get /openapi.json', 'get /health/live', 'get /health/ready']);
    for (const op of documented)
      if (!outside.has(op)) expect({ op, served: served.has(op) }).toEqual({ op, served: true });
  });

  test('the ErrorCode enum is every code of ErrorCodes, and each documented errorCode sits under the status it maps to', () => {
    expect([...(V.doc.components.schemas.ErrorCode.enum as string[])].sort()).toEqual(Object.keys(ErrorCodes).sort());
    const documented = new Set<string>();
    const codesOf = (response: any): string[] =>
      response?.content?.['application/json']?.schema?.properties?.errorCode?.enum ?? [];
    for (const [method, path, status, response] of V.responses()) {
      for (const code of codesOf(response)) {
        documented.add(code);
        // A code sits under its status, or under one of its documented alternates (ErrorCodeAlternateStatus).
        const alternates = ErrorCodeAlternateStatus[code as keyof typeof ErrorCodes] ?? [];
        const expected = alternates.includes(Number(status))
          ? Number(status)
          : ErrorCodes[code as keyof typeof ErrorCodes];
        expect({ method, path, code, status: Number(status) }).toEqual({ method, path, code, status: expected });
      }
    }
    for (const response of Object.values(V.doc.components.responses))
      for (const code of codesOf(response)) documented.add(code);
    expect([...documented].sort()).toEqual(Object.keys(ErrorCodes).sort());
  });

  test('admin API: items, N and counts, with their failures', async () => {
    // Items used by the public API tests below: open (global N 0: users stay waiting), fast (own N: admitted at
    // the next tick), off (disabled), gone (sold out).
    const mk = (itemId: string, body: unknown) =>
      admin('POST', '/waiting-item/{itemId}/manually', `/waiting-item/${itemId}/manually`, 200, { body });
    await mk('oa_open', { itemName: 'Open', remainCount: 100, waitingQueueEnabled: true });
    await mk('oa_fast', {
      itemName: 'Fast',
      remainCount: 100,
      waitingQueueEnabled: true,
      tokenCountToMove: 100,
      maxActiveUsers: null,
    });
    await mk('oa_off', { itemName: 'Off', remainCount: 100, waitingQueueEnabled: false });
    const gone = await mk('oa_gone', {
      itemName: 'Gone',
      remainCount: 0,
      waitingQueueEnabled: true,
      targetUrl: 'https://shop.example/order/gone',
    });
    expect(gone.body.data.targetUrl).toBe('https://shop.example/order/gone');
    // A stock set on an existing item without If-Match, then under a stale ETag: 412.
    await admin('POST', '/waiting-item/{itemId}/manually', '/waiting-item/oa_open/manually', 412, {
      body: { itemName: 'Open', remainCount: 1, waitingQueueEnabled: true },
    });
    await admin('POST', '/waiting-item/{itemId}/manually', '/waiting-item/oa_open/manually', 412, {
      body: { itemName: 'Open', remainCount: 1, waitingQueueEnabled: true },
      headers: { 'if-match': '"0.99"' },
    });
    await admin('POST', '/waiting-item/{itemId}/manually', '/waiting-item/oa_bad/manually', 400, {
      body: { itemName: '', remainCount: -1 },
    });
    await admin('POST', '/waiting-item/{itemId}/manually', '/waiting-item/bad-id/manually', 400, {
      body: { itemName: 'x', remainCount: 1, waitingQueueEnabled: true },
    });
    await admin('POST', '/waiting-item/{itemId}/manually', '/waiting-item/oa_big/manually', 413, {
      body: { itemName: 'x'.repeat(600), remainCount: 1, waitingQueueEnabled: true },
    });
    await admin('POST', '/waiting-item/{itemId}/manually', '/waiting-item/oa_x/manually', 401, {
      headers: bearer('wrong'),
    });

    await admin('GET', '/waiting-item/{itemId}', '/waiting-item/oa_fast', 200);
    await admin('GET', '/waiting-item/{itemId}', '/waiting-item/oa_none', 404);
    await admin('GET', '/waiting-item/{itemId}', '/waiting-item/bad-id', 400);
    await admin('GET', '/waiting-item/{itemId}', '/waiting-item/oa_fast', 401, {
      headers: { authorization: 'Bearer nope' },
    });

    const N = '/waiting-queue/token-count-to-move';
    expect((await admin('GET', N, N, 200)).body.data).toEqual({ tokenCountToMove: 0 });
    await admin('GET', N, N, 401, { headers: { authorization: '' } });
    await admin('PUT', N, `${N}?tokenCountToMove=0`, 200);
    await admin('PUT', N, N, 200, { body: { tokenCountToMove: 0 } });
    await admin('PUT', N, `${N}?tokenCountToMove=-1`, 400);
    await admin('PUT', N, N, 400, {
      rawBody: 'tokenCountToMove=1',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    await admin('PUT', N, N, 413, { body: { tokenCountToMove: 1, pad: 'x'.repeat(600) } });
    await admin('PUT', N, `${N}?tokenCountToMove=1`, 401, { headers: { authorization: 'Basic x' } });

    const C = '/waiting-queue/token-count';
    const all = await admin('GET', C, C, 200);
    expect(all.body.data.currentWaitingQueueList.map((c: { itemId: string }) => c.itemId)).toEqual([
      'oa_fast',
      'oa_gone',
      'oa_off',
      'oa_open',
    ]);
    await admin('GET', C, C, 401, { headers: { authorization: 'Bearer x' } });
    await admin('POST', C, C, 200, { body: { searchAll: true } });
    await admin('POST', C, C, 200, { body: { itemIdListToSearch: ['oa_open', 'oa_none'] } });
    await admin('POST', C, C, 400, { body: { searchAll: 'yes' } });
    await admin('POST', C, C, 400, { rawBody: '{"searchAll":true}', headers: { 'content-type': 'text/plain' } });
    await admin('POST', C, C, 413, {
      body: { itemIdListToSearch: Array.from({ length: 100 }, (_, i) => `item_${i}`) },
    });
    await admin('POST', C, C, 401, { headers: { authorization: 'Bearer x' }, body: { searchAll: true } });

    await admin('GET', '/overview', '/overview', 200);
    await admin('GET', '/overview', '/overview', 401, { headers: { authorization: 'Bearer x' } });
    await admin('GET', '/history', '/history', 200);
    await admin('GET', '/history', '/history?itemId=oa_open', 200);
    await admin('GET', '/history', '/history?itemId=bad-item', 400);
    await admin('GET', '/history', '/history', 401, { headers: { authorization: 'Bearer x' } });
    await admin('GET', '/audit', '/audit?limit=5', 200);
    await admin('GET', '/audit', '/audit?limit=0', 400);
    await admin('GET', '/audit', '/audit', 401, { headers: { authorization: 'Bearer x' } });
    // A body that fails its schema: 400 with data.fields (field path -> message), as documented.
    const bad = await admin('POST', '/waiting-item/{itemId}/manually', '/waiting-item/oa_bad/manually', 400, {
      body: { itemName: '', waitingQueueEnabled: true, lanes: ['a', 'a'] },
    });
    expect(Object.keys(bad.body.data.fields).sort()).toEqual(['itemName', 'lanes']);

    const F = '/waiting-item/{itemId}/fence/clear';
    expect((await admin('POST', F, '/waiting-item/oa_open/fence/clear', 200)).body.data).toMatchObject({
      itemId: 'oa_open',
      cleared: false,
    });
    await admin('POST', F, '/waiting-item/oa_none/fence/clear', 404);
    await admin('POST', F, '/waiting-item/bad-item/fence/clear', 400);
    await admin('POST', F, '/waiting-item/oa_open/fence/clear', 401, { headers: { authorization: 'Bearer x' } });
  });

  test('public API: registration and polling, waiting and admitted, with their failures', async () => {
    const waiting = await register('oa_open', 'alice', 200);
    expect(waiting.body.data).toMatchObject({ waitingQueueRank: 1, canOrder: false, entryPass: null });
    await register('oa_open', 'alice', 200); // idempotent: the same place
    await register('oa_open', undefined, 400);
    await register('oa_open', 'bad-user', 400);
    await register('bad-item', 'alice', 400);
    // (Distinct users: RATE_LIMIT_USER_POINTS=4 counts every registration of a user, refused ones too.)
    expect((await register('oa_none', 'refused1', 409)).body.data).toEqual({ itemId: 'oa_none', reason: 'NO_ITEM' });
    expect((await register('oa_off', 'refused2', 409)).body.data).toEqual({ itemId: 'oa_off', reason: 'DISABLED' });
    expect((await register('oa_gone', 'refused3', 409)).body.data).toEqual({ itemId: 'oa_gone', reason: 'SOLD_OUT' });
    // A body goes through express, which parses it: malformed, too large, unsupported encoding.
    await register('oa_open', 'bob', 400, { rawBody: '{"a":', headers: { 'content-type': 'application/json' } });
    await register('oa_open', 'bob', 413, { body: { pad: 'x'.repeat(600) } });
    await register('oa_open', 'bob', 415, {
      rawBody: '{}',
      headers: { 'content-type': 'application/json', 'content-encoding': 'x-unknown' },
    });
    // RATE_LIMIT_USER_POINTS=4: carol's fifth registration is refused (re-registrations count).
    for (let i = 0; i < 4; i++) await register('oa_open', 'carol', 200);
    const limited = await register('oa_open', 'carol', 429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);

    const token = waiting.body.data.waitingQueueToken as string;
    tokens.alice = token;
    await pollAs('oa_open', token, 'alice', 200);
    await pollAs('oa_open', 'not-a-token', 'alice', 400);
    await pollAs('oa_open', token, 'bob', 403);
    await pollAs('oa_open', `alice-oa_open-${UNKNOWN_UUID}`, 'alice', 404);

    // oa_fast has its own N: the next tick admits dave, and his poll carries an entry pass.
    const dave = (await register('oa_fast', 'dave', 200)).body.data.waitingQueueToken as string;
    tokens.dave = dave;
    const admitted = await waitFor(
      'dave admitted',
      async () => {
        const r = await call(`${api!.url}/api/v1/item/oa_fast/waiting-queue/${dave}`, {
          headers: { 'user-id': 'dave' },
        });
        return r.body.data?.canOrder === true;
      },
      30_000,
    );
    expect(admitted).toBe(true);
    const view = await pollAs('oa_fast', dave, 'dave', 200);
    expect(view.body.data).toMatchObject({ canOrder: true, waitingQueueRank: 0 });
    expect(typeof view.body.data.entryPass).toBe('string');
  });

  test('public API in JWT identity mode: no bearer is 401 on registration and polling', async () => {
    const r = await expectDocumented('POST', REGISTER, `${jwtApi!.url}/api/v1/item/oa_open/waiting-queue`, 401, {
      headers: { 'user-id': 'alice' },
    });
    expect(r.body.errorCode).toBe('UNAUTHORIZED');
    await expectDocumented(
      'GET',
      POLL,
      `${jwtApi!.url}/api/v1/item/oa_open/waiting-queue/alice-oa_open-${UNKNOWN_UUID}`,
      401,
      { headers: { 'user-id': 'alice' } },
    );
  });

  test("the load shedder's 429 (MAX_IN_FLIGHT=1, 100 concurrent item reads) is the documented one", async () => {
    // Each read waits for a Redis round trip, so concurrent ones find the single slot taken.
    const url = `${jwtApi!.url}/api/v1/item/oa_open`;
    const replies = await Promise.all(Array.from({ length: 100 }, () => call(url)));
    const shed = replies.filter((r) => r.status === 429);
    expect(shed.length).toBeGreaterThan(0);
    expect(replies.some((r) => r.status === 200)).toBe(true);
    for (const r of replies)
      expect({ status: r.status, errors: V.check('GET', '/api/v1/item/{itemId}', r.status, r.body) }).toEqual({
        status: r.status,
        errors: [],
      });
    expect(shed[0].body.errorCode).toBe('TOO_MANY_REQUESTS');
    expect(shed[0].headers.get('retry-after')).toBe('1');
  });

  test('public item view, waiting-room page and assets, JWKS', async () => {
    const item = await expectDocumented('GET', '/api/v1/item/{itemId}', `${api!.url}/api/v1/item/oa_gone`, 200);
    expect(item.body.data).toEqual({
      itemId: 'oa_gone',
      itemName: 'Gone',
      targetUrl: 'https://shop.example/order/gone',
      waitingQueueEnabled: true,
      soldOut: true,
    });
    await expectDocumented('GET', '/api/v1/item/{itemId}', `${api!.url}/api/v1/item/oa_none`, 404);
    await expectDocumented('GET', '/api/v1/item/{itemId}', `${api!.url}/api/v1/item/bad-id`, 400);

    for (const [itemId, status] of [
      ['oa_open', 200],
      ['oa_none', 404],
    ] as const) {
      const res = await fetch(`${api!.url}/waiting-room/${itemId}`);
      const text = await res.text();
      expect({ itemId, status: res.status, type: res.headers.get('content-type') }).toEqual({
        itemId,
        status,
        type: 'text/html; charset=utf-8',
      });
      expect(V.check('GET', '/waiting-room/{itemId}', res.status, text, 'text/html')).toEqual([]);
    }
    for (const file of ['waiting-room.css', 'waiting-room.js']) {
      const res = await fetch(`${api!.url}/waiting-room-assets/${file}`);
      const type = (res.headers.get('content-type') ?? '').split(';')[0];
      expect(V.check('GET', '/waiting-room-assets/{file}', res.status, await res.text(), type)).toEqual([]);
    }
    await expectDocumented('GET', '/waiting-room-assets/{file}', `${api!.url}/waiting-room-assets/missing.js`, 404);

    const jwks = await call(`${api!.url}/.well-known/jwks.json`);
    expect(V.check('GET', '/.well-known/jwks.json', jwks.status, jwks.body)).toEqual([]);
    expect(jwks.status).toBe(200);
  });

  test('internal API: validation and consume, with their failures', async () => {
    const dave = tokens.dave!;
    const alice = tokens.alice!;
    expect([typeof dave, typeof alice]).toEqual(['string', 'string']);

    expect((await internal(VALIDATE, 'GET', 'oa_fast', dave, 200)).body.data).toMatchObject({
      admitted: true,
      userId: 'dave',
    });
    expect((await internal(VALIDATE, 'GET', 'oa_open', alice, 200)).body.data).toEqual({
      admitted: false,
      userId: 'alice',
      itemId: 'oa_open',
      expiresInSeconds: null,
    });
    await internal(VALIDATE, 'GET', 'oa_open', 'garbage', 400);
    await internal(VALIDATE, 'GET', 'oa_fast', dave, 401, null);
    await internal(VALIDATE, 'GET', 'oa_open', dave, 403);
    await internal(VALIDATE, 'GET', 'oa_open', `zed-oa_open-${UNKNOWN_UUID}`, 404);

    await internal(CONSUME, 'POST', 'oa_fast', dave, 401, 'wrong');
    await internal(CONSUME, 'POST', 'oa_open', dave, 403);
    await internal(CONSUME, 'POST', 'oa_fast', 'garbage', 400);
    await internal(CONSUME, 'POST', 'oa_open', alice, 409);
    expect((await internal(CONSUME, 'POST', 'oa_fast', dave, 200)).body.data).toEqual({
      consumed: true,
      userId: 'dave',
      itemId: 'oa_fast',
    });
    await internal(CONSUME, 'POST', 'oa_fast', dave, 409);
    const big = await call(`${api!.url}/internal/v1/item/oa_fast/waiting-queue/${dave}/consume`, {
      method: 'POST',
      headers: bearer(INTERNAL_TOKEN),
      body: { pad: 'x'.repeat(600) },
    });
    expect({ status: big.status, errors: V.check('POST', CONSUME, big.status, big.body) }).toEqual({
      status: 413,
      errors: [],
    });
  });

  test('stock API: reservations, confirm, cancel, claims and restock, with their failures', async () => {
    const RESERVE = '/internal/v1/item/{itemId}/reservations';
    const RSV = '/internal/v1/reservations/{reservationId}';
    const CLAIM = '/api/v1/item/{itemId}/claims';
    const auth = bearer(INTERNAL_TOKEN);
    await admin('POST', '/waiting-item/{itemId}/manually', '/waiting-item/oa_stock/manually', 200, {
      body: { itemName: 'Stock', remainCount: 2, waitingQueueEnabled: true, tokenCountToMove: 10, maxPerUser: 1 },
    });
    const tok = new Map<string, string>();
    for (const u of ['sa', 'sb', 'sc'])
      tok.set(u, (await register('oa_stock', u, 200)).body.data.waitingQueueToken as string);
    await waitFor(
      'sa, sb, sc admitted',
      async () => {
        const r = await call(`${api!.url}/api/v1/item/oa_stock/waiting-queue/${tok.get('sc')}`, {
          headers: { 'user-id': 'sc' },
        });
        return r.body.data?.canOrder === true;
      },
      30_000,
    );
    const reserve = (
      userId: string,
      status: number,
      body: unknown = { waitingQueueToken: tok.get(userId), userId },
      headers = auth,
    ) =>
      expectDocumented('POST', RESERVE, `${api!.url}/internal/v1/item/oa_stock/reservations`, status, {
        headers,
        body,
      });
    await reserve('sa', 401, undefined, {});
    await reserve('sa', 400, { waitingQueueToken: tok.get('sa'), userId: 'sa', quantity: 0 });
    await reserve('sa', 403, { waitingQueueToken: tok.get('sa'), userId: 'sb' });
    await reserve('sa', 409, { waitingQueueToken: tok.get('sa'), userId: 'sa', quantity: 2 });
    const a = (await reserve('sa', 200)).body.data.reservationId as string;
    const b = (await reserve('sb', 200)).body.data.reservationId as string;
    await reserve('sa', 403);
    await reserve('sc', 409);
    const settle = (id: string, action: string, status: number) =>
      expectDocumented('POST', `${RSV}/${action}`, `${api!.url}/internal/v1/reservations/${id}/${action}`, status, {
        headers: auth,
      });
    await expectDocumented('GET', RSV, `${api!.url}/internal/v1/reservations/${a}`, 200, { headers: auth });
    await expectDocumented('GET', RSV, `${api!.url}/internal/v1/reservations/oa_stock.99`, 404, { headers: auth });
    await settle(a, 'confirm', 200);
    await settle(a, 'cancel', 409);
    await settle(b, 'cancel', 200);
    await settle(b, 'confirm', 409);
    await settle('oa_stock.99', 'confirm', 404);
    await settle('oa_stock.99', 'cancel', 404);

    await admin('POST', '/waiting-item/{itemId}/manually', '/waiting-item/oa_coupon/manually', 200, {
      body: { itemName: 'Coupon', remainCount: 1, waitingQueueEnabled: true, queueMode: 'DIRECT' },
    });
    const claim = (itemId: string, userId: string, status: number) =>
      expectDocumented('POST', CLAIM, `${api!.url}/api/v1/item/${itemId}/claims`, status, {
        headers: { 'user-id': userId },
      });
    await claim('oa_coupon', 'ca', 200);
    await claim('oa_coupon', 'ca', 409);
    await claim('oa_coupon', 'cb', 409);
    await claim('oa_none', 'cb', 404);
    await claim('oa_coupon', 'bad-user', 400);
    await admin('POST', '/waiting-item/{itemId}/restock', '/waiting-item/oa_coupon/restock', 200, {
      body: { quantity: 1 },
    });
    await admin('POST', '/waiting-item/{itemId}/restock', '/waiting-item/oa_none/restock', 404, {
      body: { quantity: 1 },
    });
    await admin('POST', '/waiting-item/{itemId}/restock', '/waiting-item/oa_coupon/restock', 400, {
      body: { quantity: 0 },
    });
    // Idempotency-Key: a replay is the first answer; the key on another request is 422.
    const key = { 'idempotency-key': 'oa-restock-1' };
    const first = await admin('POST', '/waiting-item/{itemId}/restock', '/waiting-item/oa_coupon/restock', 200, {
      body: { quantity: 2 },
      headers: key,
    });
    const replay = await admin('POST', '/waiting-item/{itemId}/restock', '/waiting-item/oa_coupon/restock', 200, {
      body: { quantity: 2 },
      headers: key,
    });
    expect(replay.body).toEqual(first.body);
    await admin('POST', '/waiting-item/{itemId}/restock', '/waiting-item/oa_coupon/restock', 422, {
      body: { quantity: 3 },
      headers: key,
    });
    await admin('POST', '/waiting-item/{itemId}/restock', '/waiting-item/oa_coupon/restock', 400, {
      body: { quantity: 2 },
      headers: { 'idempotency-key': 'x'.repeat(256) },
    });
    await expectDocumented('POST', CLAIM, `${api!.url}/api/v1/item/oa_coupon/claims`, 422, {
      headers: { 'user-id': 'cc', ...key },
    });
  });

  test('operations: health, metrics, the console page, and the 404 of an unknown route on both servers', async () => {
    for (const server of [api!, scheduler!]) {
      for (const path of ['/health/live', '/health/ready']) {
        const r = await call(`${server.url}${path}`);
        expect({ path, status: r.status, errors: V.check('GET', path, r.status, r.body) }).toEqual({
          path,
          status: 200,
          errors: [],
        });
      }
      const metrics = await fetch(`${server.url}/metrics`, {
        headers: server === scheduler ? bearer(METRICS_TOKEN) : {},
      });
      const text = await metrics.text();
      expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(V.check('GET', '/metrics', metrics.status, text, 'text/plain')).toEqual([]);
      expect(metrics.status).toBe(200);

      const missing = await call(`${server.url}/no/such/route`);
      const notFound = V.ajv.compile({
        $ref: 'wq://openapi#/components/responses/NotFound/content/application~1json/schema',
      });
      expect({ status: missing.status, valid: notFound(missing.body), errors: notFound.errors ?? null }).toEqual({
        status: 404,
        valid: true,
        errors: null,
      });
    }
    // METRICS_TOKEN set (the scheduler here): 401 without it.
    await expectDocumented('GET', '/metrics', `${scheduler!.url}/metrics`, 401);
    const page = await fetch(`${scheduler!.url}/admin`);
    expect(
      V.check('GET', '/admin', page.status, await page.text(), (page.headers.get('content-type') ?? '').split(';')[0]),
    ).toEqual([]);
    for (const file of ['admin.css', 'admin.js']) {
      const res = await fetch(`${scheduler!.url}/admin/assets/${file}`);
      expect(
        V.check(
          'GET',
          '/admin/assets/{file}',
          res.status,
          await res.text(),
          (res.headers.get('content-type') ?? '').split(';')[0],
        ),
      ).toEqual([]);
    }
    await expectDocumented('GET', '/admin/assets/{file}', `${scheduler!.url}/admin/assets/missing.css`, 404);
    for (const file of ['uPlot.min.css', 'uPlot.iife.min.js']) {
      const res = await fetch(`${scheduler!.url}/admin/vendor/${file}`);
      expect(
        V.check(
          'GET',
          '/admin/vendor/{file}',
          res.status,
          await res.text(),
          (res.headers.get('content-type') ?? '').split(';')[0],
        ),
      ).toEqual([]);
    }
    await expectDocumented('GET', '/admin/vendor/{file}', `${scheduler!.url}/admin/vendor/missing.js`, 404);
  });

  test('with Redis down: 503 SERVICE_UNAVAILABLE with Retry-After on every API, and readiness 503, as documented', async () => {
    await env.server.stop();
    const token = `alice-oa_open-${UNKNOWN_UUID}`;
    await waitFor('api sees Redis down', async () => (await call(`${api!.url}/health/ready`)).status === 503, 30_000);
    await waitFor(
      'scheduler sees Redis down',
      async () => (await call(`${scheduler!.url}/health/ready`)).status === 503,
      30_000,
    );
    const replies = [
      await register('oa_open', 'erin', 503),
      await pollAs('oa_open', token, 'alice', 503),
      await internal(VALIDATE, 'GET', 'oa_open', token, 503),
      await internal(CONSUME, 'POST', 'oa_open', token, 503),
      await expectDocumented('GET', '/api/v1/item/{itemId}', `${api!.url}/api/v1/item/oa_open`, 503),
      await admin('GET', '/waiting-queue/token-count-to-move', '/waiting-queue/token-count-to-move', 503),
      await admin(
        'PUT',
        '/waiting-queue/token-count-to-move',
        '/waiting-queue/token-count-to-move?tokenCountToMove=1',
        503,
      ),
      await admin('GET', '/waiting-queue/token-count', '/waiting-queue/token-count', 503),
      await admin('POST', '/waiting-queue/token-count', '/waiting-queue/token-count', 503, {
        body: { searchAll: true },
      }),
      await admin('POST', '/waiting-item/{itemId}/manually', '/waiting-item/oa_x/manually', 503, {
        body: { itemName: 'x', remainCount: 1, waitingQueueEnabled: true },
      }),
      await admin('GET', '/waiting-item/{itemId}', '/waiting-item/oa_open', 503),
      await admin('GET', '/overview', '/overview', 503),
    ];
    for (const r of replies) {
      expect(r.body.errorCode).toBe('SERVICE_UNAVAILABLE');
      expect(r.headers.get('retry-after')).toBe('1');
    }
    const page = await fetch(`${api!.url}/waiting-room/oa_open`);
    expect({
      status: page.status,
      errors: V.check('GET', '/waiting-room/{itemId}', page.status, await page.text(), 'text/html'),
    }).toEqual({ status: 503, errors: [] });
    for (const server of [api!, scheduler!]) {
      const ready = await call(`${server.url}/health/ready`);
      expect({ status: ready.status, errors: V.check('GET', '/health/ready', ready.status, ready.body) }).toEqual({
        status: 503,
        errors: [],
      });
    }
  });

  test('while shutting down (SIGTERM, during the drain), liveness answers the documented 503', async () => {
    const proc = jwtApi!;
    proc.child.kill('SIGTERM');
    const r = await waitFor(
      'liveness 503 during the drain',
      async () => {
        const live = await call(`${proc.url}/health/live`).catch(() => undefined);
        return live && live.status === 503 ? live : undefined;
      },
      5000,
      20,
    );
    expect(V.check('GET', '/health/live', r.status, r.body)).toEqual([]);
    await proc.stop();
  });

  test('coverage: every documented operation was answered with a success, and with a failure where it documents one', () => {
    for (const [method, path, op] of V.operations()) {
      const statuses = V.checked.filter((c) => c.method === method && c.path === path).map((c) => c.status);
      // The load shedder's 429 (components/responses/Shed) can answer any api route; one test covers it.
      const documentsFailure = Object.entries(op.responses).some(
        ([s, r]: [string, any]) => /^[45]/.test(s) && r.$ref !== '#/components/responses/Shed',
      );
      expect({
        method,
        path,
        success: statuses.some((s) => s < 300),
        failure: !documentsFailure || statuses.some((s) => s >= 400),
      }).toEqual({
        method,
        path,
        success: true,
        failure: true,
      });
    }
  });
});
