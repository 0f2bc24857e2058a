import type { RequestHandler } from 'express';
import { WqError } from '@waiting-queue/core/errors';
import { requireId } from '@waiting-queue/core/ids';
import { type Logger } from '@waiting-queue/core/logger';
import { type QueueStore } from '@waiting-queue/core/queue-store';
import { route } from '@waiting-queue/http/http';
import type { FenceClearResult } from '@waiting-queue/http/views';
import type { AuditRecorder } from './audit';

/**
 * The admin fence route `clearFence` (routes.ts; behind the admin bearer check):
 * `POST /internal/admin/v1/waiting-item/{itemId}/fence/clear` clears the item's admission fence when it is stuck, that is more than
 * one tick ahead of Redis time (admit-7.lua refuses every tick then: STUCK_FENCE). It answers
 * `{itemId, cleared, previousFence, fence, redisNow}` (epoch ms; `fence` the stored fence now, `cleared` false when
 * the fence was not stuck and nothing changed, so a retry is harmless); 404 `WAITING_ITEM_NOT_FOUND`.
 * @param tickMs the admission tick interval, milliseconds.
 * @param audited records a clearing in the audit trail (fence before and after).
 */
export function clearFenceHandler(
  queue: QueueStore,
  tickMs: number,
  logger: Logger,
  audited?: AuditRecorder,
): RequestHandler {
  return route(async (req): Promise<FenceClearResult> => {
    const itemId = requireId(req.params.itemId, 'itemId');
    const res = await queue.clearFence(itemId, tickMs);
    if (res.status === 'NO_ITEM') throw new WqError('WAITING_ITEM_NOT_FOUND', `no waiting item ${itemId}`);
    const cleared = res.status === 'CLEARED';
    const fence = cleared ? res.redisNow + tickMs : res.previousFence;
    if (cleared) {
      logger.warn(
        { itemId, previousFence: res.previousFence, fence, redisNow: res.redisNow },
        'stuck admission fence cleared by an operator',
      );
      await audited?.(req, 'fence-clear', itemId, { fence: res.previousFence }, { fence });
    }
    return { itemId, cleared, previousFence: res.previousFence, fence, redisNow: res.redisNow };
  });
}
