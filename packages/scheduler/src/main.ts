import { randomUUID } from 'node:crypto';
import type { Consumer } from 'kafkajs';
import { ItemStore } from '@waiting-queue/core/item-store';
import { QueueStore } from '@waiting-queue/core/queue-store';
import { ReservationStore } from '@waiting-queue/core/reservation-store';
import { SnapshotStore } from '@waiting-queue/core/snapshot-store';
import { bootService } from '@waiting-queue/http/boot';
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

// The scheduler: admission ticks, the admin API and console, the optional Kafka item sync and event pipeline.
void bootService({
  role: 'scheduler',
  whileRedisIsLost: 'ticks fail',
  build: async ({ config, logger, redis }) => {
    // Outside DEV_MODE, loadConfig refuses to go on without ADMIN_TOKEN (an open admin API).
    if (!config.adminToken)
      logger.warn('DEV_MODE: the admin API runs WITHOUT authentication; never do this in production');
    const tickMs = cronIntervalMs(config.cron);
    const limits = config.idempotency;
    const items = new ItemStore(redis, limits);
    const queue = new QueueStore(redis, limits);
    const n = await items.initTokenCountToMove(config.tokenCountToMove);
    const ticker = new AdmissionTicker({
      items,
      queue,
      settings: {
        defaultTokenCountToMove: config.tokenCountToMove,
        admissionTtlMs: config.admissionTtlMs,
        tickMs,
        abandonAfterMs: config.abandonAfterMs,
        reservationRetentionMs: config.reservationRetentionMs,
      },
      logger,
      reservations: new ReservationStore(redis, limits),
      redis,
      snapshots: new SnapshotStore(redis),
    });
    const instanceId = `${process.pid}-${randomUUID()}`;
    const history = new TickHistory({ redis, tickMs });
    const instrumented = recordHistory({
      ticker: meterTicker(ticker),
      history,
      onError: (err) => logger.warn({ err: err.message }, 'console history sample not written'),
    });
    const audit = new AuditLog({ redis });
    queueGauges({ items, queue, defaultTokenCountToMove: config.tokenCountToMove });
    const task = scheduleAdmission({
      expression: config.cron,
      ticker: instrumented,
      coordinator: new RedisRunCoordinator({ redis, instanceId, logger }),
      logger,
      redis,
      tickMs,
    });

    // The item sync is a side channel: admission and the admin API work without it. It starts in the background
    // and its start is retried while Kafka is unreachable, instead of holding readiness back (kafkajs gives up
    // connecting after about 2 min).
    const kafka = config.kafka.brokers.length > 0;
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
    if (kafka) startSync();
    const pipeline = startEventPipeline({ config, redis, items, instanceId, logger });

    return {
      app: createAdminApp({
        items,
        queue,
        logger,
        defaultTokenCountToMove: config.tokenCountToMove,
        adminToken: config.adminToken,
        bodyLimitBytes: config.bodyLimitBytes,
        restock: true,
        tickMs,
        audit,
        console: createConsoleRouter({
          items,
          queue,
          redis,
          adminToken: config.adminToken,
          defaultTokenCountToMove: config.tokenCountToMove,
          tickMs,
          relay: kafka,
          history,
          audit,
        }),
      }),
      onShutdown: async () => {
        stopping = true;
        await task.stop();
        await pipeline.stop();
        await consumer?.disconnect().catch(() => undefined);
      },
      started: (_server, port) => {
        logger.info({ port, cron: config.cron, tickMs, tokenCountToMove: n, instanceId, kafka }, 'scheduler ready');
        return Promise.resolve();
      },
    };
  },
});
