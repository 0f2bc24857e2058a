import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '@waiting-queue/shared';

const ROOT = join(__dirname, '..', '..');

/** A product process (api or scheduler) started from the built `dist/` by a test. */
export interface ServiceProcess {
  name: 'api' | 'scheduler';
  port: number;
  url: string;
  child: ChildProcess;
  /** Everything it printed (JSON log lines), for assertions and failure messages. */
  output: () => string;
  /** SIGTERM, then SIGKILL after `timeoutMs` (default 10 000 ms); resolves on exit. */
  stop: (timeoutMs?: number) => Promise<void>;
  /** SIGKILL: a crash. */
  kill: () => Promise<void>;
}

/**
 * Starts `packages/<name>/dist/main.js` (run `npm run build` first: `npm test` does) on a free port with `env`
 * and waits until `/health/ready` answers 200.
 * @throws when it exits or is not ready within `timeoutMs` (default 30 000 ms).
 */
export async function startService(name: 'api' | 'scheduler', env: Record<string, string>, timeoutMs = 30_000): Promise<ServiceProcess> {
  const port = await freePort();
  const portVar = name === 'api' ? 'API_PORT' : 'ADMIN_PORT';
  const child = spawn(process.execPath, [join(ROOT, 'packages', name, 'dist', 'main.js')], {
    // DEV_MODE lets a scheduler start without ADMIN_TOKEN; tests of the auth set ADMIN_TOKEN (or DEV_MODE '0').
    env: { ...process.env, LOG_LEVEL: 'info', DEV_MODE: '1', ...env, [portVar]: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const url = `http://127.0.0.1:${port}`;
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const waitExit = () => new Promise<void>((resolve) => (exited() ? resolve() : child.once('exit', () => resolve())));
  const proc: ServiceProcess = {
    name,
    port,
    url,
    child,
    output: () => out,
    stop: async (ms = 10_000) => {
      if (exited()) return;
      const t = setTimeout(() => child.kill('SIGKILL'), ms);
      child.kill('SIGTERM');
      await waitExit();
      clearTimeout(t);
    },
    kill: async () => {
      if (exited()) return;
      child.kill('SIGKILL');
      await waitExit();
    },
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited()) throw new Error(`${name} exited before ready:\n${out}`);
    try {
      const res = await fetch(`${url}/health/ready`);
      if (res.ok) return proc;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await proc.kill();
      throw new Error(`${name} not ready after ${timeoutMs} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** JSON envelope of a response, with its status. */
export async function call(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown; rawBody?: string } = {},
): Promise<{ status: number; body: { state: string; errorCode: string | null; errorMessage: string | null; data: any }; headers: Headers }> {
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
