import { defineRoutes } from '@waiting-queue/shared';

/**
 * Every route of the api, declared once: app.ts registers them on express with their handlers, fast-path.ts builds
 * its matchers from the hot ones, the HTTP metrics label requests by their templates (`expressPath`), and callers
 * build URLs with `pathOf`. `/metrics`, `/openapi.json` and `/health/*` are the built-in routes of both servers.
 */
export const apiRoutes = defineRoutes({
  register: { method: 'post', path: '/api/v1/item/{itemId}/waiting-queue', operationId: 'register', security: 'shopper' },
  poll: { method: 'get', path: '/api/v1/item/{itemId}/waiting-queue/{waitingQueueToken}', operationId: 'poll', security: 'shopper' },
  claim: { method: 'post', path: '/api/v1/item/{itemId}/claims', operationId: 'claim', security: 'shopper' },
  getPublicItem: { method: 'get', path: '/api/v1/item/{itemId}', operationId: 'getPublicItem', security: 'public' },
  waitingRoomPage: { method: 'get', path: '/waiting-room/{itemId}', operationId: 'waitingRoomPage', security: 'public' },
  jwks: { method: 'get', path: '/.well-known/jwks.json', operationId: 'jwks', security: 'public' },
  validate: { method: 'get', path: '/internal/v1/item/{itemId}/waiting-queue/{waitingQueueToken}', operationId: 'validate', security: 'internal' },
  consume: { method: 'post', path: '/internal/v1/item/{itemId}/waiting-queue/{waitingQueueToken}/consume', operationId: 'consume', security: 'internal' },
  reserve: { method: 'post', path: '/internal/v1/item/{itemId}/reservations', operationId: 'reserve', security: 'internal' },
  getReservation: { method: 'get', path: '/internal/v1/reservations/{reservationId}', operationId: 'getReservation', security: 'internal' },
  confirmReservation: { method: 'post', path: '/internal/v1/reservations/{reservationId}/confirm', operationId: 'confirmReservation', security: 'internal' },
  cancelReservation: { method: 'post', path: '/internal/v1/reservations/{reservationId}/cancel', operationId: 'cancelReservation', security: 'internal' },
});

/** Name of an api route (a key of {@link apiRoutes}). */
export type ApiRouteName = keyof typeof apiRoutes;

/** Mount of the internal API: every route under it answers 401 without the bearer (INTERNAL_TOKEN), matched or not. */
export const INTERNAL_PREFIX = '/internal/v1';
