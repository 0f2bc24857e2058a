import type { IncomingMessage } from 'node:http';
import express, { type Router } from 'express';
import { idempotentRequest, route } from '@waiting-queue/shared';
import type { Identity } from './identity';
import type { ClaimView, StockService } from './stock';

/** Route template of first-come claims (the `route` label of the HTTP metrics, on express and the fast path). */
export const CLAIMS_ROUTE = '/api/v1/item/:itemId/claims';

/**
 * The claim operation as both transports call it (the express route below and the node:http fast path): the
 * userId comes from the identity (the `user-id` header or a verified JWT); an Idempotency-Key is bound to it.
 * @returns `(req, itemId) => Promise<ClaimView>`; rejects with StockService.claim's WqErrors, 400 for a malformed
 *   Idempotency-Key, or 401 in JWT mode.
 */
export function claimOperation(stock: StockService, identity: Identity): (req: IncomingMessage, itemId: string) => Promise<ClaimView> {
  return async (req, itemId) => {
    const userId = await identity.userId(req.headers);
    return stock.claim(itemId, userId, idempotentRequest(req.headers, ['claim', itemId, userId]));
  };
}

/**
 * Public stock routes: `POST /api/v1/item/{itemId}/claims` (first-come claim on a DIRECT item). The api's fast
 * path answers the plain requests first; this route answers the rest (a body, HEAD, an odd path) alike.
 */
export function createClaimsRouter(stock: StockService, identity: Identity): Router {
  const r = express.Router();
  const claim = claimOperation(stock, identity);
  r.post(
    CLAIMS_ROUTE,
    route((req) => claim(req, req.params.itemId as string)),
  );
  return r;
}

/**
 * Internal stock routes for order services, to mount under `/internal/v1` behind its bearer check:
 * `POST /item/{itemId}/reservations`, `GET /reservations/{id}`, `POST /reservations/{id}/confirm`,
 * `POST /reservations/{id}/cancel`.
 */
export function createReservationsRouter(stock: StockService): Router {
  const r = express.Router();
  r.post(
    '/item/:itemId/reservations',
    route((req) => stock.reserve(req.params.itemId, req.body, req.headers)),
  );
  r.get(
    '/reservations/:reservationId',
    route((req) => stock.get(req.params.reservationId)),
  );
  r.post(
    '/reservations/:reservationId/confirm',
    route((req) => stock.confirm(req.params.reservationId, req.headers)),
  );
  r.post(
    '/reservations/:reservationId/cancel',
    route((req) => stock.cancel(req.params.reservationId, req.headers)),
  );
  return r;
}
