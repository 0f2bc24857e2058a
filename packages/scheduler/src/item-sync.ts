import { Kafka, logLevel, type Consumer, type KafkaMessage } from 'kafkajs';
import { z } from 'zod';
import { ID_PATTERN, type ItemStore, type Logger } from '@waiting-queue/shared';

/**
 * Value of an `item-changed-event` message (the original service's contract). itemId may be a number (the
 * original's Long ids) or a string of `[A-Za-z0-9_]`.
 */
export const itemChangedEventSchema = z.object({
  itemId: z.union([z.number().int().nonnegative(), z.string().regex(ID_PATTERN)]).transform(String),
  itemName: z.string().min(1).max(200),
  remainCount: z.number().int().min(0),
  waitingQueueEnabled: z.boolean(),
  waitingQueueTargetItem: z.boolean(),
});

/** What handling one message did. */
export type ItemChangedOutcome = 'upserted' | 'ignored-not-target' | 'rejected-invalid';

/**
 * Applies one `item-changed-event` message: upserts the item unless `waitingQueueTargetItem` is false.
 * A malformed message is logged and skipped (it would block its partition forever); a Redis error is thrown so
 * that kafkajs retries the message and no update is lost (at-least-once; the upsert is idempotent).
 */
export async function handleItemChanged(message: KafkaMessage, items: ItemStore, logger: Logger): Promise<ItemChangedOutcome> {
  let value: unknown;
  try {
    value = JSON.parse(message.value?.toString('utf8') ?? '');
  } catch {
    logger.warn({ offset: message.offset }, 'item-changed-event: value is not JSON; skipped');
    return 'rejected-invalid';
  }
  const parsed = itemChangedEventSchema.safeParse(value);
  if (!parsed.success) {
    logger.warn({ offset: message.offset, issues: parsed.error.issues }, 'item-changed-event: invalid; skipped');
    return 'rejected-invalid';
  }
  const e = parsed.data;
  if (!e.waitingQueueTargetItem) return 'ignored-not-target';
  await items.upsert(e.itemId, { itemName: e.itemName, remainCount: e.remainCount, waitingQueueEnabled: e.waitingQueueEnabled });
  logger.info({ itemId: e.itemId, offset: message.offset }, 'item-changed-event applied');
  return 'upserted';
}

/** Settings of the item-sync consumer. */
export interface ItemSyncOptions {
  /** Bootstrap servers, e.g. `['127.0.0.1:9092']`. */
  brokers: string[];
  topic: string;
  groupId: string;
  items: ItemStore;
  logger: Logger;
}

/**
 * Starts the kafkajs consumer of `item-changed-event` (a consumer group, so several schedulers share the
 * partitions; itemId is the key, so each item's updates stay ordered). kafkajs reconnects by itself when the
 * broker goes away, and resumes from the committed offsets.
 * @returns the consumer (call `disconnect()` on shutdown), once it has joined its group.
 * @throws when Kafka cannot be reached (after kafkajs' retries, about 2 min) or the subscription fails.
 */
export async function startItemSync(o: ItemSyncOptions): Promise<Consumer> {
  const kafka = new Kafka({
    clientId: 'waiting-queue-scheduler',
    brokers: o.brokers,
    logLevel: logLevel.ERROR,
    retry: { initialRetryTime: 300, retries: 10 },
  });
  const consumer = kafka.consumer({ groupId: o.groupId, retry: { retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 5000 } });
  consumer.on(consumer.events.CRASH, (e) => o.logger.error({ err: e.payload.error?.message, restart: e.payload.restart }, 'item sync consumer crashed'));
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: o.topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void (await handleItemChanged(message, o.items, o.logger)) });
  } catch (err) {
    await consumer.disconnect().catch(() => undefined);
    throw err;
  }
  o.logger.info({ topic: o.topic, groupId: o.groupId }, 'item sync consumer running');
  return consumer;
}
