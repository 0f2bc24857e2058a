import { keys } from './keys';
import type { RedisClient } from './redis';

/**
 * The item events: their types and payloads, the per-item outbox they are written to, the id scheme, and the one
 * parser and formatter of each form an event takes.
 *
 * Each Lua script that changes an item appends the change's event to the item's outbox (a Redis Stream,
 * `wq:{itemId}:outbox`) in the same atomic step (lua/includes/outbox.lua), so that the relay can publish every
 * change at least once to Kafka, where the ledger reads it. Forms:
 * - outbox entry: stream fields `id` (`<itemId>:<n>`), `type`, `itemId`, `at` (epoch ms), `payload` (JSON text);
 *   parsed by {@link parseOutboxEntry};
 * - published event: the JSON value `{id, type, itemId, at, payload}` of a Kafka message keyed by itemId, with
 *   headers `event-id` and `event-type`; written by {@link toKafkaMessage}, read by {@link parseEvent}.
 */

/**
 * Payload of each event type (times epoch ms, Redis clock), and the script that writes it:
 * - `batch.admitted`: admit-7.lua, one per lane and tick;
 * - `reservation.*`: reserve-9.lua, confirm-reservation-8.lua, cancel-reservation-8.lua,
 *   expire-reservations-6.lua (an expiry, or a late confirm/cancel);
 * - `claim.issued`: claim-5.lua; `item.restocked`: restock-4.lua;
 * - `item.sold_out` / `item.reopened`: the stock reached 0 / came back from 0 (lua/includes/outbox.lua);
 * - `admin.changed`: admin-changed-2.lua, the audit entry of an admin change to the item. An admin upsert that
 *   sets remainCount writes no event of its own (its admin.changed carries the figures).
 */
export interface EventPayloads {
  'batch.admitted': { lane: string | null; count: number; maxSeq: string; expiresAt: number; fence: number };
  'reservation.created': {
    reservationId: string;
    userId: string;
    quantity: number;
    expiresAt: number;
    remainCount: number;
  };
  'reservation.confirmed': { reservationId: string; userId: string; quantity: number };
  'reservation.cancelled': { reservationId: string; userId: string; quantity: number; remainCount: number };
  'reservation.expired': { reservationId: string; userId: string; quantity: number; remainCount: number };
  'claim.issued': { claimId: string; userId: string; remainCount: number };
  'item.restocked': { quantity: number; remainCount: number };
  'item.sold_out': { remainCount: number; cause: 'reservation' | 'claim' };
  'item.reopened': { remainCount: number; cause: 'cancel' | 'expiry' | 'restock' };
  /** `before` and `after`: JSON text of the item's fields. */
  'admin.changed': { actor: string; action: string; before: string; after: string };
}

/** The type of an event, e.g. `reservation.created`. */
export type EventType = keyof EventPayloads;

/**
 * A published event, discriminated by `type`. Narrow on `type` to get the typed payload. Events are read as they
 * come: the parsers check the envelope (id, type), not the payload's fields, and let an unknown type through.
 */
export type ItemEvent<T extends EventType = EventType> = {
  [K in T]: {
    /** Unique, stable id `<itemId>:<n>@<ms>-<seq>` (see {@link publishedEventId}): consumers deduplicate on it. */
    id: string;
    type: K;
    itemId: string;
    /** When the change happened, epoch ms (Redis clock). */
    at: number;
    /** The type's fields; read as a record too, since the parsers do not check them. */
    payload: EventPayloads[K] & Record<string, unknown>;
  };
}[T];

/** An event read from the outbox: the published fields, with the script's own id and the stream entry id. */
export type OutboxEntry<T extends EventType = EventType> = {
  [K in T]: Omit<ItemEvent<K>, 'id'> & {
    /** `<itemId>:<n>`, n = the item hash's `eventSeq` counter (lua/includes/outbox.lua). */
    id: string;
    /** The stream entry id `<ms>-<seq>`, for XRANGE cursors. */
    streamId: string;
  };
}[T];

