import { z } from 'zod';
import { ID_PATTERN, TOKEN_PATTERN } from './ids';
import { keys } from './keys';
import {
  callIdempotent,
  DEFAULT_IDEMPOTENCY_LIMITS,
  recordedReply,
  type IdempotencyLimits,
  type IdempotentRequest,
} from './idempotency';
import { callScript } from './scripts';
import type { RedisClient } from './redis';
import type { RESERVATION_STATUS } from './lua-constants';

export type ReservationStatus = (typeof RESERVATION_STATUS)[keyof typeof RESERVATION_STATUS];

/** A reservation as stored (lua/includes/reservation.lua) and as the internal API returns it. Times epoch ms, Redis clock. */
export interface Reservation {
  /** `<itemId>.<n>`: names its item, so that confirm and cancel find the item's keys (and Cluster slot). */
  reservationId: string;
  itemId: string;
  userId: string;
  quantity: number;
  status: ReservationStatus;
  createdAt: number;
  /** A PENDING reservation is expired from this time on. */
  expiresAt: number;
  updatedAt: number;
}

/** Body of `POST /internal/v1/item/{itemId}/reservations`; `quantity` defaults to 1. */
export const reservationInputSchema = z
  .object({
    waitingQueueToken: z
      .string()
      .regex(TOKEN_PATTERN)
      .describe('The admitted waiting-queue token, `<userId>-<itemId>-<uuid v4>`.'),
    userId: z.string().regex(ID_PATTERN).describe('The shopper the token belongs to.'),
    quantity: z.number().int().min(1).max(1_000_000).optional().default(1).describe('Units to reserve.'),
  })
  .strict();

/** Outcome of {@link ReservationStore.reserve}. */
export type ReserveResult =
  | { status: 'OK'; reservation: Reservation; remainCount: number }
  | { status: 'NO_ITEM' | 'NOT_ADMITTED' }
  | { status: 'LIMIT_EXCEEDED'; maxPerUser: number; held: number }
  | { status: 'INSUFFICIENT_STOCK'; remainCount: number };

/**
 * Outcome of confirm or cancel: `OK` (done now or already done: idempotent), the status that prevents it
 * (`EXPIRED`, `CANCELLED` for a confirm, `CONFIRMED` for a cancel), or `NOT_FOUND`.
 */
export type SettleResult = { status: 'OK' | ReservationStatus; reservation: Reservation } | { status: 'NOT_FOUND' };

/** Parameters of the scheduler's reservation sweep. */
export interface ExpireParams {
  /** Most reservations expired (and purged) per item per call. */
  limit: number;
  /** Retention of settled reservations, milliseconds. */
  retentionMs: number;
}

/** Reply of lua/reserve-9.lua. */
type RawReserve = [string, (string | number)?, number?];

function toReserveResult(raw: RawReserve): ReserveResult {
  switch (raw[0]) {
    case 'OK':
      return { status: 'OK', reservation: JSON.parse(String(raw[1])) as Reservation, remainCount: Number(raw[2]) };
    case 'LIMIT_EXCEEDED':
      return { status: 'LIMIT_EXCEEDED', maxPerUser: Number(raw[1]), held: Number(raw[2]) };
    case 'INSUFFICIENT_STOCK':
      return { status: 'INSUFFICIENT_STOCK', remainCount: Number(raw[1]) };
    default:
      return { status: raw[0] as 'NO_ITEM' | 'NOT_ADMITTED' };
  }
}

/**
 * Splits a reservation id `<itemId>.<n>`.
 * @returns `{itemId, n}`, or null when it is not of that form.
 */
export function parseReservationId(id: unknown): { itemId: string; n: string } | null {
  if (typeof id !== 'string') return null;
  const dot = id.lastIndexOf('.');
  if (dot < 1) return null;
  const itemId = id.slice(0, dot);
  const n = id.slice(dot + 1);
  return ID_PATTERN.test(itemId) && /^[1-9]\d{0,15}$/.test(n) ? { itemId, n } : null;
}

/**
 * Stock and reservations (lua/reserve-9, confirm-reservation-8, cancel-reservation-8, expire-reservations-6,
 * restock-4): each call is one EVALSHA, atomic on the item's Redis node, and appends its events to the item's outbox.
 * Reserve, confirm, cancel and restock take an optional {@link IdempotentRequest}: its key and the reply are
 * recorded in the same script as the change, and a retry with that key gets the recorded reply.
 */
