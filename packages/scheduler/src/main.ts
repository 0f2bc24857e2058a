import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { Consumer } from 'kafkajs';
import {
  connectRedis,
  idempotencyLimits,
  createLogger,
  isReady,
  meterRedisNodes,
  redisReadiness,
  setDurability,
  ItemStore,
  loadConfig,
  observedListener,
  QueueStore,
  redisTarget,
  RequestTelemetry,
  ReservationStore,
  serveWithLifecycle,
  startProcessMetrics,
} from '@waiting-queue/shared';
import { createAdminApp } from './admin-app';
import { createConsoleRouter } from './console';
import { AdmissionTicker } from './admission';
import { RedisRunCoordinator } from './coordinator';
import { cronIntervalMs, scheduleAdmission } from './cron-task';
import { startEventPipeline } from './event-pipeline';
import { startItemSync } from './item-sync';
import { meterTicker, queueGauges } from './metrics';
import { AuditLog } from './audit';
import { recordHistory, TickHistory } from './history';

/** Starts the scheduler (admission ticks, admin API, optional Kafka item sync) from the environment. */
async function main(): Promise<void> {
  // Outside DEV_MODE, loadConfig refuses to go on without ADMIN_TOKEN (an open admin API).
  const config = loadConfig(process.env, 'scheduler');
  const logger = createLogger('scheduler', config.LOG_LEVEL);
  if (!config.ADMIN_TOKEN) logger.warn('DEV_MODE: the admin API runs WITHOUT authentication; never do this in production');
  const tickMs = cronIntervalMs(config.SCHEDULER_CRON);
  const redis = await connectRedis(redisTarget(config), 'wq-scheduler', 60_000);
  redis.on('close', () => logger.warn('redis connection lost; ticks fail until it is back'));
  redis.on('ready', () => logger.info('redis ready'));

  const limits = idempotencyLimits(config);
  const items = new ItemStore(redis, limits);
  const queue = new QueueStore(redis, limits);
  const n = await items.initTokenCountToMove(config.TOKEN_COUNT_TO_MOVE);
  const reservations = new ReservationStore(redis, limits);
  const ticker = new AdmissionTicker(
    items,
    queue,
    {
      defaultTokenCountToMove: config.TOKEN_COUNT_TO_MOVE,
      admissionTtlMs: config.ENTRY_TTL_SECONDS * 1000,
      tickMs,
      abandonAfterMs: config.ABANDON_AFTER_SECONDS * 1000,
      reservationRetentionMs: config.RESERVATION_RETENTION_SECONDS * 1000,
    },
    logger,
    reservations,
    redis,
  );
  const instanceId = `${process.pid}-${randomUUID()}`;
  setDurability(config.DURABILITY_REPLICAS, config.DURABILITY_TIMEOUT_MS);
  startProcessMetrics();
  meterRedisNodes(redis);
  meterTicker(ticker);
  const history = new TickHistory(redis, tickMs);
  recordHistory(ticker, history, (err) => logger.warn({ err: err.message }, 'console history sample not written'));
  const audit = new AuditLog(redis);
  queueGauges(items, queue, config.TOKEN_COUNT_TO_MOVE);
  const task = scheduleAdmission(config.SCHEDULER_CRON, ticker, new RedisRunCoordinator(redis, instanceId, logger), logger, redis, tickMs);

  // The item sync is a side channel: admission and the admin API work without it. It starts in the background and
  // its start is retried while Kafka is unreachable, instead of holding readiness back (kafkajs gives up connecting
  // after about 2 min, and the scheduler used to exit then).
  let consumer: Consumer | undefined;
  let stopping = false;
  const startSync = (): void => {
    startItemSync({
      brokers: (config.KAFKA_BROKERS ?? '').split(',').map((b) => b.trim()).filter(Boolean),
      topic: config.KAFKA_ITEM_TOPIC,
      groupId: config.KAFKA_GROUP_ID,
      items,
      logger,
    }).then(
      (c) => {
        consumer = c;
        if (stopping) void c.disconnect().catch(() => undefined);
      },
      (err: Error) => {
        logger.error({ err: err.message }, 'item sync consumer could not start; retrying in 5 s');
        if (!stopping) setTimeout(startSync, 5000).unref();
      },
    );
  };
  if (config.KAFKA_BROKERS) startSync();
  const pipeline = startEventPipeline(config, redis, items, instanceId, logger);

  const app = createAdminApp({
    items,
    queue,
    logger,
    defaultTokenCountToMove: config.TOKEN_COUNT_TO_MOVE,
    adminToken: config.ADMIN_TOKEN,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    restock: true,
    tickMs,
    audit,
    console: createConsoleRouter({ items, queue, redis, adminToken: config.ADMIN_TOKEN, defaultTokenCountToMove: config.TOKEN_COUNT_TO_MOVE, tickMs, relay: Boolean(config.KAFKA_BROKERS), history, audit }),
  });
  const port = await serveWithLifecycle({
    // Request ids, request logs, HTTP metrics, /metrics (bearer METRICS_TOKEN when set) and /openapi.json before the admin app.
    server: createServer(observedListener({ telemetry: new RequestTelemetry(logger, config.LOG_REQUESTS), app, metricsToken: config.METRICS_TOKEN })),
    port: config.ADMIN_PORT,
    host: config.ADMIN_HOST,
    logger,
    timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    isReady: () => isReady(redis),
    readyDetails: () => redisReadiness(redis),
    onShutdown: async () => {
      stopping = true;
      await task.stop();
      await pipeline.stop();
      await consumer?.disconnect().catch(() => undefined);
      await redis.quit().catch(() => redis.disconnect());
    },
  });
  logger.info({ port, cron: config.SCHEDULER_CRON, tickMs, tokenCountToMove: n, instanceId, kafka: Boolean(config.KAFKA_BROKERS) }, 'scheduler ready');
}

main().catch((err) => {
  // eslint-disable-next-line no-console
  console.error('scheduler failed to start:', err);
  process.exit(1);
});
