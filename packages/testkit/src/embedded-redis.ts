import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/** A redis-server started by this process (for `npm start` without REDIS_URL, and for the tests). */
export interface EmbeddedRedis {
  port: number;
  url: string;
  pid: number;
  dir: string;
  process: ChildProcess;
  /** Stops it (SIGTERM by pid, SIGKILL after `timeoutMs` = 5000 ms) and removes its folder. */
  stop(timeoutMs?: number): Promise<void>;
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts Debian's `redis-server` (from PATH, or `REDIS_SERVER_BIN`) on a free loopback port with persistence
 * off, in a throw-away folder, and waits until it answers PING.
 * @param extraArgs more redis-server arguments, e.g. `['--appendonly', 'yes']`.
 * @param port a fixed port (e.g. to restart on the same port), default a free one.
 * @param opts.ownProcessGroup start it in its own process group, so that a terminal's Ctrl-C (sent to the whole
 *   foreground group) does not stop it before the servers that use it have shut down gracefully; the caller must
 *   then stop it (`npm start` does, last). Off by default, so that a test run stopped with Ctrl-C takes its
 *   redis-servers with it.
 * @throws when redis-server is missing or does not answer within 10 s.
 */
export async function startEmbeddedRedis(
  extraArgs: string[] = [],
  port?: number,
  dir?: string,
  opts: { ownProcessGroup?: boolean } = {},
): Promise<EmbeddedRedis> {
  const p = port ?? (await freePort());
  const folder = dir ?? mkdtempSync(join(tmpdir(), 'wq-redis-'));
  const bin = process.env.REDIS_SERVER_BIN ?? 'redis-server';
  const args = [
    '--port',
    String(p),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    folder,
    '--daemonize',
    'no',
    ...extraArgs,
  ];
  const child = spawn(bin, args, { stdio: 'ignore', detached: opts.ownProcessGroup === true });
  let failed: Error | undefined;
  child.on('error', (e) => (failed = e));
  const url = `redis://127.0.0.1:${p}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (failed) throw new Error(`cannot start ${bin}: ${failed.message}`);
    if (child.exitCode !== null) throw new Error(`${bin} exited with ${child.exitCode}`);
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      break;
    } catch {
      probe.disconnect();
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`${bin} on port ${p} did not answer PING within 10 s`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    port: p,
    url,
    pid: child.pid!,
    dir: folder,
    process: child,
    stop: (timeoutMs = 5000) =>
      new Promise<void>((resolve) => {
        const cleanup = () => {
          if (!dir) rmSync(folder, { recursive: true, force: true });
          resolve();
        };
        if (child.exitCode !== null || child.signalCode !== null) return cleanup();
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        child.once('exit', () => {
          clearTimeout(timer);
          cleanup();
        });
        child.kill('SIGTERM');
      }),
  };
}
