import { keys } from './keys';
import type { RedisClient } from './redis';

/**
 * The per-item outbox (a Redis Stream, `wq:{itemId}:outbox`): each Lua script that changes an item appends the
 * change's event in the same atomic step (lua/includes/outbox.lua), so that a relay can publish every change
 * at least once. Stream entry fields: `id`, `type`, `itemId`, `at`, `payload` (JSON).
 *
 * Types and their payloads (times epoch ms, Redis clock):
 * - `batch.admitted`        {lane: string|null, count, maxSeq: string, expiresAt, fence}   (admit-6.lua, per lane)
 * - `reservation.created`   {reservationId, userId, quantity, expiresAt, remainCount}       (reserve-9.lua)
 * - `reservation.confirmed` {reservationId, userId, quantity}                               (confirm-reservation-8.lua)
 * - `reservation.cancelled` {reservationId, userId, quantity, remainCount}                  (cancel-reservation-8.lua)
 * - `reservation.expired`   {reservationId, userId, quantity, remainCount}                  (expire-reservations-6.lua,
 *                                                                                            or a late confirm/cancel)
 * - `claim.issued`          {claimId, userId, remainCount}                                  (claim-5.lua)
 * - `item.restocked`        {quantity, remainCount}                                         (restock-4.lua)
 * - `item.sold_out`         {remainCount, cause: reservation|claim}                         (stock reached 0)
 * - `item.reopened`         {remainCount, cause: cancel|expiry|restock}                     (stock back from 0)
 * - `admin.changed`         {actor, action, before, after} (before/after: JSON text)          (admin-changed-2.lua: the
 *                                                                                            audit entry of an admin change to the item)
 * An admin upsert that sets remainCount writes no event of its own (its admin.changed carries the figures).
 */
export const OUTBOX_EVENT_TYPES = [
  'batch.admitted',
  'reservation.created',
  'reservation.confirmed',
  'reservation.cancelled',
  'reservation.expired',
  'claim.issued',
  'item.restocked',
  'item.sold_out',
  'item.reopened',
  'admin.changed',
] as const;

export type OutboxEventType = (typeof OUTBOX_EVENT_TYPES)[number];

export { OUTBOX_MAXLEN } from './lua-constants';

/** One outbox entry. */
export interface OutboxEvent {
  /** The stream entry id (`<ms>-<n>`), for XRANGE cursors. */
  streamId: string;
  /** `<itemId>:<n>`: unique per event and stable across redeliveries (consumers deduplicate on it). */
  id: string;
  type: OutboxEventType | string;
  itemId: string;
  /** When the change happened, epoch ms (Redis clock). */
  at: number;
  payload: Record<string, unknown>;
}

/** Parses one XRANGE entry `[streamId, [field, value, ...]]`. */
export function parseOutboxEntry(entry: [string, string[]]): OutboxEvent {
  const [streamId, flat] = entry;
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i]] = flat[i + 1];
  return { streamId, id: f.id, type: f.type, itemId: f.itemId, at: Number(f.at), payload: f.payload ? (JSON.parse(f.payload) as Record<string, unknown>) : {} };
}

/**
 * Reads an item's outbox in order, from after stream id `after` (default: the start), at most `count` entries.
 * @returns the events (empty when the outbox does not exist).
 */
export async function readOutbox(redis: RedisClient, itemId: string, after?: string, count = 10_000): Promise<OutboxEvent[]> {
  const entries = (await redis.xrange(keys.outbox(itemId), after ? `(${after}` : '-', '+', 'COUNT', count)) as [string, string[]][];
  return entries.map(parseOutboxEntry);
}
