import type { Producer } from 'kafkajs';
import { callScript, type ItemStore, type Logger, type RedisClient } from '@waiting-queue/shared';

/** The outbox of an item: a Redis Stream that the item's Lua scripts append to in the same atomic step. */
export const outboxKey = (itemId: string) => `wq:{${itemId}}:outbox`;
/** Id of the last stream entry of the item's outbox that Kafka acknowledged. */
export const outboxCursorKey = (itemId: string) => `wq:{${itemId}}:outbox-cursor`;
export const RELAY_LEASE_KEY = 'wq:{scheduler}:relay-lease';

/** An event as published on `waiting-queue-events` (the JSON value; the message key is the itemId). */
export interface WaitingQueueEvent {
  /**
   * Unique, stable id: consumers deduplicate on it (at-least-once delivery). It is the script's id
   * `<itemId>:<n>` joined with the stream entry id, `<itemId>:<n>@<ms>-<seq>`: a republished event keeps it, and
   * if Redis loses its last writes (a host crash under `appendfsync everysec`, a failover to a lagging replica) and
   * the item's counter `n` goes back, new events still get new ids, because stream entry ids follow the clock.
   */
  id: string;
  type: string;
  itemId: string;
  /** When the change happened, epoch ms (Redis clock). */
  at: number;
  payload: Record<string, unknown>;
}

/**
 * Turns a stream entry (its id and flat field list) into an event. @returns null when the entry has no id/type.
 */
export function eventFromEntry(itemId: string, fields: string[], entryId: string): WaitingQueueEvent | null {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]] = fields[i + 1];
  if (!f.id || !f.type) return null;
  let payload: Record<string, unknown> = {};
  try {
    payload = f.payload ? (JSON.parse(f.payload) as Record<string, unknown>) : {};
  } catch {
    payload = { raw: f.payload };
  }
  return { id: `${f.id}@${entryId}`, type: f.type, itemId: f.itemId || itemId, at: Number(f.at ?? 0), payload };
}

/** Settings of the relay. */
export interface OutboxRelayOptions {
  topic: string;
  /** Unique per process, for the lease. */
  instanceId: string;
  /** Stream entries read per item per round. */
  batchSize?: number;
  /** Lease duration, milliseconds. */
  leaseMs?: number;
}

/**
 * The transactional-outbox relay (Richardson, microservices.io "Transactional outbox"): publishes each item's
 * outbox stream to Kafka (key = itemId, so each item's events stay ordered in one partition), then moves the item's
 * cursor. At-least-once: a crash between the Kafka ack and the cursor write republishes those events, with the same
 * ids. While Kafka is down, `relayOnce` fails and the events wait in the outbox. One process relays at a time (a
 * Redis lease), so events leave in outbox order.
 */
export class OutboxRelay {
  private readonly batchSize: number;
  private readonly leaseMs: number;
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;

  constructor(
    private readonly redis: RedisClient,
    private readonly producer: Producer,
    private readonly items: ItemStore,
    private readonly logger: Logger,
    private readonly o: OutboxRelayOptions,
  ) {
    this.batchSize = o.batchSize ?? 500;
    this.leaseMs = o.leaseMs ?? 10_000;
  }

  /**
   * One round over every registered item, if this process holds the relay lease.
   * @returns events published (0 when another process relays).
   * @throws when Kafka or Redis fails (nothing is lost: the cursor only moves after the Kafka ack).
   */
  async relayOnce(): Promise<number> {
    const held = await callScript<number>(this.redis, 'wq_lease', [RELAY_LEASE_KEY], [this.o.instanceId, this.leaseMs]);
    if (held !== 1) return 0;
    let published = 0;
    for (const itemId of await this.items.listIds()) {
      for (;;) {
        const cursor = await this.redis.get(outboxCursorKey(itemId));
        const entries = (await this.redis.xrange(outboxKey(itemId), cursor ? `(${cursor}` : '-', '+', 'COUNT', this.batchSize)) as [string, string[]][];
        if (entries.length === 0) break;
        const events = entries.map(([entryId, fields]) => eventFromEntry(itemId, fields, entryId)).filter((e): e is WaitingQueueEvent => e !== null);
        if (events.length > 0) {
          await this.producer.send({
            topic: this.o.topic,
            acks: -1,
            messages: events.map((e) => ({ key: e.itemId, value: JSON.stringify(e), headers: { 'event-id': e.id, 'event-type': e.type } })),
          });
        }
        const last = entries[entries.length - 1][0];
        await this.redis.set(outboxCursorKey(itemId), last);
        // Relayed entries are no longer needed; keep the last one as the cursor's anchor.
        await this.redis.xtrim(outboxKey(itemId), 'MINID', last);
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
      if (this.timer !== undefined) this.timer = setTimeout(() => (this.running = loop()), intervalMs);
    };
    this.timer = setTimeout(() => (this.running = loop()), 0);
  }

  /** Stops the loop and waits for a round in progress. */
  async stop(): Promise<void> {
    const t = this.timer;
    this.timer = undefined;
    if (t) clearTimeout(t);
    await this.running;
  }
}
