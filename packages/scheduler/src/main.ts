import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { Consumer } from 'kafkajs';
import {
  connectRedis,
  createLogger,
  isReady,
  meterRedisNodes,
  redisReadiness,
  setDurability,
  ItemStore,
  loadConfig,
  observedListener,
  QueueStore,
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
  const logger = createLogger('scheduler', config.logLevel);
  if (!config.adminToken) logger.warn('DEV_MODE: the admin API runs WITHOUT authentication; never do this in production');
  const tickMs = cronIntervalMs(config.cron);
  const redis = await connectRedis(config.redis, 'wq-scheduler', 60_000);
  redis.on('close', () => logger.warn('redis connection lost; ticks fail until it is back'));
  redis.on('ready', () => logger.info('redis ready'));

  const limits = config.idempotency;
  const items = new ItemStore(redis, limits);
  const queue = new QueueStore(redis, limits);
  const n = await items.initTokenCountToMove(config.tokenCountToMove);
  const reservations = new ReservationStore(redis, limits);
  const ticker = new AdmissionTicker(
    items,
    queue,
    {
      defaultTokenCountToMove: config.tokenCountToMove,
      entryTtlMs: config.entryTtlMs,
      tickMs,
      abandonAfterMs: config.abandonAfterMs,
      reservationRetentionMs: config.reservationRetentionMs,
    },
    logger,
    reservations,
    redis,
  );
  const instanceId = `${process.pid}-${randomUUID()}`;
  setDurability(config.durability.replicas, config.durability.timeoutMs);
  startProcessMetrics();
  meterRedisNodes(redis);
  meterTicker(ticker);
  const history = new TickHistory(redis, tickMs);
  recordHistory(ticker, history, (err) => logger.warn({ err: err.message }, 'console history sample not written'));
  const audit = new AuditLog(redis);
  queueGauges(items, queue, config.tokenCountToMove);
  const task = scheduleAdmission(config.cron, ticker, new RedisRunCoordinator(redis, instanceId, logger), logger, redis, tickMs);

  // The item sync is a side channel: admission and the admin API work without it. It starts in the background and
  // its start is retried while Kafka is unreachable, instead of holding readiness back (kafkajs gives up connecting
  // after about 2 min, and the scheduler used to exit then).
  let consumer: Consumer | undefined;
  let stopping = false;
  const startSync = (): void => {
    startItemSync({
      brokers: config.kafka.brokers,
      topic: config.kafka.itemTopic,
      groupId: config.kafka.itemGroupId,
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
  if (config.kafka.brokers.length > 0) startSync();
  const pipeline = startEventPipeline({ config, redis, items, instanceId, logger });

  const app = createAdminApp({
    items,
    queue,
    logger,
    defaultTokenCountToMove: config.tokenCountToMove,
    adminToken: config.adminToken,
    bodyLimitBytes: config.bodyLimitBytes,
    restock: true,
    tickMs,
    audit,
    console: createConsoleRouter({ items, queue, redis, adminToken: config.adminToken, defaultTokenCountToMove: config.tokenCountToMove, tickMs, relay: config.kafka.brokers.length > 0, history, audit }),
  });
  const port = await serveWithLifecycle({
    // Request ids, request logs, HTTP metrics, /metrics (bearer METRICS_TOKEN when set) and /openapi.json before the admin app.
    server: createServer(observedListener({ telemetry: new RequestTelemetry(logger, config.logRequests), app, metricsToken: config.metricsToken })),
    port: config.port,
    host: config.host,
    logger,
    timeoutMs: config.shutdownTimeoutMs,
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
  logger.info({ port, cron: config.cron, tickMs, tokenCountToMove: n, instanceId, kafka: config.kafka.brokers.length > 0 }, 'scheduler ready');
}

main().catch((err) => {
  // eslint-disable-next-line no-console
  console.error('scheduler failed to start:', err);
  process.exit(1);
});
