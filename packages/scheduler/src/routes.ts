import { defineRoutes } from '@waiting-queue/shared';

/** Mount of the admin API: every path under it answers 401 without the bearer (ADMIN_TOKEN), matched or not. */
export const ADMIN_PREFIX = '/internal/admin/v1';

/**
 * Every route of the scheduler's admin server, declared once: admin-app.ts and console.ts register them on express
 * with their handlers, and the HTTP metrics label requests by their templates (`expressPath`). Static asset mounts
 * (`/admin/assets`, `/admin/vendor`) and the built-in routes (`/metrics`, `/openapi.json`, `/health/*`) are not here.
 */
export const adminRoutes = defineRoutes({
  getTokenCountToMove: { method: 'get', path: `${ADMIN_PREFIX}/waiting-queue/token-count-to-move`, operationId: 'getTokenCountToMove', security: 'admin' },
  setTokenCountToMove: { method: 'put', path: `${ADMIN_PREFIX}/waiting-queue/token-count-to-move`, operationId: 'setTokenCountToMove', security: 'admin' },
  getTokenCounts: { method: 'get', path: `${ADMIN_PREFIX}/waiting-queue/token-count`, operationId: 'getTokenCounts', security: 'admin' },
  searchTokenCounts: { method: 'post', path: `${ADMIN_PREFIX}/waiting-queue/token-count`, operationId: 'searchTokenCounts', security: 'admin' },
  upsertWaitingItem: { method: 'post', path: `${ADMIN_PREFIX}/waiting-item/{itemId}/manually`, operationId: 'upsertWaitingItem', security: 'admin' },
  getWaitingItem: { method: 'get', path: `${ADMIN_PREFIX}/waiting-item/{itemId}`, operationId: 'getWaitingItem', security: 'admin' },
  restock: { method: 'post', path: `${ADMIN_PREFIX}/waiting-item/{itemId}/restock`, operationId: 'restock', security: 'admin' },
  clearFence: { method: 'post', path: `${ADMIN_PREFIX}/waiting-item/{itemId}/fence/clear`, operationId: 'clearFence', security: 'admin' },
  adminConsole: { method: 'get', path: '/admin', operationId: 'adminConsole', security: 'public' },
  getOverview: { method: 'get', path: `${ADMIN_PREFIX}/overview`, operationId: 'getOverview', security: 'admin' },
  getHistory: { method: 'get', path: `${ADMIN_PREFIX}/history`, operationId: 'getHistory', security: 'admin' },
  getAudit: { method: 'get', path: `${ADMIN_PREFIX}/audit`, operationId: 'getAudit', security: 'admin' },
});

/** Name of an admin-server route (a key of {@link adminRoutes}). */
export type AdminRouteName = keyof typeof adminRoutes;
