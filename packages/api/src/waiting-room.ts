import { WqError } from '@waiting-queue/core/errors';
import { GroupCommit, type GroupCommitOptions } from '@waiting-queue/core/group-commit';
import { type IdempotentRequest } from '@waiting-queue/core/idempotency';
import { parseToken, requireId, type ParsedToken, type TokenCodec } from '@waiting-queue/core/ids';
import { LANE_PATTERN } from '@waiting-queue/core/item-store';
import { estimateWaitSeconds, POLL_MIN_MS, pollAfterMs } from '@waiting-queue/core/poll-policy';
import { type PollRecorder } from '@waiting-queue/core/poll-recorder';
import { type QueuePosition, type QueueStore, type Refused } from '@waiting-queue/core/queue-store';
import { type SnapshotCache } from '@waiting-queue/core/snapshot-cache';
import { type VerifiedTokenCache } from '@waiting-queue/core/token-cache';
import { type ConsumeResult, type ValidationView, type WaitingQueueView } from '@waiting-queue/http/views';

import type { EntryPassIssuer } from './entry-pass';

export type { ValidationView, WaitingQueueView };
import type { RegistrationLimiter } from './rate-limit';

/** Optional collaborators of the waiting room. */
export interface WaitingRoomExtras {
  /** Registration rate limits (429). */
  limiter?: RegistrationLimiter;
  /** Signs entry passes for admitted users. */
  entryPasses?: EntryPassIssuer;
  /**
   * Abandonment (ABANDON_AFTER_SECONDS x 1000, milliseconds): when > 0, registrations and polls record the user's
   * last poll, and pollAfterMs stays below half of it; 0 or absent: off (nothing recorded).
   */
  abandonAfterMs?: number;
  /** Tokens already verified against their place: repeated polls skip the HMAC. Absent: every check hashes. */
  verifiedTokens?: VerifiedTokenCache;
  /**
   * Group commit: the registrations (and, apart, the validations) of one item that arrive in the same event-loop
   * turn (or within `windowMs`, 0..2 ms) go to Redis as one script call. Absent: on, same turn only; false: one call each.
   */
  groupCommit?: GroupCommitOptions | false;
  /**
   * Polls answered from memory: the scheduler's per-item snapshots (snapshot-cache.ts). A poll of a token whose
   * place the fresh snapshot can rank exactly is answered without Redis; every other poll reads Redis. Absent: every
   * poll reads Redis.
   */
  snapshots?: SnapshotCache;
  /** With `snapshots` and abandonment on: the last polls of polls answered from memory, written behind. */
  pollRecorder?: PollRecorder;
  /** The longest `pollAfterMs` given to a waiting shopper, milliseconds (POLL_MAX_SECONDS); default 30 s. */
  pollMaxMs?: number;
  /** Called once per answered poll with where its answer came from (metrics). */
  onPoll?: (source: PollSource) => void;
}

/**
 * How long after its due time a place the next tick admits polls, milliseconds: the tick's admission and the
 * snapshot that follows it take a few milliseconds; more leaves room on a busy machine.
 */
export const AFTER_TICK_MS = 150;
/** The window after {@link AFTER_TICK_MS} over which those polls are spread at random, milliseconds. */
export const AFTER_TICK_SPREAD_MS = 400;
/** The shortest poll interval given for a place the next tick admits, milliseconds (when that tick is overdue). */
export const AFTER_TICK_MIN_MS = 250;

/** Where a poll's answer came from: the item's snapshot in this process, or Redis. */
export type PollSource = 'memory' | 'redis';

/** What a {@link WaitingRoom} works with: its stores and codec, and the optional collaborators. */
export interface WaitingRoomOptions extends WaitingRoomExtras {
  queue: QueueStore;
  /** Issues and checks the tokens (HMAC over item, user and place). */
  tokens: TokenCodec;
}

const REFUSALS = {
  NO_ITEM: 'the item does not exist',
  DISABLED: 'the item does not use a waiting queue now',
  SOLD_OUT: 'the item is sold out',
  DIRECT: 'the item issues first-come claims (POST /api/v1/item/{itemId}/claims), without a waiting queue',
} as const;

