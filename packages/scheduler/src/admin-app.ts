import express, { type Express, type Request, type RequestHandler } from 'express';
import { WqError, isRedisUnavailable } from '@waiting-queue/core/errors';
import { requireId } from '@waiting-queue/core/ids';
import { ItemUpsertRefused, type ItemStore } from '@waiting-queue/core/item-store';
import { type Logger } from '@waiting-queue/core/logger';
import { type QueueStore } from '@waiting-queue/core/queue-store';
import { success } from '@waiting-queue/http/envelope';
import {
  bearerAuth,
  registerRoutes,
  errorHandler,
  notFound,
  parseOr400,
  rejectNonJsonBody,
  route,
  sendJson,
} from '@waiting-queue/http/http';
import { idempotentRequest, parseItemIfMatch } from '@waiting-queue/http/request-headers';
import { markRoute } from '@waiting-queue/http/request-log';
import type { TokenCountList } from '@waiting-queue/http/views';
import { ADMIN_PREFIX, adminRoutes, type AdminRouteName } from '@waiting-queue/http/route-tables';
import { orLastKnown } from './last-known';
import { restockHandler } from './admin-stock';
import { clearFenceHandler } from './admin-fence';

import { auditActor, type AuditLog, type AuditRecorder } from './audit';

/** What the admin app needs. */
export interface AdminAppOptions {
  items: ItemStore;
  queue: QueueStore;
  logger: Logger;
  /** Global N used until one is stored in Redis. */
  defaultTokenCountToMove: number;
  /** Bearer token of the admin API; undefined: no auth (development only). */
  adminToken?: string;
  bodyLimitBytes: number;
  /** The operators' console (`/admin`, see console.ts), mounted before the 404 when given. */
  console?: RequestHandler;
  /** Serves `POST /waiting-item/{itemId}/restock` (admin-stock.ts, through `items`) when true. */
  restock?: boolean;
  /** Admission tick interval, milliseconds: serves `POST /waiting-item/{itemId}/fence/clear` (admin-fence.ts) when given. */
  tickMs?: number;
  /** The admin audit trail (audit.ts): every change through this app is recorded there when given. */
  audit?: AuditLog;
}

/** The fields of `after` whose value differs from `before`'s, each side with only those fields (null: absent). */
function changedFields(
  before: Record<string, unknown> | null,
  after: Record<string, unknown>,
): { before: Record<string, unknown> | null; after: Record<string, unknown> } | null {
  if (!before) return { before: null, after };
  const b: Record<string, unknown> = {};
  const a: Record<string, unknown> = {};
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (JSON.stringify(before[k] ?? null) === JSON.stringify(after[k] ?? null)) continue;
    b[k] = before[k] ?? null;
    a[k] = after[k] ?? null;
  }
  return Object.keys(a).length === 0 ? null : { before: b, after: a };
}

/**
 * N from `?tokenCountToMove=N` (decimal digits only; wins) or a JSON body `{tokenCountToMove: N}` (the route's
 * schemas).
 * @throws WqError 400 `INVALID_PARAMETER` (with `data.fields`) when neither holds a valid N.
 */
function tokenCountFrom(req: Request): number {
  const route = adminRoutes.setTokenCountToMove;
  const q = parseOr400(route.query, req.query, 'query').tokenCountToMove;
  if (q !== undefined) return parseOr400(route.body.shape.tokenCountToMove, Number(q), 'tokenCountToMove');
  return parseOr400(route.body, req.body ?? {}, 'body').tokenCountToMove;
}

/** The HTTP answer to an upsert ItemStore refused: 412 for a failed precondition, 400 for input that cannot be stored. */
function upsertRefusalToHttp(err: unknown): unknown {
  if (!(err instanceof ItemUpsertRefused)) return err;
  const precondition = err.reason === 'ITEM_CHANGED' || err.reason === 'STOCK_NEEDS_IF_MATCH';
  return new WqError(precondition ? 'PRECONDITION_FAILED' : 'INVALID_PARAMETER', err.message);
}

/** Like `route()`, for a route answering one item: its ETag goes out as the `ETag` header. */
function itemRoute(fn: (req: Request) => Promise<{ item: unknown; etag: string }>): RequestHandler {
  return (req, res, next) => {
    markRoute(req);
    fn(req).then(({ item, etag }) => sendJson(res, 200, success(item), { ETag: etag }), next);
  };
}

/**
 * The operators' admin API (`/internal/admin/v1`, bearer-protected when `adminToken` is set): global N, queue
 * counts, and waiting items. Its paths are wire names that operators' tools call.
 */
