import type { RequestListener, Server } from 'node:http';
import { loadConfig, type ConfigOf, type ConfigRole } from '@waiting-queue/core/config';
import { serveWithLifecycle } from './lifecycle';
import { createLogger, type Logger } from '@waiting-queue/core/logger';
import { startProcessMetrics } from '@waiting-queue/core/metrics';
import { observedListener, type ObservedListenerOptions } from './observed-server';
import { connectRedis, isReady, meterRedisNodes, redisReadiness, type RedisClient } from '@waiting-queue/core/redis';
import { RequestTelemetry } from './request-log';
import { setDurability } from '@waiting-queue/core/scripts';
import { isClusterWorker, joinCluster, openPrivateDoor, runPrimary, workerStarted } from './workers';

/** What {@link bootService} hands a service to build itself from. */
export interface BootContext<C> {
  config: C;
  logger: Logger;
  /** Connected (ready) Redis client, closed by the shutdown. */
  redis: RedisClient;
  /** The server's request telemetry (request ids, logs, HTTP metrics), for a fast path that answers on its own. */
  telemetry: RequestTelemetry;
}

/** What a service adds to the common boot. */
export interface ServiceParts {
  /** The express app (or any listener) that answers what the fast path and `/metrics`, `/openapi.json` do not. */
  app: ObservedListenerOptions['app'];
  /** The api's node:http fast path (see observedListener). */
  fastPath?: ObservedListenerOptions['fastPath'];
  /** Wraps the observed listener, e.g. with the api's load shedder. */
  gate?: (next: RequestListener) => RequestListener;
  /** Readiness besides Redis's (e.g. warmed up). */
  isReady?: () => boolean;
  /** Stops the service's own work (ticks, Kafka clients) after in-flight requests finished, before Redis closes. */
  onShutdown?: () => Promise<void>;
  /**
   * Runs once the server listens: warm-up, the service's ready log line. A throw fails the start. `selfUrl`, set
   * in a cluster worker only, reaches this process's own server while `started` runs (the shared port may reach
   * another worker); without it, the server's own address does.
   */
  started?: (server: Server, port: number, selfUrl?: string) => Promise<void>;
}

/** What {@link bootService} needs. */
export interface BootOptions<R extends ConfigRole> {
  /** The service: picks its configuration, its logger's `service` field and its Redis connection name (`wq-<role>`). */
  role: R;
  /** What the service fails at while Redis is away, for the warning logged when the connection is lost. */
  whileRedisIsLost: string;
  /** Builds the service from the common pieces. */
  build: (ctx: BootContext<ConfigOf[R]>) => Promise<ServiceParts>;
  /** Environment to read; default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /**
   * How many processes serve the port (node:cluster workers, see runPrimary in ./workers); default 1: this process
   * alone, no cluster primary.
   */
  workers?: (config: ConfigOf[R]) => number;
}

/** How long a service waits for Redis at start-up, milliseconds. */
export const REDIS_START_TIMEOUT_MS = 60_000;

/**
 * The start of a service process, common to the api and the scheduler: loads the role's configuration (failing
 * on any invalid or missing variable), creates the logger, connects Redis, sets the durability option, turns on
 * the process and Redis-node metrics, lets the service build its parts, then serves them behind request
 * telemetry, `/metrics`, `/openapi.json`, `/health/*` and graceful shutdown (serveWithLifecycle), and runs the
 * service's `started` step.
 *
 * With `workers` > 1 this process becomes the cluster primary once the configuration is valid (an invalid one
 * stops it before any worker is forked), and each worker it forks runs the above: its own Redis connection,
 * warm-up (through a private door to its own server) and readiness; any worker's `/metrics` answers for all.
 *
 * A start-up error is printed as `<role> failed to start: <error>` and exits the process with code 1.
 */
export async function bootService<R extends ConfigRole>(o: BootOptions<R>): Promise<void> {
  try {
    const worker = isClusterWorker();
    if (worker) joinCluster();
    const config = loadConfig(o.env ?? process.env, o.role);
    const logger = createLogger(o.role, config.logLevel);
    const workers = o.workers?.(config) ?? 1;
    if (!worker && workers > 1) {
      runPrimary({ workers, logger, shutdownTimeoutMs: config.shutdownTimeoutMs + 1000 });
      return;
    }
    const redis = await connectRedis(config.redis, `wq-${o.role}`, REDIS_START_TIMEOUT_MS);
    redis.on('close', () => logger.warn(`redis connection lost; ${o.whileRedisIsLost} until it is back`));
    redis.on('ready', () => logger.info('redis ready'));
    setDurability(config.durability.replicas, config.durability.timeoutMs);
    startProcessMetrics();
    meterRedisNodes(redis);
    const telemetry = new RequestTelemetry({ logger, logRequests: config.logRequests });

    const parts = await o.build({ config, logger, redis, telemetry });
    const observed = observedListener({
      telemetry,
      app: parts.app,
      fastPath: parts.fastPath,
      metricsToken: config.metricsToken,
    });
    const { server, port } = await serveWithLifecycle({
      listener: parts.gate ? parts.gate(observed) : observed,
      port: config.port,
      host: config.host,
      logger,
      timeoutMs: config.shutdownTimeoutMs,
      isReady: () => (parts.isReady?.() ?? true) && isReady(redis),
      readyDetails: () => redisReadiness(redis),
      onShutdown: async () => {
        await parts.onShutdown?.();
        await redis.quit().catch(() => redis.disconnect());
      },
    });
    if (worker) {
      const door = await openPrivateDoor(server);
      try {
        await parts.started?.(server, port, door.url);
      } finally {
        door.close();
      }
      workerStarted();
    } else {
      await parts.started?.(server, port);
    }
  } catch (err) {
    // The logger may not exist yet (an invalid configuration): stderr, as the process supervisor shows it.
    // eslint-disable-next-line no-console
    console.error(`${o.role} failed to start:`, err);
    process.exit(1);
  }
}