/**
 * The id of a published event: the script's id `<itemId>:<n>` joined with the stream entry id,
 * `<itemId>:<n>@<ms>-<seq>`. A republished event keeps it, and if Redis loses its last writes (a host crash under
 * `appendfsync everysec`, a failover to a lagging replica) and the item's counter `n` goes back, new events still
 * get new ids, because stream entry ids follow the clock.
 */
export function publishedEventId(outboxId: string, streamId: string): string {
  return `${outboxId}@${streamId}`;
}

/**
 * Compares two stream entry ids `<ms>-<seq>`.
 * @returns negative, 0 or positive as `a` is before, equal to or after `b`.
 */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = a.split('-').map((x) => BigInt(x || '0'));
  const [bm, bs] = b.split('-').map((x) => BigInt(x || '0'));
  if (am !== bm) return am < bm ? -1 : 1;
  return as === bs ? 0 : (as ?? 0n) < (bs ?? 0n) ? -1 : 1;
}

/**
 * Parses one XRANGE entry `[streamId, [field, value, ...]]` of the outbox of item `itemId`. A payload that is not
 * JSON becomes `{raw: <text>}`; a missing `itemId` field falls back to `itemId`, a missing `at` to 0.
 * @returns the entry, or null when it has no `id` or `type` (not an event).
 */
export function parseOutboxEntry(entry: [string, string[]], itemId = ''): OutboxEntry | null {
  const [streamId, flat] = entry;
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i]] = flat[i + 1];
  if (!f.id || !f.type) return null;
  let payload: unknown = {};
  try {
    payload = f.payload ? JSON.parse(f.payload) : {};
  } catch {
    payload = { raw: f.payload };
  }
  return {
    streamId,
    id: f.id,
    type: f.type,
    itemId: f.itemId || itemId,
    at: Number(f.at ?? 0),
    payload,
  } as OutboxEntry;
}

/** The event that the relay publishes for an outbox entry (its id per {@link publishedEventId}). */
export function toPublishedEvent(entry: OutboxEntry): ItemEvent {
  return {
    id: publishedEventId(entry.id, entry.streamId),
    type: entry.type,
    itemId: entry.itemId,
    at: entry.at,
    payload: entry.payload,
  } as ItemEvent;
}

/** The Kafka message of a published event: key itemId (one item's events stay ordered), JSON value, id/type headers. */
export function toKafkaMessage(event: ItemEvent): { key: string; value: string; headers: Record<string, string> } {
  return { key: event.itemId, value: formatEvent(event), headers: { 'event-id': event.id, 'event-type': event.type } };
}

/** The JSON text of a published event, fields in wire order `id, type, itemId, at, payload`. */
export function formatEvent(event: ItemEvent): string {
  return JSON.stringify({ id: event.id, type: event.type, itemId: event.itemId, at: event.at, payload: event.payload });
}

/**
 * Parses the JSON value of a published event.
 * @throws Error when the text is not JSON or not an object with a string `id` and `type`.
 */
export function parseEvent(value: string): ItemEvent {
  const event = JSON.parse(value) as ItemEvent | null;
  if (!event || typeof event !== 'object' || typeof event.id !== 'string' || typeof event.type !== 'string')
    throw new Error('not an event');
  return event;
}

/**
 * Reads an item's outbox in order, from after stream id `after` (default: the start), at most `count` entries.
 * @returns the entries (empty when the outbox does not exist); entries that are not events are left out.
 * @throws when Redis is unreachable.
 */
export async function readOutbox(
  redis: RedisClient,
  itemId: string,
  after?: string,
  count = 10_000,
): Promise<OutboxEntry[]> {
  const entries = (await redis.xrange(keys.outbox(itemId), after ? `(${after}` : '-', '+', 'COUNT', count)) as [
    string,
    string[],
  ][];
  return entries.map((e) => parseOutboxEntry(e, itemId)).filter((e): e is OutboxEntry => e !== null);
}