export function createAdminApp(o: AdminAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use(express.json({ limit: o.bodyLimitBytes }));
  app.use(rejectNonJsonBody);

  app.use(ADMIN_PREFIX, bearerAuth(o.adminToken, 'waiting-queue-admin'));
  const handlers: { [K in AdminRouteName]?: RequestHandler } = {};
  // Recorded after the change succeeded; a failure to record is logged (the change is made and answered).
  const audited: AuditRecorder = async (req, action, itemId, before, after) => {
    if (!o.audit) return;
    await o.audit
      .record({ actor: auditActor(req.headers, o.adminToken), action, itemId, before, after })
      .catch((err: Error) => {
        o.logger.error(
          { err: err.message, action, itemId, before, after },
          'admin change not recorded in the audit trail',
        );
      });
  };

  handlers.getTokenCountToMove = route(async () => ({
    tokenCountToMove: await o.items.getTokenCountToMove(o.defaultTokenCountToMove),
  }));
  handlers.setTokenCountToMove = route(async (req) => {
    const requested = tokenCountFrom(req);
    const before = await o.items.getTokenCountToMove(o.defaultTokenCountToMove);
    // With an Idempotency-Key, a retry answers the N its key set (and sets nothing).
    const n = await o.items.setTokenCountToMove(
      requested,
      idempotentRequest(req.headers, ['token-count-to-move', requested]),
    );
    o.logger.info({ tokenCountToMove: n }, 'global N changed');
    if (n !== before) {
      const action = n === 0 ? 'pause' : before === 0 ? 'resume' : 'token-count-to-move';
      await audited(req, action, null, { tokenCountToMove: before }, { tokenCountToMove: n });
    }
    return { tokenCountToMove: n };
  });

  const listIds = orLastKnown(() => o.items.listIds());
  // Per item: an item whose Redis node is unreachable (a Cluster failover) is marked `unavailable` with counts 0;
  // the others answer. When none answers, Redis is down: 503.
  const counts = async (itemIds: string[]): Promise<TokenCountList> => {
    let outage: Error | undefined;
    const list = await Promise.all(
      itemIds.map((itemId) =>
        o.queue.counts([itemId]).then(
          ([c]) => ({ itemId, waitingTokenCount: c.waiting, enteredTokenCount: c.admitted }),
          (err: unknown) => {
            if (!isRedisUnavailable(err)) throw err;
            outage = err as Error; // isRedisUnavailable holds only for Errors
            return { itemId, waitingTokenCount: 0, enteredTokenCount: 0, unavailable: true };
          },
        ),
      ),
    );
    if (outage !== undefined && list.every((e) => 'unavailable' in e)) throw outage;
    return { currentWaitingQueueList: list };
  };
  handlers.getTokenCounts = route(async () => counts(await listIds()));
  handlers.searchTokenCounts = route(async (req) => {
    const body = parseOr400(adminRoutes.searchTokenCounts.body, req.body ?? {}, 'body');
    return counts(body.searchAll ? await listIds() : [...new Set(body.itemIdListToSearch)]);
  });

  // Optimistic concurrency: GET answers the item's ETag; an upsert with If-Match is refused with 412 when the item
  // changed since (settings only, or settings and stock when it sets remainCount); setting the stock of an existing
  // item needs If-Match (stockRule 'match'), so a stale figure never undoes claims or reservations.
  handlers.upsertWaitingItem = itemRoute(async (req) => {
    const itemId = requireId(req.params.itemId, 'itemId');
    const input = parseOr400(adminRoutes.upsertWaitingItem.body, req.body, 'waiting item');
    const ifMatch = parseItemIfMatch(req.headers['if-match']);
    // With an Idempotency-Key, a retry answers the item (and ETag) the first upsert stored, and writes nothing.
    const idem = idempotentRequest(req.headers, ['upsert', itemId, input, req.headers['if-match'] ?? null]);
    const previous = o.audit ? await o.items.get(itemId) : null;
    const { item, created, etag } = await o.items
      .upsert(itemId, input, { ifMatch, stockRule: 'match' }, idem)
      .catch((err: unknown) => {
        throw upsertRefusalToHttp(err);
      });
    o.logger.info({ item, created }, 'waiting item upserted');
    const change = changedFields(
      previous as unknown as Record<string, unknown> | null,
      item as unknown as Record<string, unknown>,
    );
    if (change) {
      const keys = Object.keys(change.after);
      const action =
        keys.length === 1 && keys[0] === 'waitingQueueEnabled'
          ? item.waitingQueueEnabled
            ? 'item-enable'
            : 'item-disable'
          : 'item-upsert';
      await audited(req, action, itemId, change.before, change.after);
    }
    return { item, etag };
  });
  handlers.getWaitingItem = itemRoute(async (req) => {
    const itemId = requireId(req.params.itemId, 'itemId');
    const found = await o.items.getWithEtag(itemId);
    if (!found) throw new WqError('WAITING_ITEM_NOT_FOUND', `no waiting item ${itemId}`);
    return found;
  });

  if (o.restock) handlers.restock = restockHandler(o.items, o.logger, audited);
  if (o.tickMs) handlers.clearFence = clearFenceHandler(o.queue, o.tickMs, o.logger, audited);
  registerRoutes(app.router, adminRoutes, handlers);
  if (o.console) app.use(o.console);
  app.use(notFound);
  app.use(errorHandler(o.logger));
  return app;
}
