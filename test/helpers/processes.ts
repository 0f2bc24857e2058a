import { startService as startProcess, type ServiceName, type ServiceProcess } from '@waiting-queue/testkit/stack';

export type { ServiceProcess } from '@waiting-queue/testkit/stack';

/**
 * Starts `packages/<name>/dist/main.js` (run `npm run build` first: `npm test` does) on a free port with `env`
 * over the test defaults (LOG_LEVEL info, DEV_MODE 1, API_WORKERS 1: a scheduler starts without ADMIN_TOKEN; tests of the auth
 * set ADMIN_TOKEN, or DEV_MODE '0'), its output captured, and waits until `/health/ready` answers 200.
 * @throws when it exits or is not ready within `timeoutMs` (default 30 000 ms).
 */
export function startService(
  name: ServiceName,
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<ServiceProcess> {
  return startProcess({ name, env: testServiceEnv(env), readyTimeoutMs: timeoutMs });
}

/**
 * A test's service environment: the test defaults (LOG_LEVEL info, DEV_MODE 1, API_WORKERS 1: one api process,
 * cheap; the cluster has its own test) under `env`.
 */
export function testServiceEnv(env: Record<string, string> = {}): Record<string, string> {
  return { LOG_LEVEL: 'info', DEV_MODE: '1', API_WORKERS: '1', ...env };
}

/** JSON envelope of a response, with its status. */
export async function call(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown; rawBody?: string } = {},
): Promise<{
  status: number;
  body: { state: string; errorCode: string | null; errorMessage: string | null; data: any };
  headers: Headers;
}> {
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  let body: string | undefined = init.rawBody;
  if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(url, { method: init.method ?? 'GET', headers, body });
  const text = await res.text();
  let parsed: any;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = { raw: text };
  }
  return { status: res.status, body: parsed, headers: res.headers };
}
