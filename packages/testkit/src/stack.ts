import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { freePort, startEmbeddedRedis, type EmbeddedRedis } from './embedded-redis';

/** The two product processes, by the workspace that builds them. */
export type ServiceName = 'api' | 'scheduler';

/**
 * What becomes of a child's stdout or stderr: kept in memory for {@link ServiceProcess.output} ('capture'),
 * written to this process's own ('inherit'), dropped ('ignore'), or left on `child.stdout` for the caller to read
 * ('pipe', stdout only).
 */
export type ServiceOutput = 'capture' | 'inherit' | 'ignore' | 'pipe';

/** How to start one product process. */
export interface ServiceOptions {
  name: ServiceName;
  /** Environment on top of this process's own (`process.env`); `undefined` values remove a variable. */
  env?: Record<string, string | undefined>;
  /** Port to listen on (API_PORT of the api, ADMIN_PORT of the scheduler); default a free one. */
  port?: number;
  /**
   * The api's processes (API_WORKERS: node:cluster workers on one port); default the environment's, else the
   * product's default, the number of cores. Ignored for the scheduler. Tests that do not test the cluster pass 1.
   * Ready means one worker answers `/health/ready` (each worker answers for itself); the others may still warm up.
   */
  workers?: number;
  /** Node flags before the script, e.g. `['--cpu-prof']`. */
  execArgv?: string[];
  /** Default 'capture'. */
  stdout?: ServiceOutput;
  /** Default 'capture'. */
  stderr?: Exclude<ServiceOutput, 'pipe'>;
  /** How long to wait for `/health/ready`, ms; default 60 000. */
  readyTimeoutMs?: number;
}

/** A product process (api or scheduler) started from its built `dist/main.js`, ready when returned. */
export interface ServiceProcess {
  name: ServiceName;
  port: number;
  /** `http://127.0.0.1:<port>` */
  url: string;
  pid: number;
  child: ChildProcess;
  /** What it printed on the streams set to 'capture' (its JSON log lines), for assertions and failure messages. */
  output(): string;
  /** Resolves when it has exited, for whatever reason, with its exit code or signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM by pid, then SIGKILL after `timeoutMs` (default 10 000 ms); resolves on exit. Idempotent. */
  stop(timeoutMs?: number): Promise<void>;
  /** SIGKILL by pid (a crash); resolves on exit. */
  kill(): Promise<void>;
}

/** The repository root, where `packages/<name>/dist/main.js` lives. */
const ROOT = join(__dirname, '..', '..', '..');

/** Every child started here that still runs: the last-resort exit handler kills them. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A process that exits without stopping what it started (process.exit from elsewhere) still takes its children
  // with it; 'exit' handlers run synchronously, so this can only signal.
  process.on('exit', () => {
    for (const c of live) c.kill('SIGKILL');
  });
}

const running = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `url` until it answers 2xx.
 * @param alive checked before every attempt; when it returns an error message, waiting stops with that error.
 * @throws when `alive` reports a failure or `timeoutMs` (ms) passes first.
 */
export async function waitHttpReady(
  url: string,
  timeoutMs = 60_000,
  alive: () => string | undefined = () => undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = alive();
    if (dead) throw new Error(dead);
    try {
      const res = await fetch(url);
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`not ready at ${url} after ${timeoutMs} ms`);
    await sleep(100);
  }
}

/**
 * Starts `packages/<name>/dist/main.js` (build first: `npm run build`) on `127.0.0.1` and waits until
 * `/health/ready` answers 200. The child is killed (SIGKILL) if this process exits while it still runs.
 * @throws when it exits before it is ready, or is not ready within `readyTimeoutMs`; it is killed first.
 */
export async function startService(opts: ServiceOptions): Promise<ServiceProcess> {
  const { name } = opts;
  const port = opts.port ?? (await freePort());
  const portVar = name === 'api' ? 'API_PORT' : 'ADMIN_PORT';
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  env[portVar] = String(port);
  if (name === 'api' && opts.workers !== undefined) env.API_WORKERS = String(opts.workers);
  const stdout = opts.stdout ?? 'capture';
  const stderr = opts.stderr ?? 'capture';
  const mode = (o: ServiceOutput) => (o === 'capture' || o === 'pipe' ? 'pipe' : o);
  const child = spawn(process.execPath, [...(opts.execArgv ?? []), join(ROOT, 'packages', name, 'dist', 'main.js')], {
    env,
    stdio: ['ignore', mode(stdout), mode(stderr)],
  });
  track(child);
  let out = '';
  if (stdout === 'capture') child.stdout!.on('data', (d) => (out += d));
  if (stderr === 'capture') child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    if (!running(child)) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  let stopping: Promise<void> | undefined;
  const url = `http://127.0.0.1:${port}`;
  const proc: ServiceProcess = {
    name,
    port,
    url,
    pid: child.pid!,
    child,
    output: () => out,
    exited,
    stop: (ms = 10_000) =>
      (stopping ??= (async () => {
        if (!running(child)) return;
        const t = setTimeout(() => child.kill('SIGKILL'), ms);
        child.kill('SIGTERM');
        await exited;
        clearTimeout(t);
      })()),
    kill: async () => {
      if (running(child)) child.kill('SIGKILL');
      await exited;
    },
  };
  const timeoutMs = opts.readyTimeoutMs ?? 60_000;
  try {
    await waitHttpReady(`${url}/health/ready`, timeoutMs, () =>
      running(child)
        ? undefined
        : `the ${name} exited (${child.signalCode ?? child.exitCode}) before it was ready:\n${out}`,
    );
  } catch (err) {
    await proc.kill();
    const msg = (err as Error).message;
    throw new Error(msg.startsWith('the ') ? msg : `the ${name} is ${msg}:\n${out}`);
  }
  return proc;
}