/** How a registration came in, besides the item and the user. */
export interface RegisterRequest {
  /** The client's address, for the per-IP rate limit. */
  ip?: string;
  /** True only for the api's own warm-up requests: they are not charged to the rate limit. Default false. */
  skipRateLimit?: boolean;
  /** The `user-tier` header (priority lane, set by the trusted gateway); unknown lanes: the last one. */
  tier?: unknown;
}

/** A lane name as the trusted gateway sends it in `user-tier`; absent: undefined. @throws WqError 400 when malformed. */
function laneOf(tier: unknown): string | undefined {
  if (tier === undefined) return undefined;
  if (typeof tier !== 'string' || !LANE_PATTERN.test(tier))
    throw new WqError('INVALID_PARAMETER', 'user-tier must be 1-32 characters of [A-Za-z0-9_]');
  return tier;
}

/** A poll's checked input: the ids and the parsed token, which belongs to that user and item. */
interface PollInput {
  itemId: string;
  userId: string;
  token: ParsedToken;
}

/**
 * Checks a poll's input (path ids, token, the caller's userId).
 * @throws WqError 400 `INVALID_PARAMETER` (malformed ids or token), 403 `TOKEN_MISMATCH` (token of another user or item).
 */
function pollInput(itemIdRaw: unknown, tokenRaw: unknown, userIdRaw: unknown): PollInput {
  const itemId = requireId(itemIdRaw, 'itemId');
  const userId = requireId(userIdRaw, 'userId');
  const token = parseToken(tokenRaw);
  if (token.userId !== userId || token.itemId !== itemId) {
    throw new WqError('TOKEN_MISMATCH', 'the token belongs to another user or item');
  }
  return { itemId, userId, token };
}

/**
 * The shopper-facing and order-service operations of the waiting room. Every operation is one Lua script call
 * (consume: two; registrations, and validations, of one item in one event-loop turn share one), and all input is
 * validated here so that each transport (express routes, the fast path) gets the same errors.
 */
export class WaitingRoom {
  private readonly queue: QueueStore;
  private readonly tokens: TokenCodec;
  private readonly extras: WaitingRoomExtras;
  /** One item's registrations of a turn, sent together; undefined: group commit off. */
  private readonly registrations?: GroupCommit<{ userId: string; lane?: string }, QueuePosition | Refused>;
  /** One item's validations of a turn, read together; undefined: group commit off. */
  private readonly validations?: GroupCommit<string, QueuePosition | 'NO_ITEM' | 'NOT_FOUND'>;

  /** @throws RangeError when `o.groupCommit.windowMs` is outside 0..2. */
  constructor(o: WaitingRoomOptions) {
    this.queue = o.queue;
    this.tokens = o.tokens;
    this.extras = o;
    const queue = o.queue;
    if (o.groupCommit !== false) {
      const trackPoll = (o.abandonAfterMs ?? 0) > 0;
      this.registrations = new GroupCommit(
        (itemId, users) => queue.registerBatch(itemId, users, trackPoll),
        o.groupCommit,
      );
      this.validations = new GroupCommit((itemId, userIds) => queue.statusBatch(itemId, userIds), o.groupCommit);
    }
  }

