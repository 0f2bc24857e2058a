import { call, type ServiceProcess } from './helpers/processes';
import { useStack } from './helpers/stack';

/**
 * The two servers (api, scheduler's admin server) answer alike at their edges, on real processes and a real
 * redis-server: HEAD of `/metrics` and `/openapi.json` is answered as GET is (headers, no body), and a body that
 * is not JSON gets one answer on both, 400 `INVALID_PARAMETER` in the envelope (415 is not a status of this API).
 */
describe('HTTP edges answered alike on both servers', () => {
  const env = useStack({
    name: 'http-edges-test',
    services: [{ name: 'api' }, { name: 'scheduler' }],
    startTimeoutMs: 60_000,
  });
  let api: ServiceProcess;
  let scheduler: ServiceProcess;

  beforeAll(() => {
    [api, scheduler] = env.services;
  });

  test('HEAD /metrics and HEAD /openapi.json answer as GET does, on both servers', async () => {
    for (const server of [api, scheduler]) {
      for (const path of ['/metrics', '/openapi.json']) {
        const get = await fetch(`${server.url}${path}`);
        await get.text();
        const head = await fetch(`${server.url}${path}`, { method: 'HEAD' });
        const headBody = await head.text();
        expect({ server: server.name, path, status: head.status }).toEqual({
          server: server.name,
          path,
          status: get.status,
        });
        expect(get.status).toBe(200);
        expect(head.headers.get('content-type')).toBe(get.headers.get('content-type'));
        expect(headBody).toBe('');
        if (path === '/openapi.json')
          expect(head.headers.get('content-length')).toBe(get.headers.get('content-length'));
      }
    }
  });

  test('a body that is not JSON gets 400 INVALID_PARAMETER with one message on both servers', async () => {
    const A = '/internal/admin/v1';
    const cases: [string, string, string, Record<string, string>, string][] = [
      [
        api.url,
        'POST',
        '/api/v1/item/he_item/waiting-queue',
        { 'user-id': 'he_user', 'content-type': 'text/plain' },
        '{"x":1}',
      ],
      [
        api.url,
        'POST',
        '/internal/v1/item/he_item/reservations',
        { 'content-type': 'text/plain' },
        '{"waitingQueueToken":"t","userId":"u","quantity":1}',
      ],
      [
        api.url,
        'POST',
        '/internal/v1/item/he_item/reservations',
        { 'content-type': 'application/x-www-form-urlencoded' },
        'quantity=1',
      ],
      [
        scheduler.url,
        'PUT',
        `${A}/waiting-queue/token-count-to-move`,
        { 'content-type': 'text/plain' },
        '{"tokenCountToMove":5}',
      ],
      [
        scheduler.url,
        'POST',
        `${A}/waiting-queue/token-count`,
        { 'content-type': 'application/x-www-form-urlencoded' },
        'searchAll=true',
      ],
    ];
    const answers = [];
    for (const [base, method, path, headers, rawBody] of cases) {
      const r = await call(`${base}${path}`, { method, headers, rawBody });
      answers.push({
        path,
        status: r.status,
        state: r.body.state,
        errorCode: r.body.errorCode,
        errorMessage: r.body.errorMessage,
      });
    }
    const expected = {
      status: 400,
      state: 'FAIL',
      errorCode: 'INVALID_PARAMETER',
      errorMessage: 'the body must be JSON (Content-Type: application/json)',
    };
    expect(answers).toEqual(cases.map(([, , path]) => ({ path, ...expected })));
  });
});
