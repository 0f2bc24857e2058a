import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { Consumer } from 'kafkajs';
import {
  connectRedis,
  createLogger,
  isReady,
  ItemStore,
  loadConfig,
  QueueStore,
  redisTarget,
  serveWithLifecycle,
} from '@waiting-queue/shared';
import { createAdminApp } from './admin-app';
import { AdmissionTicker } from './admission';
import { RedisRunCoordinator } from './coordinator';
import { cronIntervalMs, scheduleAdmission } from './cron-task';
import { startItemSync } from './item-sync';

/** Starts the scheduler (admission ticks, admin API, optional Kafka item sync) from the environment. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('scheduler', config.LOG_LEVEL);
  if (!config.ADMIN_TOKEN) {
    if (!config.DEV_MODE) {
      throw new Error('ADMIN_TOKEN is not set: refusing to serve an open admin API (set ADMIN_TOKEN, or DEV_MODE=1 for development)');
    }
    logger.warn('DEV_MODE: the admin API runs WITHOUT authentication; never do this in production');
  }
  const tickMs = cronIntervalMs(config.SCHEDULER_CRON);
  const redis = await connectRedis(redisTarget(config), 'wq-scheduler', 60_000);
  redis.on('close', () => logger.warn('redis connection lost; ticks fail until it is back'));
  redis.on('ready', () => logger.info('redis ready'));

  const items = new ItemStore(redis);
  const queue = new QueueStore(redis);
  const n = await items.initTokenCountToMove(config.TOKEN_COUNT_TO_MOVE);
  const ticker = new AdmissionTicker(items, queue, { defaultTokenCountToMove: config.TOKEN_COUNT_TO_MOVE, entryTtlMs: config.ENTRY_TTL_SECONDS * 1000, tickMs }, logger);
  const instanceId = `${process.pid}-${randomUUID()}`;
  const task = scheduleAdmission(config.SCHEDULER_CRON, ticker, new RedisRunCoordinator(redis, instanceId), logger);

  let consumer: Consumer | undefined;
  if (config.KAFKA_BROKERS) {
    consumer = await startItemSync({
      brokers: config.KAFKA_BROKERS.split(',').map((b) => b.trim()).filter(Boolean),
      topic: config.KAFKA_ITEM_TOPIC,
      groupId: config.KAFKA_GROUP_ID,
      items,
      logger,
    });
  }

  const app = createAdminApp({
    items,
    queue,
    logger,
    defaultTokenCountToMove: config.TOKEN_COUNT_TO_MOVE,
    adminToken: config.ADMIN_TOKEN,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
  });
  const port = await serveWithLifecycle({
    server: createServer(app),
    port: config.ADMIN_PORT,
    host: config.ADMIN_HOST,
    logger,
    timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    isReady: () => isReady(redis),
    onShutdown: async () => {
      await task.stop();
      await consumer?.disconnect().catch(() => undefined);
      await redis.quit().catch(() => redis.disconnect());
    },
  });
  logger.info({ port, cron: config.SCHEDULER_CRON, tickMs, tokenCountToMove: n, instanceId, kafka: Boolean(consumer) }, 'scheduler ready');
}

main().catch((err) => {
  // eslint-disable-next-line no-console
  console.error('scheduler failed to start:', err);
  process.exit(1);
});
