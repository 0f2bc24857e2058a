import { Kafka, logLevel, type Consumer, type KafkaMessage } from 'kafkajs';
import { z } from 'zod';
import { idSchema } from '@waiting-queue/core/ids';
import { type ItemStore } from '@waiting-queue/core/item-store';
import { type Logger } from '@waiting-queue/core/logger';

/**
 * Value of an `item-changed-event` message (the upstream's wire contract). itemId is a safe integer (the
 * upstream's Long ids, within what a JSON number keeps exactly) or a string of `[A-Za-z0-9_]{1,64}`: an id beyond
 * 2^53 - 1 would be rounded by JSON.parse (9007199254740993 would become item 9007199254740992) and 1e21 would
 * become "1e+21", an id no route accepts.
 */
export const itemChangedEventSchema = z.object({
  itemId: z
    .union([
      z.number().int().nonnegative().refine(Number.isSafeInteger, 'a numeric itemId must be a safe integer'),
      idSchema,
    ])
    .transform(String),
  itemName: z.string().min(1).max(200),
  // As the admin API's: a figure beyond 2^53 - 1 is not what was sent (JSON.parse rounds it) and 1e300 would be
  // stored as "1e+300", a stock Redis cannot count down (every restock, reservation or claim would fail).
  remainCount: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  waitingQueueEnabled: z.boolean(),
  waitingQueueTargetItem: z.boolean(),
});

/** What handling one message did. */
export type ItemChangedOutcome = 'upserted' | 'ignored-not-target' | 'rejected-invalid' | 'rejected-key-mismatch';

/** Where a message came from, for the logs. */
export interface MessageOrigin {
  topic: string;
  partition: number;
}

/**
 * Number tokens given for `itemId` in the raw JSON text, e.g. `["1e21"]`. JSON.parse would round or reformat them
 * before the schema sees them, so their spelling is checked here: plain digits only. (A `"itemId"` inside a string
 * value has escaped quotes, `\"itemId\"`, so it cannot match.)
 */
function numericItemIdTokens(raw: string): string[] {
  return [...raw.matchAll(/"itemId"\s*:\s*(-?[0-9][0-9.eE+-]*)/g)].map((m) => m[1]);
}

/**
 * Applies one `item-changed-event` message: upserts the item unless `waitingQueueTargetItem` is false.
 * Its stock figure only creates an item: on an existing item remainCount is ignored (logged), because Redis counts
 * the stock down with every claim and reservation, and a redelivered, replayed or late event would undo them;
 * restocks go through the admin API. Name and enabled are applied.
 * A malformed message, or an itemId that is not a safe integer or 1-64 of `[A-Za-z0-9_]`, is logged with its
 * topic, partition and offset and skipped (it would block its partition forever); a Redis error is thrown so that
 * kafkajs retries the message and no update is lost (at-least-once; the upsert is idempotent).
 * A message whose key is not the itemId of its value is refused (logged with topic, partition, offset, key and
 * itemId; outcome `rejected-key-mismatch`): the key decides the partition, so only same-key messages of an item keep
 * their order, and a producer that keys by something else has a bug that must not edit an item silently. A message
 * without a key is taken by its value.
 */
export async function handleItemChanged(
  message: KafkaMessage,
  items: ItemStore,
  logger: Logger,
  origin?: MessageOrigin,
): Promise<ItemChangedOutcome> {
  const where = { ...origin, offset: message.offset, key: message.key?.toString('utf8') };
  const raw = message.value?.toString('utf8') ?? '';
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    logger.warn(where, 'item-changed-event: value is not JSON; skipped');
    return 'rejected-invalid';
  }
  const tokens = numericItemIdTokens(raw);
  const badTokens = tokens.filter((t) => !/^\d{1,16}$/.test(t));
  // A numeric itemId whose spelling was not among them came under an escaped key (`"item\u0049d": 12.0`), which
  // JSON.parse decodes: unchecked, 12.0 or 1e1 would become items 12 and 10.
  const id = (value as { itemId?: unknown } | null)?.itemId;
  if (typeof id === 'number' && !tokens.includes(String(id))) badTokens.push(String(id));
  if (badTokens.length > 0) {
    logger.warn(
      { ...where, itemId: badTokens.join(',') },
      'item-changed-event: itemId is not a safe integer nor 1-64 of [A-Za-z0-9_]; skipped',
    );
    return 'rejected-invalid';
  }
  const parsed = itemChangedEventSchema.safeParse(value);
  if (!parsed.success) {
    logger.warn({ ...where, issues: parsed.error.issues }, 'item-changed-event: invalid; skipped');
    return 'rejected-invalid';
  }
  const e = parsed.data;
  if (where.key !== undefined && where.key !== e.itemId) {
    logger.warn(
      { ...where, itemId: e.itemId },
      'item-changed-event: key differs from the itemId of the value; refused',
    );
    return 'rejected-key-mismatch';
  }
  if (!e.waitingQueueTargetItem) return 'ignored-not-target';
  const { created, stockKept, item } = await items.upsert(
    e.itemId,
    { itemName: e.itemName, remainCount: e.remainCount, waitingQueueEnabled: e.waitingQueueEnabled },
    { stockRule: 'keep' },
  );
  if (stockKept) {
    logger.info(
      { ...where, itemId: e.itemId, eventRemainCount: e.remainCount, remainCount: item.remainCount },
      'item-changed-event applied; its remainCount ignored: the stock of an existing item is counted by Redis (restock through the admin API)',
    );
  } else {
    logger.info({ ...where, itemId: e.itemId, created }, 'item-changed-event applied');
  }
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
  const consumer = kafka.consumer({
    groupId: o.groupId,
    retry: { retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 5000 },
  });
  consumer.on(consumer.events.CRASH, (e) =>
    o.logger.error({ err: e.payload.error?.message, restart: e.payload.restart }, 'item sync consumer crashed'),
  );
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: o.topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) =>
        void (await handleItemChanged(message, o.items, o.logger, { topic, partition })),
    });
  } catch (err) {
    await consumer.disconnect().catch(() => undefined);
    throw err;
  }
  o.logger.info({ topic: o.topic, groupId: o.groupId }, 'item sync consumer running');
  return consumer;
}