/**
 * Starts several product processes at once (each as {@link startService}); when one fails to start, stops the
 * others that did (by pid) and rethrows, so that nothing outlives a failed start.
 * @returns them in the order of `specs`.
 */
export async function startServices(specs: ServiceOptions[]): Promise<ServiceProcess[]> {
  const settled = await Promise.allSettled(specs.map((s) => startService(s)));
  const started = settled
    .filter((s): s is PromiseFulfilledResult<ServiceProcess> => s.status === 'fulfilled')
    .map((s) => s.value);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(started.map((p) => p.stop()));
    throw failed.reason;
  }
  return started;
}

/** What {@link startStack} starts. */
export interface StackOptions {
  /** A running Redis to use; without it a throw-away redis-server is started (and stopped with the stack). */
  redisUrl?: string;
  /**
   * Whether to start a throw-away redis-server when `redisUrl` is not given; default true. With false the services
   * find Redis through their own environment (REDIS_URL or REDIS_CLUSTER_NODES).
   */
  startRedis?: boolean;
  /** More arguments of the throw-away redis-server. */
  redisArgs?: string[];
  /** Start the throw-away redis-server in its own process group (see {@link startEmbeddedRedis}). */
  redisOwnProcessGroup?: boolean;
  /** Environment of every service (REDIS_URL is set to the stack's Redis unless given here). */
  env?: Record<string, string | undefined>;
  /**
   * The processes, each with its own options (its `env` goes on top of the stack's); default one scheduler and
   * one api.
   */
  services?: (Omit<ServiceOptions, 'env'> & { env?: Record<string, string | undefined> })[];
}

/** A running stack: its Redis, its services, and one idempotent stop. */
export interface Stack {
  /** The Redis the services were given; undefined when they find it through their own environment. */
  redisUrl?: string;
  /** The throw-away redis-server, when the stack started one. */
  redis?: EmbeddedRedis;
  /** In the order of {@link StackOptions.services}. */
  services: ServiceProcess[];
  /** The first api, if any. */
  api?: ServiceProcess;
  /** The first scheduler, if any (it serves the admin API). */
  scheduler?: ServiceProcess;
  /**
   * Stops the services by pid (SIGTERM, SIGKILL after `timeoutMs`, default 10 000 ms), then the throw-away
   * redis-server last, so that the services shut down with Redis still there. Idempotent: a second call waits
   * for the first.
   */
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * Starts a stack: a throw-away redis-server unless `redisUrl` is given (or `startRedis` is false), then the services (default a scheduler
 * and an api) at once, and waits until every one answers `/health/ready`. When anything fails halfway, what did
 * start is stopped before the error is rethrown.
 * @throws when redis-server cannot start, or a service exits or is not ready in time.
 */
export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const redis =
    opts.redisUrl || opts.startRedis === false
      ? undefined
      : await startEmbeddedRedis(opts.redisArgs ?? [], undefined, undefined, {
          ownProcessGroup: opts.redisOwnProcessGroup === true,
        });
  if (redis) track(redis.process);
  const redisUrl = opts.redisUrl ?? redis?.url;
  const specs = (opts.services ?? [{ name: 'scheduler' }, { name: 'api' }]).map((s) => ({
    ...s,
    env: { ...(redisUrl ? { REDIS_URL: redisUrl } : {}), ...opts.env, ...s.env },
  }));
  let services: ServiceProcess[];
  try {
    services = await startServices(specs);
  } catch (err) {
    await redis?.stop();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    redisUrl,
    redis,
    services,
    api: services.find((s) => s.name === 'api'),
    scheduler: services.find((s) => s.name === 'scheduler'),
    stop: (timeoutMs = 10_000) =>
      (stopping ??= (async () => {
        await Promise.all(services.map((s) => s.stop(timeoutMs)));
        await redis?.stop();
      })()),
  };
}

/**
 * Runs `fn` with a stack started as {@link startStack} does, and stops the stack however `fn` ends.
 * @returns what `fn` returns.
 * @throws what `startStack` or `fn` throws (after stopping the stack).
 */
export async function withStack<T>(opts: StackOptions, fn: (stack: Stack) => Promise<T>): Promise<T> {
  const stack = await startStack(opts);
  try {
    return await fn(stack);
  } finally {
    await stack.stop();
  }
}
