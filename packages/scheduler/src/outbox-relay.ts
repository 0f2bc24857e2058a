import type { Producer } from 'kafkajs';
import {
  compareStreamIds,
  parseOutboxEntry,
  toKafkaMessage,
  toPublishedEvent,
  type ItemEvent,
  type OutboxEntry,
} from '@waiting-queue/core/events';
import { type ItemStore } from '@waiting-queue/core/item-store';
import { keys } from '@waiting-queue/core/keys';
import { type Logger } from '@waiting-queue/core/logger';
import { type RedisClient } from '@waiting-queue/core/redis';
import { callScript } from '@waiting-queue/core/scripts';
import { outboxGaps } from './metrics';

/** How far the relay is behind on one item. */
export interface RelayLag {
  itemId: string;
  /** Events in the outbox after the relay's cursor (not yet acknowledged by Kafka). */
  lagEntries: number;
  /** Age of the oldest of them, seconds (Redis clock: its stream entry id); 0 when there is none. */
  lagSeconds: number;
}

/**
 * Reads the relay lag of each item: events after its cursor and the age of the oldest (a few pipelined reads per
 * item: GET, XLEN, two bounded XRANGE).
 * @returns per item, in the order of `itemIds`.
 * @throws when Redis is unreachable.
 */
export async function readRelayLag(redis: RedisClient, itemIds: string[]): Promise<RelayLag[]> {
  const [sec, usec] = await redis.time();
  const now = Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
  return Promise.all(
    itemIds.map(async (itemId) => {
      const [cursor, len] = await Promise.all([redis.get(keys.outboxCursor(itemId)), redis.xlen(keys.outbox(itemId))]);
      const [upToCursor, next] = await Promise.all([
        cursor
          ? (redis.xrange(keys.outbox(itemId), '-', cursor, 'COUNT', 1000) as Promise<[string, string[]][]>)
          : Promise.resolve([]),
        redis.xrange(keys.outbox(itemId), cursor ? `(${cursor}` : '-', '+', 'COUNT', 1) as Promise<
          [string, string[]][]
        >,
      ]);
      const lagEntries = Math.max(0, len - upToCursor.length);
      const oldestMs = next.length > 0 ? Number(next[0][0].split('-')[0]) : now;
      return { itemId, lagEntries, lagSeconds: lagEntries > 0 ? Math.max(0, now - oldestMs) / 1000 : 0 };
    }),
  );
}

/** Settings of the relay. */
export interface OutboxRelayOptions {
  /** Holds the outboxes, the cursors and the lease. */
  redis: RedisClient;
  /** Publishes to Kafka. */
  producer: Producer;
  /** The item registry: whose outboxes to relay. */
  items: ItemStore;
  logger: Logger;
  topic: string;
  /** Unique per process, for the lease. */
  instanceId: string;
  /** Stream entries read per item per batch. */
  batchSize?: number;
  /** Lease duration, milliseconds. */
  leaseMs?: number;
  /** Connects the producer; called at the start of each round until it succeeds (Kafka may be down at start). */
  connect?: () => Promise<void>;
}

/**
 * The transactional-outbox relay (Richardson, microservices.io "Transactional outbox"): publishes each item's
 * outbox stream to Kafka (key = itemId, so each item's events stay ordered in one partition), then moves the item's
 * cursor. At-least-once: a crash between the Kafka ack and the cursor write republishes those events, with the same
 * ids. While Kafka is down, `relayOnce` fails and the events wait in the outbox: every round first marks every
 * item as relayed (lua/relay-mark-1.lua), and a marked item's outbox is trimmed only here, up to the cursor.
 *
 * One process relays at a time (a Redis lease with a fencing epoch, lua/relay-lease-2.lua), so events leave in
 * outbox order. The lease is renewed before every batch and the round stops when it is lost; the cursor moves by
 * compare-and-set fenced by the epoch (lua/relay-cursor-3.lua), so a relay that lost its lease mid-batch cannot move
 * a cursor back or trim what the new holder has not published. A gap (the cursor's own entry trimmed away with
 * later ones, i.e. events dropped before they were published) is logged as an error and counted
 * (`wq_outbox_gaps_total`).
 */
export class OutboxRelay {
  private readonly batchSize: number;
  private readonly leaseMs: number;
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private connected = false;
  /** The cursor at which a gap was last reported, per item (a gap is reported once, not every round). */
  private readonly gapReported = new Map<string, string>();

  private readonly redis: RedisClient;
  private readonly producer: Producer;
  private readonly items: ItemStore;
  private readonly logger: Logger;

  constructor(private readonly o: OutboxRelayOptions) {
    this.redis = o.redis;
    this.producer = o.producer;
    this.items = o.items;
    this.logger = o.logger;
    this.batchSize = o.batchSize ?? 500;
    this.leaseMs = o.leaseMs ?? 10_000;
  }

