import { adminRoutes, apiRoutes } from '@waiting-queue/http/route-tables';
import { pathOf } from '@waiting-queue/http/routes';
import { call } from './processes';
import { bearer, type Reply } from './waiting-room-client';

/** POST /internal/v1/item/:itemId/reservations with `body` (an order service's reservation). */
export function reserve(apiUrl: string, itemId: string, body: unknown, internalToken?: string): Promise<Reply> {
  return call(apiUrl + pathOf(apiRoutes.reserve, { itemId }, { raw: true }), {
    method: 'POST',
    headers: bearer(internalToken),
    body,
  });
}

/** POST /internal/v1/reservations/:id/confirm or /cancel. */
export function settle(
  apiUrl: string,
  reservationId: string,
  action: 'confirm' | 'cancel',
  internalToken?: string,
): Promise<Reply> {
  return call(
    apiUrl +
      pathOf(
        action === 'confirm' ? apiRoutes.confirmReservation : apiRoutes.cancelReservation,
        { reservationId },
        { raw: true },
      ),
    { method: 'POST', headers: bearer(internalToken) },
  );
}

/** GET /internal/v1/reservations/:id. */
export function getReservation(apiUrl: string, reservationId: string, internalToken?: string): Promise<Reply> {
  return call(apiUrl + pathOf(apiRoutes.getReservation, { reservationId }, { raw: true }), {
    headers: bearer(internalToken),
  });
}

/** POST /internal/admin/v1/waiting-item/:itemId/restock with `body` (normally `{quantity}`). */
export function restock(adminUrl: string, itemId: string, body: unknown, adminToken?: string): Promise<Reply> {
  return call(adminUrl + pathOf(adminRoutes.restock, { itemId }, { raw: true }), {
    method: 'POST',
    headers: bearer(adminToken),
    body,
  });
}

/** POST /api/v1/item/:itemId/claims with header `user-id` (a first-come claim). */
export function claim(apiUrl: string, itemId: string, userId: string): Promise<Reply> {
  return call(apiUrl + pathOf(apiRoutes.claim, { itemId }, { raw: true }), {
    method: 'POST',
    headers: { 'user-id': userId },
  });
}

/** POST /api/v1/item/:itemId/waiting-queue with `user-id` and, when given, the gateway's `user-tier` header. */
export function registerInLane(apiUrl: string, itemId: string, userId: string, tier?: string): Promise<Reply> {
  return call(apiUrl + pathOf(apiRoutes.register, { itemId }, { raw: true }), {
    method: 'POST',
    headers: { 'user-id': userId, ...(tier === undefined ? {} : { 'user-tier': tier }) },
  });
}
