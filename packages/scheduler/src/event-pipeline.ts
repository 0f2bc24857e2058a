import { Kafka, logLevel, type Producer } from 'kafkajs';
import type { SchedulerConfig } from '@waiting-queue/core/config';
import type { ItemStore } from '@waiting-queue/core/item-store';
import type { Logger } from '@waiting-queue/core/logger';
import type { RedisClient } from '@waiting-queue/core/redis';
import { Ledger } from './ledger';
import { relayLagGauges } from './metrics';
import { OutboxRelay, readRelayLag } from './outbox-relay';

/** The running event pipeline: the outbox relay (with KAFKA_BROKERS) and the ledger (with DATABASE_URL too). */
export interface EventPipeline {
  stop(): Promise<void>;
}

/** What {@link startEventPipeline} needs. */
export interface EventPipelineOptions {
  /** Kafka brokers and topics, the relay interval and the ledger's database. */
  config: Pick<SchedulerConfig, 'kafka' | 'outboxRelayIntervalMs' | 'databaseUrl'>;
  redis: RedisClient;
  items: ItemStore;
  /** This scheduler process's id (relay lease holder). */
  instanceId: string;
  logger: Logger;
}

/**
 * Starts, in the background, the outbox relay to `KAFKA_EVENTS_TOPIC` when KAFKA_BROKERS is set, and the
 * PostgreSQL ledger consumer when DATABASE_URL is set too. Neither holds the scheduler's readiness back: while
 * Kafka or PostgreSQL is unreachable their start is retried every 5 s, and events wait in the Redis outboxes.
 */
export function startEventPipeline(o: EventPipelineOptions): EventPipeline {
  const { config, redis, items, instanceId, logger } = o;
  const { brokers, eventsTopic, ledgerGroupId } = config.kafka;
  let stopping = false;
  let producer: Producer | undefined;
  let relay: OutboxRelay | undefined;
  let ledger: Ledger | undefined;
  const retry = (what: string, fn: () => void) => (err: Error) => {
    logger.error({ err: err.message }, `${what} could not start; retrying in 5 s`);
    if (!stopping) setTimeout(fn, 5000).unref();
  };

  // The relay starts at once, before Kafka answers: each round marks every item as relayed (so appends stop
  // trimming its outbox) and connects the producer until that succeeds; while Kafka is down, events wait.
  const startRelay = (): void => {
    const p = new Kafka({
      clientId: 'waiting-queue-relay',
      brokers,
      logLevel: logLevel.ERROR,
      retry: { initialRetryTime: 300, retries: 5 },
    }).producer({
      allowAutoTopicCreation: true,
    });
    producer = p;
    relay = new OutboxRelay({
      redis,
      producer: p,
      items,
      logger,
      topic: eventsTopic,
      instanceId,
      connect: async () => {
        await p.connect();
        logger.info({ topic: eventsTopic }, 'outbox relay connected');
      },
    });
    relay.start(config.outboxRelayIntervalMs);
    relayLagGauges(async () => readRelayLag(redis, await items.listIds()));
    logger.info({ topic: eventsTopic }, 'outbox relay running');
  };
  const startLedger = (): void => {
    const l = new Ledger({
      databaseUrl: config.databaseUrl!,
      brokers,
      topic: eventsTopic,
      groupId: ledgerGroupId,
      logger,
    });
    l.start().then(
      () => {
        ledger = l;
        if (stopping) void l.stop();
      },
      (err: Error) => {
        void l.stop();
        retry('ledger consumer', startLedger)(err);
      },
    );
  };

  if (brokers.length > 0) {
    startRelay();
    if (config.databaseUrl) startLedger();
  }
  return {
    async stop() {
      stopping = true;
      await relay?.stop();
      await producer?.disconnect().catch(() => undefined);
      await ledger?.stop();
    },
  };
}