export class ReservationStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly limits: IdempotencyLimits = DEFAULT_IDEMPOTENCY_LIMITS,
  ) {}

  /**
   * Reserves `quantity` of `itemId` for `userId`, consuming the admission of place `seq` (which the caller verified
   * the token against).
   * @param ttlMs lifetime of the PENDING reservation, milliseconds.
   * @throws IdempotencyKeyReusedError (`idem`'s key recorded for another request), or Redis errors.
   */
  async reserve(
    itemId: string,
    userId: string,
    seq: string,
    quantity: number,
    ttlMs: number,
    idem?: IdempotentRequest,
  ): Promise<ReserveResult> {
    const raw = await callIdempotent<RawReserve>(
      this.redis,
      'wq_reserve',
      [
        keys.item(itemId),
        keys.admitted(itemId),
        keys.admissionBatches(itemId),
        keys.holdings(itemId),
        keys.reservations(itemId),
        keys.reservationsPending(itemId),
        keys.outbox(itemId),
      ],
      [userId, seq, quantity, ttlMs, itemId],
      keys.idempotency(itemId),
      idem,
      this.limits,
    );
    return toReserveResult(raw);
  }

  /**
   * The outcome recorded for `idem`'s key on `itemId`'s reservations, or undefined (no key, or no record): the
   * retry of a reservation that was made, whose admission is gone, gets the reservation.
   * @throws IdempotencyKeyReusedError.
   */
  async recordedReserve(itemId: string, idem: IdempotentRequest | undefined): Promise<ReserveResult | undefined> {
    const raw = await recordedReply<RawReserve>(this.redis, keys.idempotency(itemId), idem);
    return raw === undefined ? undefined : toReserveResult(raw);
  }

  /**
   * PENDING -> CONFIRMED (a PENDING one past its expiry is expired instead). @returns see {@link SettleResult}.
   * @throws IdempotencyKeyReusedError, or Redis errors.
   */
  confirm(reservationId: string, idem?: IdempotentRequest): Promise<SettleResult> {
    return this.settle('wq_confirm_reservation', reservationId, idem);
  }

  /**
   * PENDING -> CANCELLED, restoring the stock (a PENDING one past its expiry is expired instead).
   * @throws IdempotencyKeyReusedError, or Redis errors.
   */
  cancel(reservationId: string, idem?: IdempotentRequest): Promise<SettleResult> {
    return this.settle('wq_cancel_reservation', reservationId, idem);
  }

  /** The reservation, or null (unknown, malformed id, or purged after the retention). */
  async get(reservationId: string): Promise<Reservation | null> {
    const id = parseReservationId(reservationId);
    if (!id) return null;
    const raw = await this.redis.hget(keys.reservations(id.itemId), id.n);
    return raw === null ? null : (JSON.parse(raw) as Reservation);
  }

  /** The scheduler's sweep of one item: expires due PENDING reservations (stock back, once), purges old settled ones. */
  async expireDue(itemId: string, p: ExpireParams): Promise<{ expired: number; purged: number }> {
    const [expired, purged] = await callScript<[number, number]>(
      this.redis,
      'wq_expire_reservations',
      keys.reservationState(itemId),
      [p.limit, p.retentionMs, itemId],
    );
    return { expired: Number(expired), purged: Number(purged) };
  }

  private async settle(
    command: string,
    reservationId: string,
    idem: IdempotentRequest | undefined,
  ): Promise<SettleResult> {
    const id = parseReservationId(reservationId);
    if (!id) return { status: 'NOT_FOUND' };
    const raw = await callIdempotent<[string, string?]>(
      this.redis,
      command,
      keys.reservationState(id.itemId),
      [id.n, id.itemId],
      keys.idempotency(id.itemId),
      idem,
      this.limits,
    );
    if (raw[0] === 'NOT_FOUND') return { status: 'NOT_FOUND' };
    return { status: raw[0] as 'OK' | ReservationStatus, reservation: JSON.parse(String(raw[1])) as Reservation };
  }
}
