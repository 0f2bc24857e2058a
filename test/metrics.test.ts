import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { call, startService, type ServiceProcess } from './helpers/processes';
import { sampleValue, scrape } from './helpers/prometheus';
import { testRedis } from './helpers/redis';
import { ADMIN, bearer, consume, poll, register, upsertItem, waitFor } from './helpers/waiting-room-client';

/**
 * Prometheus metrics, request ids and request logs of real processes: an api and a scheduler on one Redis (global
 * N 0, so that only items with their own N are admitted; admissions last ENTRY_TTL_SECONDS=10), and an api with
 * LOG_REQUESTS=1 on a Redis of its own, which the last test stops.
 */
const INTERNAL_TOKEN = 'metrics-internal-token';
const ADMIN_TOKEN = 'metrics-admin-token';
/** The scheduler's /metrics requires it; the api's is open (no METRICS_TOKEN). */
const METRICS_TOKEN = 'metrics-scrape-token';
const POLL_ROUTE = '/api/v1/item/:itemId/waiting-queue/:waitingQueueToken';
const REGISTER_ROUTE = '/api/v1/item/:itemId/waiting-queue';
const DURATION_COUNT = 'http_request_duration_seconds_count';
const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

describe('metrics, request ids and request logs (real processes)', () => {
  let env: Awaited<ReturnType<typeof testRedis>>;
  let env2: Awaited<ReturnType<typeof testRedis>>;
  let api: ServiceProcess | undefined;
  let loggingApi: ServiceProcess | undefined;
  let scheduler: ServiceProcess | undefined;

  beforeAll(async () => {
    [env, env2] = await Promise.all([testRedis(), testRedis()]);
    const started = await Promise.allSettled([
      startService('api', { REDIS_URL: env.url, INTERNAL_TOKEN }),
      startService('api', { REDIS_URL: env2.url, LOG_REQUESTS: '1' }),
      startService('scheduler', {
        REDIS_URL: env.url,
        ADMIN_TOKEN,
        METRICS_TOKEN,
        TOKEN_COUNT_TO_MOVE: '0',
        ENTRY_TTL_SECONDS: '10',
      }),
    ]);
    [api, loggingApi, scheduler] = started.map((s) => (s.status === 'fulfilled' ? s.value : undefined));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
  }, 90_000);

  afterAll(async () => {
    await Promise.all([api?.stop(), loggingApi?.stop(), scheduler?.stop()]);
    await Promise.all([env?.stop(), env2?.stop()]);
  });

  const item = (itemId: string, tokenCountToMove: number | null) =>
    upsertItem(
      scheduler!.url,
      itemId,
      { itemName: itemId, remainCount: 1000, waitingQueueEnabled: true, tokenCountToMove },
      ADMIN_TOKEN,
    );

  test('api /metrics: Prometheus text (not the envelope) with process metrics, event-loop lag, and nothing from warm-up', async () => {
    const m = await scrape(api!.url);
    expect(m.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(m.text).toContain('# TYPE http_request_duration_seconds histogram');
    expect(m.text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
    expect(sampleValue(m.samples, 'nodejs_eventloop_lag_p99_seconds')).toBeGreaterThanOrEqual(0);
    expect(sampleValue(m.samples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(sampleValue(m.samples, 'wq_redis_errors_total')).toBeUndefined();
    // The api's own warm-up (200 registrations and polls) was reset before it reported ready.
    expect(m.samples.filter((s) => s.name === 'wq_registrations_total')).toEqual([]);
    expect(m.samples.filter((s) => s.name === DURATION_COUNT && s.labels.route === POLL_ROUTE)).toEqual([]);
  });

  test('METRICS_TOKEN: /metrics answers 401 UNAUTHORIZED without the bearer (the admin token is not it), and the metrics with it', async () => {
    for (const authorization of [undefined, `Bearer ${ADMIN_TOKEN}`, `Bearer ${METRICS_TOKEN}x`, METRICS_TOKEN]) {
      const res = await fetch(`${scheduler!.url}/metrics`, { headers: authorization ? { authorization } : {} });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
      expect(await res.json()).toEqual({
        state: 'FAIL',
        errorCode: 'UNAUTHORIZED',
        errorMessage: 'missing or wrong bearer token',
        data: null,
      });
    }
    expect((await scrape(scheduler!.url, METRICS_TOKEN)).text).toContain('# TYPE wq_token_count_to_move gauge');
    // Without METRICS_TOKEN (the api here), /metrics stays open.
    expect((await fetch(`${api!.url}/metrics`)).status).toBe(200);
  });

  test('fast-path polls and registrations are recorded under their route templates and statuses; raw paths never become labels', async () => {
    await item('m_poll', null);
    const tokens: string[] = [];
    for (const u of ['pa', 'pb', 'pc'])
      tokens.push((await register(api!.url, 'm_poll', u)).body.data.waitingQueueToken);
    for (let round = 0; round < 2; round++) {
      for (const [i, u] of ['pa', 'pb', 'pc'].entries())
        expect((await poll(api!.url, 'm_poll', tokens[i], u)).status).toBe(200);
    }
    expect((await poll(api!.url, 'm_poll', tokens[0], 'pb')).status).toBe(403);
    expect((await register(api!.url, 'm_none', 'pa')).status).toBe(409);

    const m = await scrape(api!.url);
    expect(sampleValue(m.samples, DURATION_COUNT, { route: POLL_ROUTE, method: 'GET', status: '200' })).toBe(6);
    expect(sampleValue(m.samples, DURATION_COUNT, { route: POLL_ROUTE, method: 'GET', status: '403' })).toBe(1);
    expect(sampleValue(m.samples, DURATION_COUNT, { route: REGISTER_ROUTE, method: 'POST', status: '200' })).toBe(3);
    expect(sampleValue(m.samples, DURATION_COUNT, { route: REGISTER_ROUTE, method: 'POST', status: '409' })).toBe(1);
    expect(
      sampleValue(m.samples, 'http_request_duration_seconds_bucket', { route: POLL_ROUTE, status: '200', le: '+Inf' }),
    ).toBe(6);
    expect(sampleValue(m.samples, 'wq_registrations_total', { result: 'ok' })).toBe(3);
    expect(sampleValue(m.samples, 'wq_registrations_total', { result: 'ITEM_CANNOT_USE_WAITING_QUEUE' })).toBe(1);
    for (const t of tokens) expect(m.text).not.toContain(t);
    const routes = new Set(m.samples.filter((s) => s.name === DURATION_COUNT).map((s) => s.labels.route));
    for (const r of routes) expect(r).not.toMatch(/m_poll|m_none/);
  });

  test('requests that express answers are recorded too: same template for a trailing slash, `unmatched` for unknown paths, the mount for a 401', async () => {
    const before = await scrape(api!.url);
    const polls = sampleValue(before.samples, DURATION_COUNT, { route: POLL_ROUTE, method: 'GET', status: '200' }) ?? 0;
    const token = (await register(api!.url, 'm_poll', 'pa')).body.data.waitingQueueToken;
    // A trailing slash is not the fast path's exact match: express answers it, under the same route.
    const slash = await call(`${api!.url}/api/v1/item/m_poll/waiting-queue/${token}/`, {
      headers: { 'user-id': 'pa' },
    });
    expect(slash.status).toBe(200);
    expect((await call(`${api!.url}/api/v1/item/m_poll/waiting-queue/${token}/extra/segments`)).status).toBe(404);
    expect(
      (await call(`${api!.url}/internal/v1/item/m_poll/waiting-queue/${token}`, { headers: bearer('wrong') })).status,
    ).toBe(401);

    const after = await scrape(api!.url);
    expect(sampleValue(after.samples, DURATION_COUNT, { route: POLL_ROUTE, method: 'GET', status: '200' })).toBe(
      polls + 1,
    );
    expect(
      sampleValue(after.samples, DURATION_COUNT, { route: 'unmatched', method: 'GET', status: '404' }),
    ).toBeGreaterThanOrEqual(1);
    expect(sampleValue(after.samples, DURATION_COUNT, { route: '/internal/v1/*', method: 'GET', status: '401' })).toBe(
      1,
    );
    expect(after.text).not.toContain('extra/segments');
    // The previous scrape is recorded under its own path.
    expect(
      sampleValue(after.samples, DURATION_COUNT, { route: '/metrics', method: 'GET', status: '200' }),
    ).toBeGreaterThanOrEqual(1);
  });

  test('X-Request-Id: a valid incoming id is echoed; an invalid one is replaced; generated ids are unique, on every kind of response', async () => {
    const token = (await register(api!.url, 'm_poll', 'pa')).body.data.waitingQueueToken;
    const urls = [
      `${api!.url}/api/v1/item/m_poll/waiting-queue/${token}`, // fast path
      `${api!.url}/api/v1/item/m_poll/waiting-queue/${token}/`, // express
      `${api!.url}/no/such/route`, // express 404
      `${api!.url}/metrics`,
      `${scheduler!.url}${ADMIN}/waiting-queue/token-count-to-move`, // scheduler, 401
    ];
    for (const url of urls) {
      const echoed = await fetch(url, { headers: { 'user-id': 'pa', 'x-request-id': 'gateway-1.a_b' } });
      expect({ url, id: echoed.headers.get('x-request-id') }).toEqual({ url, id: 'gateway-1.a_b' });
      for (const bad of ['x'.repeat(129), 'has space', 'semi;colon', '']) {
        const replaced = await fetch(url, { headers: { 'user-id': 'pa', 'x-request-id': bad } });
        const id = replaced.headers.get('x-request-id');
        expect({ url, bad, valid: REQUEST_ID.test(id ?? ''), same: id === bad }).toEqual({
          url,
          bad,
          valid: true,
          same: false,
        });
      }
    }
    const ids = new Set<string>();
    for (let i = 0; i < 20; i++)
      ids.add(
        (
          await fetch(`${api!.url}/api/v1/item/m_poll/waiting-queue/${token}`, { headers: { 'user-id': 'pa' } })
        ).headers.get('x-request-id')!,
      );
    expect(ids.size).toBe(20);
  });

  test('without LOG_REQUESTS there are no request lines; with it, one JSON line per request with reqId, method, route, status, ms', async () => {
    expect(api!.output()).not.toMatch(/"msg":"request"/);
    await call(`${loggingApi!.url}/api/v1/item/nothing/waiting-queue/u1-nothing-00000000-0000-4000-8000-000000000000`, {
      headers: { 'user-id': 'u1', 'x-request-id': 'log-check-1' },
    });
    const line = await waitFor('the request line', async () =>
      loggingApi!
        .output()
        .split('\n')
        .filter((l) => l.includes('"log-check-1"'))
        .map((l) => JSON.parse(l))
        .find((l) => l.msg === 'request'),
    );
    expect(line).toMatchObject({ reqId: 'log-check-1', method: 'GET', route: POLL_ROUTE, status: 404, service: 'api' });
    expect(typeof line.ms).toBe('number');
    expect(line.ms).toBeGreaterThanOrEqual(0);
    expect(JSON.stringify(line)).not.toContain('00000000-0000-4000'); // the route template, not the token
  });

  test('scheduler: admissions counter grows with ticks; waiting and admitted gauges per item; tick durations; expirations', async () => {
    await item('m_wait', null); // global N 0: stays waiting
    await item('m_adm', 2); // two per tick
    for (const u of ['w1', 'w2', 'w3']) expect((await register(api!.url, 'm_wait', u)).status).toBe(200);
    for (const u of ['a1', 'a2', 'a3', 'a4', 'a5']) expect((await register(api!.url, 'm_adm', u)).status).toBe(200);

    const admitted = await waitFor(
      '5 admissions of m_adm counted',
      async () => {
        const m = await scrape(scheduler!.url, METRICS_TOKEN);
        return sampleValue(m.samples, 'wq_admissions_total', { item_id: 'm_adm' }) === 5 ? m : undefined;
      },
      30_000,
      200,
    );
    expect(sampleValue(admitted.samples, 'wq_waiting_users', { item_id: 'm_wait' })).toBe(3);
    expect(sampleValue(admitted.samples, 'wq_admitted_users', { item_id: 'm_wait' })).toBe(0);
    expect(sampleValue(admitted.samples, 'wq_waiting_users', { item_id: 'm_adm' })).toBe(0);
    expect(sampleValue(admitted.samples, 'wq_admissions_total', { item_id: 'm_wait' })).toBe(0);
    expect(sampleValue(admitted.samples, 'wq_scheduler_tick_duration_seconds_count')).toBeGreaterThanOrEqual(3);
    expect(sampleValue(admitted.samples, 'wq_scheduler_ticks_total', { result: 'ok' })).toBeGreaterThanOrEqual(3);
    expect(sampleValue(admitted.samples, 'wq_token_count_to_move')).toBe(0);
    expect(admitted.text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');

    // The gauges agree with the admin API's counts.
    const counts = await call(`${scheduler!.url}${ADMIN}/waiting-queue/token-count`, { headers: bearer(ADMIN_TOKEN) });
    const now = await scrape(scheduler!.url, METRICS_TOKEN);
    for (const c of counts.body.data.currentWaitingQueueList as { itemId: string; waitingTokenCount: number }[]) {
      expect({ item: c.itemId, waiting: sampleValue(now.samples, 'wq_waiting_users', { item_id: c.itemId }) }).toEqual({
        item: c.itemId,
        waiting: c.waitingTokenCount,
      });
    }

    // a1 orders (consume); the other four admissions expire unused after ENTRY_TTL_SECONDS and are swept.
    const a1 = (await register(api!.url, 'm_adm', 'a1')).body.data.waitingQueueToken;
    expect((await consume(api!.url, 'm_adm', a1, INTERNAL_TOKEN)).status).toBe(200);
    expect((await consume(api!.url, 'm_adm', a1, INTERNAL_TOKEN)).status).toBe(409);
    const apiMetrics = await scrape(api!.url);
    expect(sampleValue(apiMetrics.samples, 'wq_consumes_total', { result: 'ok' })).toBe(1);
    expect(sampleValue(apiMetrics.samples, 'wq_consumes_total', { result: 'NOT_ADMITTED' })).toBe(1);
    const expired = await waitFor(
      '4 expirations of m_adm',
      async () => {
        const m = await scrape(scheduler!.url, METRICS_TOKEN);
        return sampleValue(m.samples, 'wq_expirations_total', { item_id: 'm_adm' }) === 4 ? m : undefined;
      },
      45_000,
      250,
    );
    expect(sampleValue(expired.samples, 'wq_admitted_users', { item_id: 'm_adm' })).toBe(0);

    // N is read from Redis on scrape.
    const n = await call(`${scheduler!.url}${ADMIN}/waiting-queue/token-count-to-move?tokenCountToMove=7`, {
      method: 'PUT',
      headers: bearer(ADMIN_TOKEN),
    });
    expect(n.status).toBe(200);
    expect(sampleValue((await scrape(scheduler!.url, METRICS_TOKEN)).samples, 'wq_token_count_to_move')).toBe(7);
  });

  test('scheduler /metrics needs no token while the admin API does; admin requests are recorded by route template', async () => {
    expect((await call(`${scheduler!.url}${ADMIN}/waiting-item/m_wait`)).status).toBe(401);
    expect((await call(`${scheduler!.url}${ADMIN}/waiting-item/m_wait`, { headers: bearer(ADMIN_TOKEN) })).status).toBe(
      200,
    );
    expect((await call(`${scheduler!.url}${ADMIN}/waiting-item/m_nope`, { headers: bearer(ADMIN_TOKEN) })).status).toBe(
      404,
    );
    const m = await scrape(scheduler!.url, METRICS_TOKEN);
    const route = `${ADMIN}/waiting-item/:itemId`;
    expect(sampleValue(m.samples, DURATION_COUNT, { route, method: 'GET', status: '200' })).toBe(1);
    expect(sampleValue(m.samples, DURATION_COUNT, { route, method: 'GET', status: '404' })).toBe(1);
    expect(
      sampleValue(m.samples, DURATION_COUNT, { route: `${ADMIN}/*`, method: 'GET', status: '401' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sampleValue(m.samples, DURATION_COUNT, {
        route: `${ADMIN}/waiting-item/:itemId/manually`,
        method: 'POST',
        status: '200',
      }),
    ).toBeGreaterThanOrEqual(2);
  });

  test('the Grafana dashboard queries only metrics the servers expose, and Prometheus scrapes both servers of docker-compose', async () => {
    const root = join(__dirname, '..');
    const dashboard = JSON.parse(readFileSync(join(root, 'deploy/grafana/dashboards/waiting-queue.json'), 'utf8'));
    const exposed = new Set(
      [...(await scrape(api!.url)).samples, ...(await scrape(scheduler!.url, METRICS_TOKEN)).samples].map(
        (s) => s.name,
      ),
    );
    // Metrics that exist only once something happened (a shed request) are declared by their HELP line.
    const declared = `${(await scrape(api!.url)).text}\n${(await scrape(scheduler!.url, METRICS_TOKEN)).text}`;
    const exprs: string[] = dashboard.panels.flatMap((p: { targets?: { expr: string }[] }) =>
      (p.targets ?? []).map((t) => t.expr),
    );
    expect(exprs.length).toBeGreaterThanOrEqual(15);
    const names = new Set(exprs.flatMap((e) => e.match(/\b(?:wq|http|nodejs|process)_[a-z0-9_]+/g) ?? []));
    for (const name of names) {
      const base = name.replace(/_(bucket|count|sum)$/, '');
      expect({ name, exposed: exposed.has(name) || declared.includes(`# HELP ${base} `) }).toEqual({
        name,
        exposed: true,
      });
    }
    for (const needed of [
      'http_request_duration_seconds_bucket',
      'wq_waiting_users',
      'wq_admitted_users',
      'wq_admissions_total',
      'wq_scheduler_tick_duration_seconds_bucket',
      'nodejs_eventloop_lag_p99_seconds',
      'wq_redis_errors_total',
    ]) {
      expect(names.has(needed)).toBe(true);
    }
    for (const p of dashboard.panels) if (p.type !== 'row') expect(p.datasource.uid).toBe('wq-prometheus');
    const datasource = readFileSync(join(root, 'deploy/grafana/provisioning/datasources/prometheus.yml'), 'utf8');
    expect(datasource).toMatch(/uid: wq-prometheus/);
    const prometheus = readFileSync(join(root, 'deploy/prometheus/prometheus.yml'), 'utf8');
    expect(prometheus).toContain('targets: ["api:8080"]');
    expect(prometheus).toContain('targets: ["scheduler:8081"]');
    const compose = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
    expect(compose).toMatch(/API_PORT: 8080/);
    expect(compose).toMatch(/ADMIN_PORT: 8081/);
    expect(compose).toContain('./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml');
    expect(compose).toContain('./deploy/grafana/dashboards:/var/lib/grafana/dashboards');
  });

  test('Redis down: 503s and ioredis errors are counted, and the 503 warning carries the request id', async () => {
    await env2.server.stop();
    const token = 'u1-nothing-00000000-0000-4000-8000-000000000000';
    const r = await waitFor(
      'a 503 from the logging api',
      async () => {
        const reply = await call(`${loggingApi!.url}/api/v1/item/nothing/waiting-queue/${token}`, {
          headers: { 'user-id': 'u1', 'x-request-id': 'down-1' },
        });
        return reply.status === 503 ? reply : undefined;
      },
      15_000,
      200,
    );
    expect(r.body.errorCode).toBe('SERVICE_UNAVAILABLE');
    const warning = await waitFor('the 503 warning line', async () =>
      loggingApi!
        .output()
        .split('\n')
        .filter((l) => l.includes('"down-1"'))
        .map((l) => JSON.parse(l))
        .find((l) => l.msg === 'SERVICE_UNAVAILABLE'),
    );
    expect(warning).toMatchObject({ reqId: 'down-1', level: 40 });
    const m = await waitFor(
      'connection errors counted',
      async () => {
        const s = await scrape(loggingApi!.url);
        return (sampleValue(s.samples, 'wq_redis_errors_total', { kind: 'connection' }) ?? 0) >= 1 ? s : undefined;
      },
      15_000,
      200,
    );
    expect(sampleValue(m.samples, 'wq_redis_errors_total', { kind: 'request' })).toBeGreaterThanOrEqual(1);
    expect(
      sampleValue(m.samples, DURATION_COUNT, { route: POLL_ROUTE, method: 'GET', status: '503' }),
    ).toBeGreaterThanOrEqual(1);
  });
});
