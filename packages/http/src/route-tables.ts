import { defineRoutes } from './routes';
import {
  auditQuerySchema,
  claimViewSchema,
  consumeResultSchema,
  historyQuerySchema,
  publicItemViewSchema,
  reservationInputComponent,
  restockInputSchema,
  tokenCountSearchSchema,
  tokenCountToMoveQuerySchema,
  tokenCountToMoveSchema,
  validationViewSchema,
  waitingItemInputComponent,
  waitingQueueViewSchema,
} from './views';

/**
 * The route tables of both servers, declared once: method, path template, operationId and security of every route,
 * and the zod schemas (views.ts) of the query and body it reads and the `data` it answers. The services register
 * their handlers by route name (`registerRoutes`) and parse their inputs with the route's schemas (`parseOr400`),
 * the api's fast path builds its matchers from them (`pathRegExp`), the HTTP metrics label requests by their
 * templates (`expressPath`), callers build URLs with `pathOf`, and the OpenAPI document (openapi.ts) takes its
 * paths, methods, operationIds, security, request bodies and success schemas from them. They live here, not in the services, because both servers serve the one document of both.
 */

/** Mount of the internal API: every path under it answers 401 without the bearer (INTERNAL_TOKEN), matched or not. */
export const INTERNAL_PREFIX = '/internal/v1';
/** Mount of the admin API: every path under it answers 401 without the bearer (ADMIN_TOKEN), matched or not. */
export const ADMIN_PREFIX = '/internal/admin/v1';

/** Every route of the api (API_PORT). */
export const apiRoutes = defineRoutes({
  register: {
    method: 'post',
    path: '/api/v1/item/{itemId}/waiting-queue',
    operationId: 'register',
    data: waitingQueueViewSchema,
    security: 'shopper',
  },
  poll: {
    method: 'get',
    path: '/api/v1/item/{itemId}/waiting-queue/{waitingQueueToken}',
    operationId: 'poll',
    data: waitingQueueViewSchema,
    security: 'shopper',
  },
  claim: {
    method: 'post',
    path: '/api/v1/item/{itemId}/claims',
    operationId: 'claim',
    data: claimViewSchema,
    security: 'shopper',
  },
  getPublicItem: {
    method: 'get',
    path: '/api/v1/item/{itemId}',
    operationId: 'getPublicItem',
    data: publicItemViewSchema,
    security: 'public',
  },
  waitingRoomPage: {
    method: 'get',
    path: '/waiting-room/{itemId}',
    operationId: 'waitingRoomPage',
    security: 'public',
  },
  waitingRoomAsset: {
    method: 'get',
    path: '/waiting-room-assets/{file}',
    operationId: 'waitingRoomAsset',
    security: 'public',
    static: true,
  },
  jwks: { method: 'get', path: '/.well-known/jwks.json', operationId: 'jwks', security: 'public' },
  validate: {
    method: 'get',
    path: `${INTERNAL_PREFIX}/item/{itemId}/waiting-queue/{waitingQueueToken}`,
    operationId: 'validate',
    data: validationViewSchema,
    security: 'internal',
  },
  consume: {
    method: 'post',
    path: `${INTERNAL_PREFIX}/item/{itemId}/waiting-queue/{waitingQueueToken}/consume`,
    operationId: 'consume',
    data: consumeResultSchema,
    security: 'internal',
  },
  reserve: {
    method: 'post',
    path: `${INTERNAL_PREFIX}/item/{itemId}/reservations`,
    operationId: 'reserve',
    body: reservationInputComponent,
    security: 'internal',
  },
  getReservation: {
    method: 'get',
    path: `${INTERNAL_PREFIX}/reservations/{reservationId}`,
    operationId: 'getReservation',
    security: 'internal',
  },
  confirmReservation: {
    method: 'post',
    path: `${INTERNAL_PREFIX}/reservations/{reservationId}/confirm`,
    operationId: 'confirmReservation',
    security: 'internal',
  },
  cancelReservation: {
    method: 'post',
    path: `${INTERNAL_PREFIX}/reservations/{reservationId}/cancel`,
    operationId: 'cancelReservation',
    security: 'internal',
  },
});

