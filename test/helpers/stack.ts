import type { Redis } from 'ioredis';
import { connectRedis, type RedisClient } from '@waiting-queue/core/redis';
import { type EmbeddedRedis } from '@waiting-queue/testkit/embedded-redis';
import { startServices as startProcesses, type ServiceName, type ServiceProcess } from '@waiting-queue/testkit/stack';
import { testServiceEnv } from './processes';
import { testRedis } from './redis';

/**
 * A test file's own stack, filled in by the `beforeAll` that {@link useStack} registers: read its fields inside
 * hooks and tests, never at the top level of the file (they are unset there).
 */
export interface TestStack {
  /** The file's own redis-server, on a free port. */
  server: EmbeddedRedis;
  /** Its URL (`redis://127.0.0.1:<port>`), handed to every service as REDIS_URL. */
  url: string;
  /** A plain ioredis client to it (e.g. for snapshots and raw commands). */
  client: Redis;
  /** A client connected as the product connects (`connectRedis`), for the product's stores. */
  redis: RedisClient;
  /** The services started, in the order given. */
  services: ServiceProcess[];
}

/** What {@link useStack} starts. */
export interface UseStackOptions {
  /** The connection name of {@link TestStack.redis}, e.g. 'admin-test'. */
  name: string;
  /** Product processes, each with the test defaults (LOG_LEVEL info, DEV_MODE 1) under its `env`; default none. */
  services?: { name: ServiceName; env?: Record<string, string> }[];
  /** Runs once Redis is up and before the services start, e.g. to seed items they read at start-up. */
  beforeServices?: (stack: TestStack) => Promise<unknown>;
  /** More redis-server arguments. */
  redisArgs?: string[];
  /** Readiness timeout of each service, ms; default 30 000. */
  readyTimeoutMs?: number;
  /** Timeout of the `beforeAll`, ms; default 90 000. */
  startTimeoutMs?: number;
  /** Timeout of the `afterAll`, ms; default 30 000. */
  stopTimeoutMs?: number;
}

/**
 * Registers the `beforeAll` / `afterAll` pair that gives a test file its own stack: a redis-server on a free port
 * (never the shared one on 6379), a plain client and a product client to it, and the given services with
 * REDIS_URL pointing at it, started at once. The `afterAll` stops the services by pid, then the clients, then the
 * redis-server, so that nothing outlives the file, also when the start failed halfway. Call it at the top of a
 * `describe` (or file) before that scope's own hooks: its `beforeAll` then runs first; Jest runs `afterAll` hooks in
 * the order they were declared, so its `afterAll` also runs before the scope's own ones (which must therefore not
 * need the stack: stop what needs it in `afterEach`, or start it through `beforeServices`/`services`).
 * @returns the stack, whose fields are set once the `beforeAll` has run.
 */
export function useStack(opts: UseStackOptions): TestStack {
  const stack = { services: [] as ServiceProcess[] } as TestStack;
  let stopRedis: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const r = await testRedis(opts.redisArgs);
    stopRedis = r.stop;
    Object.assign(stack, { server: r.server, url: r.url, client: r.client });
    stack.redis = await connectRedis({ url: r.url }, opts.name);
    await opts.beforeServices?.(stack);
    stack.services = await startProcesses(
      (opts.services ?? []).map((s) => ({
        name: s.name,
        env: testServiceEnv({ REDIS_URL: r.url, ...s.env }),
        readyTimeoutMs: opts.readyTimeoutMs ?? 30_000,
      })),
    );
  }, opts.startTimeoutMs ?? 90_000);
  afterAll(async () => {
    await Promise.all(stack.services.map((s) => s.stop()));
    stack.redis?.disconnect();
    await stopRedis?.();
  }, opts.stopTimeoutMs ?? 30_000);
  return stack;
}

/** {@link useStack} without services: a test file's own redis-server and its two clients. */
export function useRedis(name: string, redisArgs: string[] = []): TestStack {
  return useStack({ name, redisArgs });
}
