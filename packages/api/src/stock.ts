import type { IncomingHttpHeaders } from 'node:http';
import { type ClaimStore } from '@waiting-queue/core/claim-store';
import { WqError } from '@waiting-queue/core/errors';
import { type IdempotentRequest } from '@waiting-queue/core/idempotency';
import { parseToken, requireId, type TokenCodec } from '@waiting-queue/core/ids';
import { type QueueStore } from '@waiting-queue/core/queue-store';
import {
  parseReservationId,
  type Reservation,
  type ReservationStore,
  type ReserveResult,
  type SettleResult,
} from '@waiting-queue/core/reservation-store';
import { parseOr400 } from '@waiting-queue/http/http';
import { idempotentRequest } from '@waiting-queue/http/request-headers';
import { apiRoutes } from '@waiting-queue/http/route-tables';
import { type ClaimView } from '@waiting-queue/http/views';

/** A reservation as the internal API returns it, with the item's stock after the call. */
export type ReservationView = Reservation & { remainCount?: number };

export type { ClaimView };

/** What the stock operations need. */
export interface StockServiceOptions {
  queue: QueueStore;
  tokens: TokenCodec;
  reservations: ReservationStore;
  claims: ClaimStore;
  /** Lifetime of a PENDING reservation, milliseconds (RESERVATION_TTL_SECONDS x 1000). */
  reservationTtlMs: number;
}

const notAdmitted = (message: string) => new WqError('NOT_ADMITTED', message, { status: 403 });

/**
 * Stock operations of the api: reservations for order services (internal API) and first-come claims on DIRECT
 * items (public API). Each state change is one Lua script (see ReservationStore, ClaimStore); input is validated
 * here so that every transport answers alike.
 */
export class StockService {
  constructor(private readonly o: StockServiceOptions) {}

  /**
   * Reserves stock for an admitted token, consuming the admission.
   * @throws WqError 400 `INVALID_PARAMETER` (body, ids, token form), 403 `TOKEN_MISMATCH` (the token is another
   *   user's or item's), 403 `NOT_ADMITTED` (waiting, expired, already used, unknown), 409 `LIMIT_EXCEEDED`
   *   (maxPerUser; `data.maxPerUser`, `data.held`), 409 `INSUFFICIENT_STOCK` (`data.remainCount`), 422
   *   `IDEMPOTENCY_KEY_REUSED`, 503.
   * @param headers the request's headers: with an Idempotency-Key, a retry gets the first answer (the reservation
   *   it made, although the admission is gone by then) and reserves nothing more.
   */
  async reserve(itemIdRaw: unknown, body: unknown, headers: IncomingHttpHeaders = {}): Promise<ReservationView> {
    const itemId = requireId(itemIdRaw, 'itemId');
    const input = parseOr400(apiRoutes.reserve.body, body ?? null, 'reservation');
    const userId = requireId(input.userId, 'userId');
    const token = parseToken(input.waitingQueueToken);
    if (token.itemId !== itemId || token.userId !== userId)
      throw new WqError('TOKEN_MISMATCH', 'the token belongs to another user or item');
    const idem = idempotentRequest(headers, ['reserve', itemId, input.waitingQueueToken, userId, input.quantity]);
    // As consume: read the place, verify the token's HMAC against its number; the script compares that number again.
    const place = await this.o.queue.status(itemId, userId);
    if (typeof place === 'string' || place.status !== 'ADMITTED' || !this.o.tokens.matches(token, place.seq)) {
      // The retry of a reservation that was made finds the admission gone: it gets the recorded answer. (While the
      // admission is there, the script itself replays a record, atomically.)
      const recorded = await this.o.reservations.recordedReserve(itemId, idem);
      if (recorded !== undefined) return this.reserved(itemId, recorded);
      throw notAdmitted('the token is not admitted (waiting, expired, already used or unknown)');
    }
    return this.reserved(
      itemId,
      await this.o.reservations.reserve(itemId, userId, place.seq, input.quantity, this.o.reservationTtlMs, idem),
    );
  }

  /** The answer to a reservation's outcome. */
  private reserved(itemId: string, r: ReserveResult): ReservationView {
    switch (r.status) {
      case 'OK':
        return { ...r.reservation, remainCount: r.remainCount };
      case 'LIMIT_EXCEEDED':
        throw new WqError('LIMIT_EXCEEDED', `at most ${r.maxPerUser} per user; this user holds ${r.held}`, {
          data: { itemId, maxPerUser: r.maxPerUser, held: r.held },
        });
      case 'INSUFFICIENT_STOCK':
        throw new WqError('INSUFFICIENT_STOCK', `only ${r.remainCount} left`, {
          data: { itemId, remainCount: r.remainCount },
        });
      default:
        throw notAdmitted('the admission was already used or has expired');
    }
  }

