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
  claimRefusalSchema,
  expiredReservationSchema,
  itemRefSchema,
  notOpenSchema,
  registerRefusalSchema,
  reservationStatusRefSchema,
  reserveRefusalSchema,
  auditAnswerSchema,
  consoleOverviewSchema,
  fenceClearResultSchema,
  historyAnswerSchema,
  reservationSchema,
  reservationViewSchema,
  restockResultSchema,
  tokenCountListSchema,
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
    tag: 'public',
    summary: "Register in an item's waiting queue (idempotent: the same user gets the same token and current rank)",
    errors: [
      {
        status: 401,
        errorCodes: ['UNAUTHORIZED'],
        description: 'JWT identity mode: missing, invalid or expired bearer token.',
      },
      {
        status: 409,
        errorCodes: ['ITEM_CANNOT_USE_WAITING_QUEUE', 'ITEM_NOT_OPEN', 'QUEUE_FULL'],
        description:
          'The item is unknown, disabled, sold out or DIRECT (`data.reason`); a TIME_DEAL before its start (`data.opensAt`); or the queue holds maxWaiting users.',
        data: z.union([registerRefusalSchema, notOpenSchema, itemRefSchema]),
      },
      { status: 429, errorCodes: ['TOO_MANY_REQUESTS'], description: 'Over a registration rate limit (RATE_LIMIT_*).' },
    ],
    params: z.object({ itemId: itemIdParam }),
    headers: [userIdHeader, userTierHeader, requestIdHeader],
    data: waitingQueueViewSchema,
    security: 'shopper',
  },
  poll: {
    method: 'get',
    path: '/api/v1/item/{itemId}/waiting-queue/{waitingQueueToken}',
    operationId: 'poll',
    tag: 'public',
    summary: "A shopper's poll of their place (poll again after `pollAfterMs`)",
    errors: [
      {
        status: 401,
        errorCodes: ['UNAUTHORIZED'],
        description: 'JWT identity mode: missing, invalid or expired bearer token.',
      },
      { status: 403, errorCodes: ['TOKEN_MISMATCH'], description: 'The token belongs to another user or item.' },
      {
        status: 404,
        errorCodes: ['WAITING_QUEUE_NOT_FOUND'],
        description: 'Unknown, consumed or expired token, or unknown item.',
      },
    ],
    params: z.object({ itemId: itemIdParam, waitingQueueToken: waitingQueueTokenParam }),
    headers: [userIdHeader, requestIdHeader],
    data: waitingQueueViewSchema,
    security: 'shopper',
  },
  claim: {
    method: 'post',
    path: '/api/v1/item/{itemId}/claims',
    operationId: 'claim',
    tag: 'public',
    summary: 'A first-come claim on a DIRECT item: at most the stock in total, one per user',
    description:
      'With an Idempotency-Key, only an issued claim is recorded: a refusal (409, 404) changed nothing, so a retry with the same key asks again (e.g. once a TIME_DEAL opens).',
    errors: [
      {
        status: 401,
        errorCodes: ['UNAUTHORIZED'],
        description: 'JWT identity mode: missing, invalid or expired bearer token.',
      },
      { status: 404, errorCodes: ['WAITING_ITEM_NOT_FOUND'], description: 'No such item.' },
      {
        status: 409,
        errorCodes: [
          'SOLD_OUT',
          'ALREADY_CLAIMED',
          'ITEM_NOT_DIRECT',
          'ITEM_CANNOT_USE_WAITING_QUEUE',
          'ITEM_NOT_OPEN',
        ],
        description:
          'Sold out; this user holds a claim already (`data.claimId`); not a DIRECT item; disabled; or a TIME_DEAL before its start.',
        data: claimRefusalSchema,
      },
    ],
    params: z.object({ itemId: itemIdParam }),
    headers: [userIdHeader, requestIdHeader, idempotencyKeyHeader],
    data: claimViewSchema,
    security: 'shopper',
  },
  getPublicItem: {
    method: 'get',
    path: '/api/v1/item/{itemId}',
    operationId: 'getPublicItem',
    tag: 'public',
    summary: 'What the waiting-room page shows of an item',
    errors: [{ status: 404, errorCodes: ['WAITING_ITEM_NOT_FOUND'], description: 'No such item.' }],
    params: z.object({ itemId: itemIdParam }),
    headers: [requestIdHeader],
    data: publicItemViewSchema,
    security: 'public',
  },
  waitingRoomPage: {
    method: 'get',
    path: '/waiting-room/{itemId}',
    operationId: 'waitingRoomPage',
    tag: 'pages',
    summary: "The shoppers' waiting-room page (HTML; the userId comes from the gateway's `user-id` header or cookie)",
    html: true,
    params: z.object({ itemId: anyPathParam }),
    headers: [requestIdHeader],
    security: 'public',
  },
  waitingRoomAsset: {
    method: 'get',
    path: '/waiting-room-assets/{file}',
    operationId: 'waitingRoomAsset',
    tag: 'pages',
    summary: "The waiting-room page's CSS and JavaScript",
    params: z.object({ file: anyPathParam }),
    security: 'public',
    static: true,
  },
  jwks: {
    method: 'get',
    path: '/.well-known/jwks.json',
    operationId: 'jwks',
    security: 'public',
    tag: 'public',
    summary: 'Public keys of the entry passes (RFC 7517 JWK Set; not the envelope)',
  },
  validate: {
    method: 'get',
    path: `${INTERNAL_PREFIX}/item/{itemId}/waiting-queue/{waitingQueueToken}`,
    operationId: 'validate',
    tag: 'internal',
    summary: "An order service's check of a token",
    errors: [
      { status: 403, errorCodes: ['TOKEN_MISMATCH'], description: 'The token belongs to another item.' },
      {
        status: 404,
        errorCodes: ['WAITING_QUEUE_NOT_FOUND'],
        description: 'Unknown, consumed or expired token, or unknown item.',
      },
    ],
    params: z.object({ itemId: itemIdParam, waitingQueueToken: waitingQueueTokenParam }),
    headers: [requestIdHeader],
    data: validationViewSchema,
    security: 'internal',
  },
  consume: {
    method: 'post',
    path: `${INTERNAL_PREFIX}/item/{itemId}/waiting-queue/{waitingQueueToken}/consume`,
    operationId: 'consume',
    tag: 'internal',
    summary: 'Consume an admission, once (the order is being placed)',
    errors: [
      { status: 403, errorCodes: ['TOKEN_MISMATCH'], description: 'The token belongs to another item.' },
      {
        status: 409,
        errorCodes: ['NOT_ADMITTED'],
        description: 'Not admitted: waiting, expired, already consumed or unknown.',
      },
    ],
    params: z.object({ itemId: itemIdParam, waitingQueueToken: waitingQueueTokenParam }),
    headers: [requestIdHeader, idempotencyKeyHeader],
    data: consumeResultSchema,
    security: 'internal',
  },
  reserve: {
    method: 'post',
    path: `${INTERNAL_PREFIX}/item/{itemId}/reservations`,
    operationId: 'reserve',
    tag: 'internal',
    summary: 'Reserve stock with an admitted token (consumes the admission; PENDING until confirmed or expired)',
    errors: [
      {
        status: 403,
        errorCodes: ['TOKEN_MISMATCH', 'NOT_ADMITTED'],
        description:
          "The token is another user's or item's (TOKEN_MISMATCH), or not admitted, expired or used (NOT_ADMITTED).",
      },
      {
        status: 409,
        errorCodes: ['LIMIT_EXCEEDED', 'INSUFFICIENT_STOCK'],
        description:
          'Over maxPerUser minus what the user holds (`data.maxPerUser`, `data.held`), or not enough stock (`data.remainCount`).',
        data: reserveRefusalSchema,
      },
    ],
    params: z.object({ itemId: itemIdParam }),
    headers: [requestIdHeader, idempotencyKeyHeader],
    body: reservationInputComponent,
    data: reservationViewSchema,
    security: 'internal',
  },
  getReservation: {
    method: 'get',
    path: `${INTERNAL_PREFIX}/reservations/{reservationId}`,
    operationId: 'getReservation',
    tag: 'internal',
    summary: 'A reservation',
    errors: [
      { status: 404, errorCodes: ['RESERVATION_NOT_FOUND'], description: 'Unknown, or purged after the retention.' },
    ],
    params: z.object({ reservationId: reservationIdParam }),
    headers: [requestIdHeader],
    data: reservationSchema,
    security: 'internal',
  },
  confirmReservation: {
    method: 'post',
    path: `${INTERNAL_PREFIX}/reservations/{reservationId}/confirm`,
    operationId: 'confirmReservation',
    tag: 'internal',
    summary: 'PENDING -> CONFIRMED (idempotent on a confirmed one)',
    errors: [
      { status: 404, errorCodes: ['RESERVATION_NOT_FOUND'], description: 'Unknown reservation.' },
      {
        status: 409,
        errorCodes: ['RESERVATION_NOT_PENDING'],
        description: 'Cancelled (`data.status`).',
        data: reservationStatusRefSchema,
      },
      {
        status: 410,
        errorCodes: ['RESERVATION_EXPIRED'],
        description: 'Expired: its stock went back.',
        data: expiredReservationSchema,
      },
    ],
    params: z.object({ reservationId: reservationIdParam }),
    headers: [requestIdHeader, idempotencyKeyHeader],
    data: reservationSchema,
    security: 'internal',
  },
  cancelReservation: {
    method: 'post',
    path: `${INTERNAL_PREFIX}/reservations/{reservationId}/cancel`,
    operationId: 'cancelReservation',
    tag: 'internal',
    summary: 'PENDING -> CANCELLED, restoring the stock (idempotent on a cancelled one)',
    errors: [
      { status: 404, errorCodes: ['RESERVATION_NOT_FOUND'], description: 'Unknown reservation.' },
      {
        status: 409,
        errorCodes: ['RESERVATION_NOT_PENDING'],
        description: 'Confirmed (`data.status`).',
        data: reservationStatusRefSchema,
      },
      {
        status: 410,
        errorCodes: ['RESERVATION_EXPIRED'],
        description: 'Expired: its stock went back.',
        data: expiredReservationSchema,
      },
    ],
    params: z.object({ reservationId: reservationIdParam }),
    headers: [requestIdHeader, idempotencyKeyHeader],
    data: reservationSchema,
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
    tag: 'admin',
    summary: 'The global N (tokens admitted per item per tick)',
    headers: [requestIdHeader],
    data: tokenCountToMoveSchema,
    security: 'admin',
  },
  setTokenCountToMove: {
    method: 'put',
    path: `${ADMIN_PREFIX}/waiting-queue/token-count-to-move`,
    operationId: 'setTokenCountToMove',
    tag: 'admin',
    summary: 'Sets the global N for every scheduler from the next tick (0 pauses admission)',
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
    tag: 'admin',
    summary: 'Waiting and admitted counts of every registered item',
    headers: [requestIdHeader],
    data: tokenCountListSchema,
    security: 'admin',
  },
  searchTokenCounts: {
    method: 'post',
    path: `${ADMIN_PREFIX}/waiting-queue/token-count`,
    operationId: 'searchTokenCounts',
    tag: 'admin',
    summary: 'Waiting and admitted counts of the listed items (or all)',
    headers: [requestIdHeader],
    body: tokenCountSearchSchema,
    bodyRequired: false,
    data: tokenCountListSchema,
    security: 'admin',
  },
  upsertWaitingItem: {
    method: 'post',
    path: `${ADMIN_PREFIX}/waiting-item/{itemId}/manually`,
    operationId: 'upsertWaitingItem',
    tag: 'admin',
    summary: 'Creates or updates a waiting item and registers it for admission',
    description:
      'With `If-Match`, the update applies only if the item is unchanged since the GET that gave the ETag: without `remainCount` the ' +
      'settings version is compared (claims and reservations meanwhile do not refuse it), with `remainCount` the stock too. Setting ' +
      '`remainCount` of an existing item needs `If-Match` (a blind set would undo claims and reservations); a restock adds units without it.',
    errors: [
      {
        status: 412,
        errorCodes: ['PRECONDITION_FAILED'],
        description:
          'If-Match does not match the item (changed since, or missing), or remainCount of an existing item without If-Match.',
      },
    ],
    params: z.object({ itemId: itemIdParam }),
    headers: [ifMatchHeader, requestIdHeader, idempotencyKeyHeader],
    body: waitingItemInputComponent,
    security: 'admin',
  },
  getWaitingItem: {
    method: 'get',
    path: `${ADMIN_PREFIX}/waiting-item/{itemId}`,
    operationId: 'getWaitingItem',
    tag: 'admin',
    summary: 'A waiting item',
    errors: [{ status: 404, errorCodes: ['WAITING_ITEM_NOT_FOUND'], description: 'No such item.' }],
    params: z.object({ itemId: itemIdParam }),
    headers: [requestIdHeader],
    security: 'admin',
  },
  restock: {
    method: 'post',
    path: `${ADMIN_PREFIX}/waiting-item/{itemId}/restock`,
    operationId: 'restock',
    tag: 'admin',
    summary: 'Adds stock; a sold-out queue reopens',
    errors: [{ status: 404, errorCodes: ['WAITING_ITEM_NOT_FOUND'], description: 'No such item.' }],
    params: z.object({ itemId: itemIdParam }),
    headers: [requestIdHeader, idempotencyKeyHeader],
    body: restockInputSchema,
    data: restockResultSchema,
    security: 'admin',
  },
  clearFence: {
    method: 'post',
    path: `${ADMIN_PREFIX}/waiting-item/{itemId}/fence/clear`,
    operationId: 'clearFence',
    tag: 'admin',
    summary:
      'Clears a stuck admission fence (more than one tick ahead of Redis time); a fence that is not stuck is kept',
    errors: [{ status: 404, errorCodes: ['WAITING_ITEM_NOT_FOUND'], description: 'No such item.' }],
    params: z.object({ itemId: itemIdParam }),
    headers: [requestIdHeader],
    data: fenceClearResultSchema,
    security: 'admin',
  },
  adminConsole: {
    method: 'get',
    path: '/admin',
    operationId: 'adminConsole',
    html: true,
    security: 'public',
    tag: 'pages',
    summary: "The operators' console (HTML; asks for the admin token and calls the admin API with it)",
  },
  adminConsoleAsset: {
    method: 'get',
    path: '/admin/assets/{file}',
    operationId: 'adminConsoleAsset',
    tag: 'pages',
    summary: "The console's CSS and JavaScript",
    params: z.object({ file: anyPathParam }),
    security: 'public',
    static: true,
  },
  adminConsoleVendorAsset: {
    method: 'get',
    path: '/admin/vendor/{file}',
    operationId: 'adminConsoleVendorAsset',
    tag: 'pages',
    summary: "The console's chart library (uPlot's dist/ files, served from node_modules)",
    params: z.object({ file: anyPathParam }),
    security: 'public',
    static: true,
  },
  getOverview: {
    method: 'get',
    path: `${ADMIN_PREFIX}/overview`,
    operationId: 'getOverview',
    tag: 'admin',
    summary: "Everything the console's table shows: items, counts, admission rates, N",
    headers: [requestIdHeader],
    data: consoleOverviewSchema,
    security: 'admin',
  },
  getHistory: {
    method: 'get',
    path: `${ADMIN_PREFIX}/history`,
    operationId: 'getHistory',
    tag: 'admin',
    summary:
      "The console charts' per-tick samples of the last 15 minutes (kept in Redis), of one item or summed over all",
    headers: [requestIdHeader],
    query: historyQuerySchema,
    data: historyAnswerSchema,
    security: 'admin',
  },
  getAudit: {
    method: 'get',
    path: `${ADMIN_PREFIX}/audit`,
    operationId: 'getAudit',
    tag: 'admin',
    summary:
      'The newest admin changes (N, pause/resume, item upserts, enable/disable, restocks, fence clears), newest first',
    headers: [requestIdHeader],
    query: auditQuerySchema,
    data: auditAnswerSchema,
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
  liveness: {
    method: 'get',
    path: '/health/live',
    operationId: 'liveness',
    security: 'public',
    tag: 'operations',
    summary: 'Liveness (@godaddy/terminus; not the envelope)',
  },
  readiness: {
    method: 'get',
    path: '/health/ready',
    operationId: 'readiness',
    security: 'public',
    tag: 'operations',
    summary: 'Readiness (@godaddy/terminus; not the envelope)',
  },
  metrics: {
    method: 'get',
    path: '/metrics',
    operationId: 'metrics',
    security: 'metrics',
    tag: 'operations',
    summary: 'Prometheus metrics (text exposition format; bearer METRICS_TOKEN when set, else open for the scraper)',
  },
  openapi: {
    method: 'get',
    path: '/openapi.json',
    operationId: 'openapi',
    security: 'public',
    tag: 'operations',
    summary: 'This document',
  },
});
