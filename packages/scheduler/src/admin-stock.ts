import type { RequestHandler } from 'express';
import { WqError } from '@waiting-queue/core/errors';
import { requireId } from '@waiting-queue/core/ids';
import { type ItemStore } from '@waiting-queue/core/item-store';
import { type Logger } from '@waiting-queue/core/logger';
import { parseOr400, route } from '@waiting-queue/http/http';
import { adminRoutes } from '@waiting-queue/http/route-tables';
import { idempotentRequest } from '@waiting-queue/http/request-headers';
import type { RestockResult } from '@waiting-queue/http/views';
import type { AuditRecorder } from './audit';

/**
 * The admin stock route `restock` (routes.ts; behind the admin bearer check):
 * `POST /internal/admin/v1/waiting-item/{itemId}/restock` `{quantity}` adds stock; when the stock was 0 the waiting queue reopens
 * (registration and admission resume) and `item.reopened` is appended to the item's outbox.
 * Answers `{itemId, quantity, remainCount}`; 400 `INVALID_PARAMETER` (body, id, Idempotency-Key), 404
 * `WAITING_ITEM_NOT_FOUND`, 422 `IDEMPOTENCY_KEY_REUSED`. With an Idempotency-Key a retry gets the first answer and
 * adds nothing. With `audited`, each restock is recorded in the audit trail (stock before and after).
 */
export function restockHandler(items: ItemStore, logger: Logger, audited?: AuditRecorder): RequestHandler {
  return route(async (req): Promise<RestockResult> => {
    const itemId = requireId(req.params.itemId, 'itemId');
    const { quantity } = parseOr400(adminRoutes.restock.body, req.body ?? null, 'restock');
    const idem = idempotentRequest(req.headers, ['restock', itemId, quantity]);
    const before = audited ? await items.get(itemId) : null;
    const remainCount = await items.restock(itemId, quantity, idem);
    if (remainCount === 'NO_ITEM') throw new WqError('WAITING_ITEM_NOT_FOUND', `no waiting item ${itemId}`);
    logger.info({ itemId, quantity: quantity, remainCount }, 'item restocked');
    // A retry under its Idempotency-Key answers the first reply and changes nothing: the stock read before it is
    // then that reply's, and no second entry is recorded.
    if (audited && before?.remainCount !== remainCount) {
      await audited(
        req,
        'restock',
        itemId,
        { remainCount: before?.remainCount ?? null },
        { remainCount, quantity: quantity },
      );
    }
    return { itemId, quantity: quantity, remainCount };
  });
}