  /** Acquires or renews the lease. @returns its epoch, 0 when another process holds it. */
  private lease(atLeast = 0): Promise<number> {
    return callScript<number>(
      this.redis,
      'wq_relay_lease',
      [keys.relayLease, keys.relayLeaseEpoch],
      [this.o.instanceId, this.leaseMs, atLeast],
    ).then(Number);
  }

  /** Logs and counts a gap once per cursor: the cursor's entry is gone and the stream starts after it. */
  private async checkGap(itemId: string, cursor: string | null): Promise<void> {
    if (!cursor) return;
    const first = (await this.redis.xrange(keys.outbox(itemId), '-', '+', 'COUNT', 1)) as [string, string[]][];
    if (first.length === 0 || compareStreamIds(first[0][0], cursor) <= 0) return;
    if (this.gapReported.get(itemId) === cursor) return;
    this.gapReported.set(itemId, cursor);
    const firstEntry = parseOutboxEntry(first[0], itemId);
    outboxGaps.inc({ item_id: itemId });
    this.logger.error(
      { itemId, cursor, firstEntry: first[0][0], firstEventId: firstEntry ? toPublishedEvent(firstEntry).id : null },
      'outbox gap: events after the relay cursor were trimmed before they were published',
    );
  }

  /**
   * One round over every registered item: marks them all as relayed, then, if this process holds the relay lease,
   * publishes what follows each cursor, batch by batch.
   * @returns events published (0 when another process relays).
   * @throws when Kafka or Redis fails (nothing is lost: the cursor only moves after the Kafka ack).
   */
  async relayOnce(): Promise<number> {
    const ids = await this.items.listIds();
    await Promise.all(ids.map((itemId) => callScript<number>(this.redis, 'wq_relay_mark', [keys.item(itemId)], [])));
    if (this.o.connect && !this.connected) {
      await this.o.connect();
      this.connected = true;
    }
    let epoch = await this.lease();
    if (epoch === 0) return 0;
    let published = 0;
    for (const itemId of ids) {
      let first = true;
      for (;;) {
        const cursor = await this.redis.get(keys.outboxCursor(itemId));
        if (first) await this.checkGap(itemId, cursor);
        first = false;
        const entries = (await this.redis.xrange(
          keys.outbox(itemId),
          cursor ? `(${cursor}` : '-',
          '+',
          'COUNT',
          this.batchSize,
        )) as [string, string[]][];
        if (entries.length === 0) break;
        // Renew before every batch: a round longer than the lease (a slow broker) must not go on once lost.
        if ((await this.lease()) !== epoch) {
          this.logger.warn({ itemId, epoch }, 'outbox relay lost its lease; stopping the round');
          return published;
        }
        const events: ItemEvent[] = entries
          .map((entry) => parseOutboxEntry(entry, itemId))
          .filter((e): e is OutboxEntry => e !== null)
          .map(toPublishedEvent);
        if (events.length > 0) {
          await this.producer.send({
            topic: this.o.topic,
            acks: -1,
            messages: events.map(toKafkaMessage),
          });
        }
        const last = entries[entries.length - 1][0];
        const move = () =>
          callScript<[string, number]>(
            this.redis,
            'wq_relay_cursor',
            [keys.item(itemId), keys.outboxCursor(itemId), keys.outbox(itemId)],
            [cursor ?? '', last, epoch],
          );
        let [status, stored] = await move();
        if (status === 'FENCED') {
          // Still the holder, yet fenced: the epoch counter went back (lost writes). Raise it past the item's epoch.
          const raised = await this.lease(Number(stored) + 1);
          if (raised > Number(stored)) {
            epoch = raised;
            [status, stored] = await move();
          }
        }
        if (status !== 'OK') {
          this.logger.warn(
            { itemId, epoch, status, itemEpoch: Number(stored) },
            'outbox relay cursor moved by another relay; stopping the round',
          );
          return published;
        }
        published += events.length;
        if (entries.length < this.batchSize) break;
      }
    }
    return published;
  }

  /** Runs {@link relayOnce} every `intervalMs` milliseconds until {@link stop}. Failures are logged and retried. */
  start(intervalMs = 500): void {
    const loop = async () => {
      try {
        const n = await this.relayOnce();
        if (n > 0) this.logger.debug({ published: n }, 'outbox relayed');
      } catch (err) {
        this.logger.warn({ err: (err as Error).message }, 'outbox relay failed; events wait in the outbox');
      }
      if (this.timer !== undefined)
        this.timer = setTimeout(() => {
          this.running = loop();
        }, intervalMs);
    };
    this.timer = setTimeout(() => {
      this.running = loop();
    }, 0);
  }

  /** Stops the loop and waits for a round in progress. */
  async stop(): Promise<void> {
    const t = this.timer;
    this.timer = undefined;
    if (t) clearTimeout(t);
    await this.running;
  }
}