  /**
   * Registers a user in an item's waiting queue (idempotent: the same user gets the same token and current rank).
   * @param options see {@link RegisterRequest}.
   * @throws WqError 400 `INVALID_PARAMETER` (ids, user-tier), 409 `ITEM_CANNOT_USE_WAITING_QUEUE` (unknown,
   *   disabled, sold out or DIRECT item; `data.reason`), 409 `ITEM_NOT_OPEN` (a TIME_DEAL before its start;
   *   `data.opensAt` epoch ms), 409 `QUEUE_FULL` (maxWaiting), 429 `TOO_MANY_REQUESTS` (rate limit), 503 (Redis down).
   */
  async register(itemIdRaw: unknown, userIdRaw: unknown, options: RegisterRequest = {}): Promise<WaitingQueueView> {
    const itemId = requireId(itemIdRaw, 'itemId');
    const userId = requireId(userIdRaw, 'userId');
    const lane = laneOf(options.tier);
    const { ip, skipRateLimit = false } = options;
    // Rate limits are charged per request, before the registration joins a batch.
    if (this.extras.limiter && !skipRateLimit) await this.extras.limiter.charge(userId, ip);
    const result = this.registrations
      ? await this.registrations.submit(itemId, { userId, lane })
      : await this.queue.registerOrRefuse(itemId, userId, {
          lane,
          trackPoll: (this.extras.abandonAfterMs ?? 0) > 0,
        });
    if ('refusal' in result) {
      const r = result.refusal;
      if (r === 'QUEUE_FULL')
        throw new WqError('QUEUE_FULL', 'the waiting queue is full; retry later', { data: { itemId } });
      if (r === 'NOT_OPEN') {
        const opensAt = result.opensAt ?? 0;
        const retry = String(Math.max(1, Math.ceil((opensAt - (result.nowMs ?? opensAt)) / 1000)));
        throw new WqError('ITEM_NOT_OPEN', 'the time deal has not opened yet', {
          headers: { 'Retry-After': retry },
          data: { itemId, opensAt },
        });
      }
      throw new WqError('ITEM_CANNOT_USE_WAITING_QUEUE', REFUSALS[r], { data: { itemId, reason: r } });
    }
    // The item exists and queues: its shoppers' polls will be answered from its snapshots.
    this.extras.snapshots?.hold(itemId);
    return this.view(itemId, userId, result);
  }

  /**
   * A shopper's poll of their token.
   * @throws WqError 400 (malformed ids or token), 403 `TOKEN_MISMATCH` (token of another user or item),
   *   404 `WAITING_QUEUE_NOT_FOUND` (unknown, consumed or expired token, or unknown item), 503.
   */
  async poll(itemIdRaw: unknown, tokenRaw: unknown, userIdRaw: unknown): Promise<WaitingQueueView> {
    const { itemId, userId, token } = pollInput(itemIdRaw, tokenRaw, userIdRaw);
    const fromMemory = this.pollFromSnapshot(itemId, userId, token, tokenRaw as string);
    if (fromMemory) return fromMemory;
    const place = await this.place(token, tokenRaw as string, (this.extras.abandonAfterMs ?? 0) > 0);
    this.extras.onPoll?.('redis');
    // A verified token of a place in the item: from now on the process holds the item's snapshots.
    this.extras.snapshots?.hold(itemId);
    // place() verified the token against the place, so it is the place's token: no second HMAC.
    return this.view(itemId, userId, place, tokenRaw as string);
  }

  /**
   * {@link poll} answered at once from the item's snapshot in this process, when it can be: the same answer poll
   * would give from memory. Undefined when poll must answer instead: malformed ids or token, a token of another user
   * or item (poll gives the error), or a place the snapshot cannot rank (poll reads Redis). Never throws.
   */
  pollFromMemory(itemIdRaw: unknown, tokenRaw: unknown, userIdRaw: unknown): WaitingQueueView | undefined {
    if (!this.extras.snapshots) return undefined;
    let input: PollInput;
    try {
      input = pollInput(itemIdRaw, tokenRaw, userIdRaw);
    } catch {
      return undefined;
    }
    return this.pollFromSnapshot(input.itemId, input.userId, input.token, tokenRaw as string);
  }

