import { defineRoutes } from './routes';
import { z } from 'zod';
import {
  anyPathParam,
  idempotencyKeyHeader,
  ifMatchHeader,
  itemIdParam,
  requestIdHeader,
  reservationIdParam,
  userIdHeader,
  userTierHeader,
  waitingQueueTokenParam,
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
    params: z.object({ itemId: itemIdParam }),
    headers: [userIdHeader, userTierHeader, requestIdHeader],
    data: waitingQueueViewSchema,
    security: 'shopper',
  },
  poll: {
    method: 'get',
    path: '/api/v1/item/{itemId}/waiting-queue/{waitingQueueToken}',
    operationId: 'poll',
    params: z.object({ itemId: itemIdParam, waitingQueueToken: waitingQueueTokenParam }),
    headers: [userIdHeader, requestIdHeader],
    data: waitingQueueViewSchema,
    security: 'shopper',
  },
  claim: {
    method: 'post',
    path: '/api/v1/item/{itemId}/claims',
    operationId: 'claim',
    params: z.object({ itemId: itemIdParam }),
    headers: [userIdHeader, requestIdHeader, idempotencyKeyHeader],
    data: claimViewSchema,
    security: 'shopper',
  },
  getPublicItem: {
    method: 'get',
    path: '/api/v1/item/{itemId}',
    operationId: 'getPublicItem',
    params: z.object({ itemId: itemIdParam }),
    headers: [requestIdHeader],
    data: publicItemViewSchema,
    security: 'public',
  },
  waitingRoomPage: {
    method: 'get',
    path: '/waiting-room/{itemId}',
    operationId: 'waitingRoomPage',
    html: true,
    params: z.object({ itemId: anyPathParam }),
    headers: [requestIdHeader],
    security: 'public',
  },
  waitingRoomAsset: {
    method: 'get',
    path: '/waiting-room-assets/{file}',
    operationId: 'waitingRoomAsset',
    params: z.object({ file: anyPathParam }),
    security: 'public',
    static: true,
  },
  jwks: { method: 'get', path: '/.well-known/jwks.json', operationId: 'jwks', security: 'public' },
  validate: {
    method: 'get',
    path: `${INTERNAL_PREFIX}/item/{itemId}/waiting-queue/{waitingQueueToken}`,
    operationId: 'validate',
    params: z.object({ itemId: itemIdParam, waitingQueueToken: waitingQueueTokenParam }),
    headers: [requestIdHeader],
    data: validationViewSchema,
    security: 'internal',
  },
  consume: {
    method: 'post',
    path: `${INTERNAL_PREFIX}/item/{itemId}/waiting-queue/{waitingQueueToken}/consume`,
    operationId: 'consume',
    params: z.object({ itemId: itemIdParam, waitingQueueToken: waitingQueueTokenParam }),
    headers: [requestIdHeader, idempotencyKeyHeader],
    data: consumeResultSchema,
    security: 'internal',
  },
  reserve: {
    method: 'post',
    path: `${INTERNAL_PREFIX}/item/{itemId}/reservations`,
    operationId: 'reserve',
    params: z.object({ itemId: itemIdParam }),
    headers: [requestIdHeader, idempotencyKeyHeader],
    body: reservationInputComponent,
    security: 'internal',
  },
  getReservation: {
    method: 'get',
    path: `${INTERNAL_PREFIX}/reservations/{reservationId}`,
    operationId: 'getReservation',
    params: z.object({ reservationId: reservationIdParam }),
    headers: [requestIdHeader],
    security: 'internal',
  },
  confirmReservation: {
    method: 'post',
    path: `${INTERNAL_PREFIX}/reservations/{reservationId}/confirm`,
    operationId: 'confirmReservation',
    params: z.object({ reservationId: reservationIdParam }),
    headers: [requestIdHeader, idempotencyKeyHeader],
    security: 'internal',
  },
  cancelReservation: {
    method: 'post',
    path: `${INTERNAL_PREFIX}/reservations/{reservationId}/cancel`,
    operationId: 'cancelReservation',
    params: z.object({ reservationId: reservationIdParam }),
    headers: [requestIdHeader, idempotencyKeyHeader],
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
    headers: [requestIdHeader],
    data: tokenCountToMoveSchema,
    security: 'admin',
  },
  setTokenCountToMove: {
    method: 'put',
    path: `${ADMIN_PREFIX}/waiting-queue/token-count-to-move`,
    operationId: 'setTokenCountToMove',
    headers: [requestIdHeader, idempotencyKeyHeader],
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
    headers: [requestIdHeader],
    security: 'admin',
  },
  searchTokenCounts: {
    method: 'post',
    path: `${ADMIN_PREFIX}/waiting-queue/token-count`,
    operationId: 'searchTokenCounts',
    headers: [requestIdHeader],
    body: tokenCountSearchSchema,
    bodyRequired: false,
    security: 'admin',
  },
  upsertWaitingItem: {
    method: 'post',
    path: `${ADMIN_PREFIX}/waiting-item/{itemId}/manually`,
    operationId: 'upsertWaitingItem',
    params: z.object({ itemId: itemIdParam }),
    headers: [ifMatchHeader, requestIdHeader, idempotencyKeyHeader],
    body: waitingItemInputComponent,
    security: 'admin',
  },
  getWaitingItem: {
    method: 'get',
    path: `${ADMIN_PREFIX}/waiting-item/{itemId}`,
    operationId: 'getWaitingItem',
    params: z.object({ itemId: itemIdParam }),
    headers: [requestIdHeader],
    security: 'admin',
  },
  restock: {
    method: 'post',
    path: `${ADMIN_PREFIX}/waiting-item/{itemId}/restock`,
    operationId: 'restock',
    params: z.object({ itemId: itemIdParam }),
    headers: [requestIdHeader, idempotencyKeyHeader],
    body: restockInputSchema,
    security: 'admin',
  },
  clearFence: {
    method: 'post',
    path: `${ADMIN_PREFIX}/waiting-item/{itemId}/fence/clear`,
    operationId: 'clearFence',
    params: z.object({ itemId: itemIdParam }),
    headers: [requestIdHeader],
    security: 'admin',
  },
  adminConsole: { method: 'get', path: '/admin', operationId: 'adminConsole', html: true, security: 'public' },
  adminConsoleAsset: {
    method: 'get',
    path: '/admin/assets/{file}',
    operationId: 'adminConsoleAsset',
    params: z.object({ file: anyPathParam }),
    security: 'public',
    static: true,
  },
  adminConsoleVendorAsset: {
    method: 'get',
    path: '/admin/vendor/{file}',
    operationId: 'adminConsoleVendorAsset',
    params: z.object({ file: anyPathParam }),
    security: 'public',
    static: true,
  },
  getOverview: {
    method: 'get',
    path: `${ADMIN_PREFIX}/overview`,
    operationId: 'getOverview',
    headers: [requestIdHeader],
    security: 'admin',
  },
  getHistory: {
    method: 'get',
    path: `${ADMIN_PREFIX}/history`,
    operationId: 'getHistory',
    headers: [requestIdHeader],
    query: historyQuerySchema,
    security: 'admin',
  },
  getAudit: {
    method: 'get',
    path: `${ADMIN_PREFIX}/audit`,
    operationId: 'getAudit',
    headers: [requestIdHeader],
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
