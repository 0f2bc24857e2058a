import { keys } from './keys';
import {
  callIdempotent,
  DEFAULT_IDEMPOTENCY_LIMITS,
  type IdempotencyLimits,
  type IdempotentRequest,
} from './idempotency';
import type { RedisClient } from './redis';

/** Outcome of a first-come claim (lua/claim-5.lua). */
export type ClaimResult =
  | { status: 'OK'; claimId: string; remainCount: number }
  | { status: 'ALREADY_CLAIMED'; claimId: string }
  | { status: 'NOT_OPEN'; opensAt: number; nowMs: number }
  | { status: 'NO_ITEM' | 'NOT_DIRECT' | 'DISABLED' | 'SOLD_OUT' };

/**
 * First-come issuance on DIRECT items (the coupon system): one script call per claim, atomic, at most the stock in
 * total and one per user; a refused user is not recorded.
 */
export class ClaimStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly limits: IdempotencyLimits = DEFAULT_IDEMPOTENCY_LIMITS,
  ) {}

  /**
   * Issues one unit of `itemId` to `userId`, or says why not. With `idem`, a retry with its key gets the recorded
   * outcome (the claim it made, not ALREADY_CLAIMED).
   * @throws IdempotencyKeyReusedError, or Redis errors.
   */
  async claim(itemId: string, userId: string, idem?: IdempotentRequest): Promise<ClaimResult> {
    const raw = await callIdempotent<[string, (string | number)?, number?]>(
      this.redis,
      'wq_claim',
      [keys.item(itemId), keys.claims(itemId), keys.outbox(itemId)],
      [userId, itemId],
      keys.idempotency(itemId),
      idem,
      this.limits,
    );
    switch (raw[0]) {
      case 'OK':
        return { status: 'OK', claimId: String(raw[1]), remainCount: Number(raw[2]) };
      case 'ALREADY_CLAIMED':
        return { status: 'ALREADY_CLAIMED', claimId: String(raw[1]) };
      case 'NOT_OPEN':
        return { status: 'NOT_OPEN', opensAt: Number(raw[1]), nowMs: Number(raw[2]) };
      default:
        return { status: raw[0] as 'NO_ITEM' | 'NOT_DIRECT' | 'DISABLED' | 'SOLD_OUT' };
    }
  }
}