/** Name of an api route (a key of {@link apiRoutes}). */
export type ApiRouteName = keyof typeof apiRoutes;

/** Every route of the scheduler's admin server (ADMIN_HOST:ADMIN_PORT). */
export const adminRoutes = defineRoutes({
  getTokenCountToMove: {
    method: 'get',
    path: `${ADMIN_PREFIX}/waiting-queue/token-count-to-move`,
    operationId: 'getTokenCountToMove',
    data: tokenCountToMoveSchema,
    security: 'admin',
  },
  setTokenCountToMove: {
    method: 'put',
    path: `${ADMIN_PREFIX}/waiting-queue/token-count-to-move`,
    operationId: 'setTokenCountToMove',
    query: tokenCountToMoveQuerySchema,
    body: tokenCountToMoveSchema,
    bodyRequired: false,
    data: tokenCountToMoveSchema,
    security: 'admin',
  },
  getTokenCounts: {
    method: 'get',
    path: `${ADMIN_PREFIX}/waiting-queue/token-count`,
    operationId: 'getTokenCounts',
    security: 'admin',
  },
  searchTokenCounts: {
    method: 'post',
    path: `${ADMIN_PREFIX}/waiting-queue/token-count`,
    operationId: 'searchTokenCounts',
    body: tokenCountSearchSchema,
    bodyRequired: false,
    security: 'admin',
  },
  upsertWaitingItem: {
    method: 'post',
    path: `${ADMIN_PREFIX}/waiting-item/{itemId}/manually`,
    operationId: 'upsertWaitingItem',
    body: waitingItemInputComponent,
    security: 'admin',
  },
  getWaitingItem: {
    method: 'get',
    path: `${ADMIN_PREFIX}/waiting-item/{itemId}`,
    operationId: 'getWaitingItem',
    security: 'admin',
  },
  restock: {
    method: 'post',
    path: `${ADMIN_PREFIX}/waiting-item/{itemId}/restock`,
    operationId: 'restock',
    body: restockInputSchema,
    security: 'admin',
  },
  clearFence: {
    method: 'post',
    path: `${ADMIN_PREFIX}/waiting-item/{itemId}/fence/clear`,
    operationId: 'clearFence',
    security: 'admin',
  },
  adminConsole: { method: 'get', path: '/admin', operationId: 'adminConsole', security: 'public' },
  adminConsoleAsset: {
    method: 'get',
    path: '/admin/assets/{file}',
    operationId: 'adminConsoleAsset',
    security: 'public',
    static: true,
  },
  adminConsoleVendorAsset: {
    method: 'get',
    path: '/admin/vendor/{file}',
    operationId: 'adminConsoleVendorAsset',
    security: 'public',
    static: true,
  },
  getOverview: { method: 'get', path: `${ADMIN_PREFIX}/overview`, operationId: 'getOverview', security: 'admin' },
  getHistory: {
    method: 'get',
    path: `${ADMIN_PREFIX}/history`,
    operationId: 'getHistory',
    query: historyQuerySchema,
    security: 'admin',
  },
  getAudit: {
    method: 'get',
    path: `${ADMIN_PREFIX}/audit`,
    operationId: 'getAudit',
    query: auditQuerySchema,
    security: 'admin',
  },
});

/** Name of an admin-server route (a key of {@link adminRoutes}). */
export type AdminRouteName = keyof typeof adminRoutes;

/**
 * The built-in routes of both servers: `/health/*` (terminus, before any other listener), `/metrics` and
 * `/openapi.json` (observed-server.ts; HEAD answers as GET).
 */
export const builtinRoutes = defineRoutes({
  liveness: { method: 'get', path: '/health/live', operationId: 'liveness', security: 'public' },
  readiness: { method: 'get', path: '/health/ready', operationId: 'readiness', security: 'public' },
  metrics: { method: 'get', path: '/metrics', operationId: 'metrics', security: 'metrics' },
  openapi: { method: 'get', path: '/openapi.json', operationId: 'openapi', security: 'public' },
});