  /**
   * A poll answered from the item's snapshot, or undefined when it must read Redis (see snapshot-rank.ts
   * rankFromIndex): the token carries its place (checked by its MAC, or remembered as checked), and the fresh
   * snapshot ranks that place exactly. Only waiting places are answered here: never `canOrder: true`, never 404.
   * An answer is counted as a memory poll (`onPoll`).
   */
  private pollFromSnapshot(
    itemId: string,
    userId: string,
    token: ParsedToken,
    raw: string,
  ): WaitingQueueView | undefined {
    const snapshots = this.extras.snapshots;
    if (!snapshots) return undefined;
    const place = this.tokenPlace(token, raw);
    if (place === undefined) return undefined;
    const found = snapshots.rank(itemId, place);
    if (!found) return undefined;
    if ((this.extras.abandonAfterMs ?? 0) > 0) this.extras.pollRecorder?.record(itemId, userId);
    this.extras.onPoll?.('memory');
    const { rank, snapshot } = found;
    return {
      itemId,
      waitingQueueToken: raw,
      waitingQueueRank: rank,
      canOrder: false,
      estimatedWaitSeconds: estimateWaitSeconds(rank, snapshot.admitRate),
      pollAfterMs: this.pollAfter(itemId, rank, snapshot.admitRate),
      admissionExpiresAt: null,
      soldOut: snapshot.remainCount <= 0,
      entryPass: null,
    };
  }

  /** The place `raw` (parsed as `token`) carries: remembered as verified, or checked by its MAC and remembered. */
  private tokenPlace(token: ParsedToken, raw: string): number | undefined {
    const cache = this.extras.verifiedTokens;
    const known = cache?.get(raw);
    if (known !== undefined) return Number(known);
    const place = this.tokens.placeOf(token);
    if (place !== undefined) cache?.add(raw, String(place));
    return place;
  }

  /**
   * Milliseconds until the next poll at `rank` (poll-policy.ts); below half the abandonment window when abandonment
   * is on. A waiting place the next tick admits (its rank within one tick's admissions, from the item's fresh
   * snapshot) polls just after that tick instead, {@link AFTER_TICK_MS} to {@link AFTER_TICK_MS} +
   * {@link AFTER_TICK_SPREAD_MS} after it is due: the shopper learns of the admission about then rather than up to a
   * poll interval later.
   */
  private pollAfter(itemId: string, rank: number, admitRate: number): number {
    const abandonAfterMs = this.extras.abandonAfterMs;
    let ms = pollAfterMs(rank, admitRate, this.extras.pollMaxMs);
    if (abandonAfterMs) ms = Math.min(ms, Math.max(POLL_MIN_MS, Math.floor(abandonAfterMs / 2)));
    if (rank > 0) {
      const next = this.extras.snapshots?.nextTick(itemId);
      if (next && rank <= next.perTick) {
        // Spread over AFTER_TICK_SPREAD_MS, so that one tick's admitted do not all poll in the same millisecond.
        const after = next.inMs + AFTER_TICK_MS + Math.random() * AFTER_TICK_SPREAD_MS;
        ms = Math.min(ms, Math.max(AFTER_TICK_MIN_MS, after));
      }
    }
    return Math.round(ms);
  }

  /**
   * The order service's check of a token.
   * @throws WqError 400, 403 `TOKEN_MISMATCH` (token of another item), 404 `WAITING_QUEUE_NOT_FOUND`, 503.
   */
  async validate(itemIdRaw: unknown, tokenRaw: unknown): Promise<ValidationView> {
    const itemId = requireId(itemIdRaw, 'itemId');
    const token = parseToken(tokenRaw);
    if (token.itemId !== itemId) throw new WqError('TOKEN_MISMATCH', 'the token belongs to another item');
    const found = this.validations
      ? await this.validations.submit(itemId, token.userId)
      : await this.queue.status(itemId, token.userId);
    const place = this.checked(token, tokenRaw as string, found);
    const admitted = place.status === 'ADMITTED';
    return {
      admitted,
      userId: token.userId,
      itemId,
      expiresInSeconds: admitted ? Math.max(0, Math.ceil((place.expiresAtMs - place.nowMs) / 1000)) : null,
    };
  }

