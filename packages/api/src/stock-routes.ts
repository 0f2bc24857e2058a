import express, { type Router } from 'express';
import { route } from '@waiting-queue/shared';
import type { Identity } from './identity';
import type { StockService } from './stock';

/**
 * Public stock routes: `POST /api/v1/item/{itemId}/claims` (first-come claim on a DIRECT item; userId from the
 * identity: the `user-id` header or a verified JWT).
 */
export function createClaimsRouter(stock: StockService, identity: Identity): Router {
  const r = express.Router();
  r.post(
    '/api/v1/item/:itemId/claims',
    route(async (req) => stock.claim(req.params.itemId, await identity.userId(req.headers))),
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
    route((req) => stock.reserve(req.params.itemId, req.body)),
  );
  r.get(
    '/reservations/:reservationId',
    route((req) => stock.get(req.params.reservationId)),
  );
  r.post(
    '/reservations/:reservationId/confirm',
    route((req) => stock.confirm(req.params.reservationId)),
  );
  r.post(
    '/reservations/:reservationId/cancel',
    route((req) => stock.cancel(req.params.reservationId)),
  );
  return r;
}