  /**
   * PENDING -> CONFIRMED; idempotent on a CONFIRMED one.
   * @throws WqError 400 (malformed id), 404 `RESERVATION_NOT_FOUND`, 410 `RESERVATION_EXPIRED`, 409
   *   `RESERVATION_NOT_PENDING` (cancelled; `data.status`), 422 `IDEMPOTENCY_KEY_REUSED`, 503.
   * @param headers the request's headers (Idempotency-Key).
   */
  async confirm(idRaw: unknown, headers: IncomingHttpHeaders = {}): Promise<Reservation> {
    return this.settled(idRaw, (id) => this.o.reservations.confirm(id, idempotentRequest(headers, ['confirm', id])));
  }

  /**
   * PENDING -> CANCELLED, restoring the stock; idempotent on a CANCELLED one.
   * @throws WqError 400, 404 `RESERVATION_NOT_FOUND`, 410 `RESERVATION_EXPIRED`, 409 `RESERVATION_NOT_PENDING`
   *   (confirmed), 422 `IDEMPOTENCY_KEY_REUSED`, 503.
   * @param headers the request's headers (Idempotency-Key).
   */
  async cancel(idRaw: unknown, headers: IncomingHttpHeaders = {}): Promise<Reservation> {
    return this.settled(idRaw, (id) => this.o.reservations.cancel(id, idempotentRequest(headers, ['cancel', id])));
  }

  /** The reservation. @throws WqError 400 (malformed id), 404 `RESERVATION_NOT_FOUND`, 503. */
  async get(idRaw: unknown): Promise<Reservation> {
    const id = this.reservationId(idRaw);
    const r = await this.o.reservations.get(id);
    if (!r) throw new WqError('RESERVATION_NOT_FOUND', `no reservation ${id}`);
    return r;
  }

  /**
   * A first-come claim on a DIRECT item: at most the stock in total, one per user.
   * @throws WqError 400 (ids), 404 `WAITING_ITEM_NOT_FOUND`, 409 `ITEM_NOT_DIRECT`, 409
   *   `ITEM_CANNOT_USE_WAITING_QUEUE` (disabled), 409 `ITEM_NOT_OPEN` (`data.opensAt`), 409 `ALREADY_CLAIMED`
   *   (`data.claimId`), 409 `SOLD_OUT`, 422 `IDEMPOTENCY_KEY_REUSED`, 503.
   * @param idem the request's Idempotency-Key: a retry gets the claim that key made, not ALREADY_CLAIMED.
   */
  async claim(itemIdRaw: unknown, userIdRaw: unknown, idem?: IdempotentRequest): Promise<ClaimView> {
    const itemId = requireId(itemIdRaw, 'itemId');
    const userId = requireId(userIdRaw, 'userId');
    const r = await this.o.claims.claim(itemId, userId, idem);
    switch (r.status) {
      case 'OK':
        return { claimId: r.claimId, itemId, userId, remainCount: r.remainCount };
      case 'ALREADY_CLAIMED':
        throw new WqError('ALREADY_CLAIMED', 'this user has claimed this item already', {
          data: { itemId, claimId: r.claimId },
        });
      case 'SOLD_OUT':
        throw new WqError('SOLD_OUT', 'the item is sold out', { data: { itemId } });
      case 'NOT_OPEN': {
        const retry = String(Math.max(1, Math.ceil((r.opensAt - r.nowMs) / 1000)));
        throw new WqError('ITEM_NOT_OPEN', 'the time deal has not opened yet', {
          headers: { 'Retry-After': retry },
          data: { itemId, opensAt: r.opensAt },
        });
      }
      case 'NOT_DIRECT':
        throw new WqError('ITEM_NOT_DIRECT', 'the item uses a waiting queue, not first-come claims', {
          data: { itemId },
        });
      case 'DISABLED':
        throw new WqError('ITEM_CANNOT_USE_WAITING_QUEUE', 'the item is disabled', {
          data: { itemId, reason: 'DISABLED' },
        });
      default:
        throw new WqError('WAITING_ITEM_NOT_FOUND', `no item ${itemId}`);
    }
  }

  private reservationId(idRaw: unknown): string {
    if (!parseReservationId(idRaw)) throw new WqError('INVALID_PARAMETER', 'reservationId must be <itemId>.<number>');
    return idRaw as string;
  }

  private async settled(idRaw: unknown, op: (id: string) => Promise<SettleResult>): Promise<Reservation> {
    const id = this.reservationId(idRaw);
    const r = await op(id);
    if (r.status === 'NOT_FOUND') throw new WqError('RESERVATION_NOT_FOUND', `no reservation ${id}`);
    if (r.status === 'OK') return r.reservation;
    if (r.status === 'EXPIRED')
      throw new WqError('RESERVATION_EXPIRED', 'the reservation has expired; its stock was released', {
        data: { reservation: r.reservation },
      });
    throw new WqError('RESERVATION_NOT_PENDING', `the reservation is ${r.status}`, {
      data: { reservationId: id, status: r.status },
    });
  }
}