  /**
   * Consumes an admission so that the token orders once.
   * With `idem` (the request's Idempotency-Key), a retry gets the answer of the consume that recorded the key,
   * even though the admission is gone by then.
   * @throws WqError 400, 403 `TOKEN_MISMATCH`, 409 `NOT_ADMITTED` (not admitted, expired, already consumed,
   *   unknown), 422 `IDEMPOTENCY_KEY_REUSED`, 503.
   */
  async consume(itemIdRaw: unknown, tokenRaw: unknown, idem?: IdempotentRequest): Promise<ConsumeResult> {
    const itemId = requireId(itemIdRaw, 'itemId');
    const token = parseToken(tokenRaw);
    if (token.itemId !== itemId) throw new WqError('TOKEN_MISMATCH', 'the token belongs to another item');
    const place = await this.queue.status(itemId, token.userId);
    if (typeof place === 'string' || place.status !== 'ADMITTED' || !this.tokens.matches(token, place.seq)) {
      // The retry of a consume that happened finds the admission gone: it gets the recorded answer. (While the
      // admission is there, the script itself replays a record, atomically.)
      const recorded = await this.queue.recordedConsume(itemId, idem);
      if (recorded === true) return { consumed: true, userId: token.userId, itemId };
      throw new WqError('NOT_ADMITTED', 'the token is not admitted (waiting, expired, already used or unknown)');
    }
    // Compare-and-delete on the sequence: a concurrent consume of the same admission loses here.
    if (!(await this.queue.consume(itemId, token.userId, place.seq, idem))) {
      throw new WqError('NOT_ADMITTED', 'the admission was already used or has expired');
    }
    return { consumed: true, userId: token.userId, itemId };
  }

  /**
   * The place of a parsed token, verified: its user's current place in the item, whose sequence the token's uuid
   * must match (the HMAC, or a match remembered by `verifiedTokens`).
   * @param raw the token string `token` was parsed from.
   * @param trackPoll record the poll of a waiting user (abandonment on; the shopper's poll only).
   * @throws WqError 404 `WAITING_QUEUE_NOT_FOUND`, or the store's errors (503).
   */
  private async place(token: ParsedToken, raw: string, trackPoll = false): Promise<QueuePosition> {
    return this.checked(
      token,
      raw,
      await this.queue.status(token.itemId, token.userId, trackPoll ? { trackPoll } : undefined),
    );
  }

  /**
   * `place` (a status reply for the token's user) when `raw` is its token.
   * @throws WqError 404 `WAITING_QUEUE_NOT_FOUND` when there is no place, or the token is not the place's.
   */
  private checked(token: ParsedToken, raw: string, place: QueuePosition | 'NO_ITEM' | 'NOT_FOUND'): QueuePosition {
    // A token of an earlier place of the same user (consumed or expired, then registered again) does not match
    // the current sequence, and is as unknown as a forged one.
    if (typeof place === 'string' || !this.verified(token, raw, place.seq)) {
      throw new WqError('WAITING_QUEUE_NOT_FOUND', 'no waiting queue place for this token (unknown, used or expired)');
    }
    return place;
  }

  /** True when `raw` (parsed as `token`) is the token of place `seq`: remembered, or checked by HMAC and remembered. */
  private verified(token: ParsedToken, raw: string, seq: string): boolean {
    const cache = this.extras.verifiedTokens;
    if (cache?.has(raw, seq)) return true;
    if (!this.tokens.matches(token, seq)) return false;
    cache?.add(raw, seq);
    return true;
  }

  private async view(
    itemId: string,
    userId: string,
    place: QueuePosition,
    tokenKnown?: string,
  ): Promise<WaitingQueueView> {
    const admitted = place.status === 'ADMITTED';
    let token = tokenKnown;
    if (token === undefined) {
      token = this.tokens.tokenFor(itemId, userId, place.seq);
      // Issued here, so verified: the shopper's first poll skips the HMAC too.
      this.extras.verifiedTokens?.add(token, place.seq);
    }
    const entryPass =
      admitted && this.extras.entryPasses
        ? await this.extras.entryPasses.issue({ itemId, userId, token, expiresAtMs: place.expiresAtMs })
        : null;
    return {
      itemId,
      waitingQueueToken: token,
      waitingQueueRank: place.rank,
      canOrder: admitted,
      estimatedWaitSeconds: estimateWaitSeconds(place.rank, place.admitRate),
      pollAfterMs: this.pollAfter(itemId, place.rank, place.admitRate),
      admissionExpiresAt: admitted ? place.expiresAtMs : null,
      soldOut: place.remainCount <= 0,
      entryPass,
    };
  }
}
