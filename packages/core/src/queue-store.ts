import { keys } from './keys';
import {
  callIdempotent,
  DEFAULT_IDEMPOTENCY_LIMITS,
  recordedReply,
  type IdempotencyLimits,
  type IdempotentRequest,
} from './idempotency';
import { callScript } from './scripts';
import type { RedisClient } from './redis';

/** A user's place in an item's queue, as the Lua scripts report it. */
export interface QueuePosition {
  status: 'WAITING' | 'ADMITTED';
  /** The place's sequence number in the item (string, as Redis returns it): the token's uuid is derived from it. */
  seq: string;
  /** 1-based position among waiting users; 0 when admitted. */
  rank: number;
  /** Admission capacity, tokens per second (0 when paused, disabled or sold out). */
  admitRate: number;
  /** Admission expiry, epoch ms (Redis clock); 0 while waiting. */
  expiresAtMs: number;
  /** Redis time when the script ran, epoch ms: waits are computed from it, never from a host clock. */
  nowMs: number;
  remainCount: number;
}

/**
 * Why registration is refused: unknown item, disabled, a DIRECT item (claims, no waiting room), sold out, the queue
 * holds maxWaiting users, or a TIME_DEAL before its startAt (see {@link Refused} for its opening time).
 */
export type RegisterRefusal = 'NO_ITEM' | 'DISABLED' | 'DIRECT' | 'SOLD_OUT' | 'QUEUE_FULL' | 'NOT_OPEN';

/** A refused registration; `opensAt` and `nowMs` (Redis time), epoch ms, with NOT_OPEN. */
export interface Refused {
  refusal: RegisterRefusal;
  opensAt?: number;
  nowMs?: number;
}

/** Options of a registration. */
export interface RegisterOptions {
  /** The user's lane (the trusted `user-tier` header); unknown or absent: the item's last lane. */
  lane?: string;
  /** Record this as the user's last poll (abandonment on). */
  trackPoll?: boolean;
}

/** Result of one admission tick of one item (see lua/admit-7.lua). */
export interface AdmitResult {
  /**
   * OK; NO_ITEM; STALE_FENCE (this slot or a later one already moved the item); FENCE_AHEAD (the fence passed is
   * more than one tick ahead of Redis time: refused, nothing stored); STUCK_FENCE (the stored fence is more than one
   * tick ahead of Redis time: every tick is refused until an operator clears it, see {@link QueueStore.clearFence}).
   */
  status: 'OK' | 'NO_ITEM' | 'STALE_FENCE' | 'FENCE_AHEAD' | 'STUCK_FENCE';
  /** Tokens this tick admitted (moved from the waiting queue into the admitted set). */
  admittedCount: number;
  /** Admissions that expired and were swept this tick. */
  expired: number;
  /** Tokens still waiting after the tick. */
  waiting: number;
  /** Waiting users dropped for not polling (abandonment on). */
  abandoned: number;
}

/** How many tokens of one item wait and how many are admitted (unexpired admissions). */
export interface QueueCounts {
  itemId: string;
  waiting: number;
  admitted: number;
}

/** Parameters of an admission tick. */
export interface AdmitParams {
  /** Global N: tokens per tick for items without their own tokenCountToMove. */
  tokenCountToMove: number;
  /** Admission lifetime: how long an admitted user may consume, milliseconds. */
  admissionTtlMs: number;
  /**
   * Fencing token: the tick's slot, epoch ms on the Redis clock (see the scheduler's cron-task.ts); each tick must
   * use a larger one than the last, and one more than `tickMs` ahead of Redis time is refused (FENCE_AHEAD).
   */
  fence: number;
  /** Tick interval, milliseconds. */
  tickMs: number;
  /** Abandonment: drop waiting users whose last poll is older than this, milliseconds; 0 or absent: off. */
  abandonAfterMs?: number;
}

/** A place as register-5 and status-5 reply: {status, seq, rank, admitRate, expiresAtMs, remainCount, nowMs}. */
type RawQueuePosition = [string, (string | number)?, number?, string?, number?, string?, number?];

/** register-5's reply: a place, a refusal alone, or {'NOT_OPEN', opensAtMs, nowMs}. */
type RawRegistration = RawQueuePosition | ['NOT_OPEN', string | number, number];

/** The queue scripts' keys: the four queue keys, then the last-poll set (lua/register-5.lua). */
const queueKeys = (itemId: string) => [...keys.queue(itemId), keys.lastPoll(itemId)];

function toQueuePosition(raw: RawQueuePosition): QueuePosition {
  return {
    status: raw[0] as QueuePosition['status'],
    seq: String(raw[1]),
    rank: Number(raw[2]),
    admitRate: Number(raw[3]),
    expiresAtMs: Number(raw[4]),
    remainCount: Number(raw[5]),
    nowMs: Number(raw[6]),
  };
}

/** A registration's reply as a place or a refusal. */
function toRegistration(raw: RawRegistration): QueuePosition | Refused {
  if (raw[0] === 'NOT_OPEN') return { refusal: 'NOT_OPEN', opensAt: Number(raw[1]), nowMs: Number(raw[2]) };
  return raw.length === 1 ? { refusal: raw[0] as RegisterRefusal } : toQueuePosition(raw as RawQueuePosition);
}

/**
 * Typed wrappers of the queue scripts (lua/register-5, register-batch-5, status-5, consume-6, admit-7). Each call is one EVALSHA:
 * one round trip, atomic on the item's Redis node.
 */
export class QueueStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly limits: IdempotencyLimits = DEFAULT_IDEMPOTENCY_LIMITS,
  ) {}

  /**
   * Registers `userId` in `itemId`'s waiting queue, or returns the place they already hold.
   * @returns the place, or why registration is refused: `{refusal}`, with `opensAt` and `nowMs` (epoch ms) for a
   * TIME_DEAL before its start.
   */
  async registerOrRefuse(itemId: string, userId: string, opts: RegisterOptions = {}): Promise<QueuePosition | Refused> {
    const raw = await callScript<RawRegistration>(this.redis, 'wq_register', queueKeys(itemId), [
      userId,
      opts.lane ?? '',
      opts.trackPoll ? '1' : '',
    ]);
    return toRegistration(raw);
  }

  /**
   * Registers several users in `itemId`'s waiting queue in one script call (lua/register-batch-5.lua), in the order
   * given (FIFO within a lane follows it), each exactly as {@link registerOrRefuse} would one after another: a user
   * named twice gets the same place twice.
   * @param users each user's id and lane (unknown or absent: the item's last lane); empty: no call, [].
   * @param trackPoll record each waiting user's last poll (abandonment on).
   * @returns one place or refusal per user, in order.
   * @throws the Redis error of the call (then none, or all, of the registrations happened: the script is atomic).
   */
  async registerBatch(
    itemId: string,
    users: { userId: string; lane?: string }[],
    trackPoll = false,
  ): Promise<(QueuePosition | Refused)[]> {
    if (users.length === 0) return [];
    const args: string[] = [trackPoll ? '1' : ''];
    for (const u of users) args.push(u.userId, u.lane ?? '');
    const raw = await callScript<RawRegistration[]>(this.redis, 'wq_register_batch', queueKeys(itemId), args);
    return raw.map(toRegistration);
  }

  /**
   * Where `userId` stands in `itemId`'s queue: the place, `NO_ITEM`, or `NOT_FOUND` (no place now).
   * @param opts.trackPoll record this as a waiting user's last poll (the shopper's poll, abandonment on).
   */
  async status(
    itemId: string,
    userId: string,
    opts: { trackPoll?: boolean } = {},
  ): Promise<QueuePosition | 'NO_ITEM' | 'NOT_FOUND'> {
    const raw = await callScript<RawQueuePosition>(this.redis, 'wq_status', queueKeys(itemId), [
      userId,
      opts.trackPoll ? '1' : '',
    ]);
    return raw.length === 1 ? (raw[0] as 'NO_ITEM' | 'NOT_FOUND') : toQueuePosition(raw);
  }

  /**
   * Where each of `userIds` stands in `itemId`'s queue, in one read-only script call (lua/status-batch-4.lua): as
   * {@link status} without recording a poll. Empty: no call, [].
   * @returns one place, `NO_ITEM` or `NOT_FOUND` per user, in order. @throws the Redis error of the call.
   */
  async statusBatch(itemId: string, userIds: string[]): Promise<(QueuePosition | 'NO_ITEM' | 'NOT_FOUND')[]> {
    if (userIds.length === 0) return [];
    const raw = await callScript<RawQueuePosition[]>(this.redis, 'wq_status_batch', keys.queue(itemId), userIds);
    return raw.map((r) => (r.length === 1 ? (r[0] as 'NO_ITEM' | 'NOT_FOUND') : toQueuePosition(r)));
  }

  /**
   * Consumes the admission of place `seq` of `userId`, once. @returns true when this call consumed it (or, with
   * `idem`, when the call that recorded its key did).
   * @throws IdempotencyKeyReusedError, or Redis errors.
   */
  async consume(itemId: string, userId: string, seq: string, idem?: IdempotentRequest): Promise<boolean> {
    return (
      (await callIdempotent<number>(
        this.redis,
        'wq_consume',
        keys.queue(itemId),
        [userId, seq],
        keys.idempotency(itemId),
        idem,
        this.limits,
      )) === 1
    );
  }

  /**
   * The outcome recorded for `idem`'s key on `itemId` (true: that consume consumed), or undefined (no key, no
   * record): the retry of a consume that happened gets its answer although the admission is gone.
   * @throws IdempotencyKeyReusedError.
   */
  async recordedConsume(itemId: string, idem: IdempotentRequest | undefined): Promise<boolean | undefined> {
    const raw = await recordedReply<number>(this.redis, keys.idempotency(itemId), idem);
    return raw === undefined ? undefined : raw === 1;
  }

  /**
   * One admission tick of one item: sweep expired admissions, drop abandoned users (when on), then admit up to N
   * (higher lanes first), appending a `batch.admitted` event per lane to the item's outbox.
   */
  async admit(itemId: string, p: AdmitParams): Promise<AdmitResult> {
    const raw = await callScript<[AdmitResult['status'], number, number, number, number]>(
      this.redis,
      'wq_admit',
      [...queueKeys(itemId), keys.outbox(itemId), keys.removedPlaces(itemId)],
      [p.tokenCountToMove, p.admissionTtlMs, p.fence, p.tickMs, p.abandonAfterMs ?? 0, itemId],
    );
    return {
      status: raw[0],
      admittedCount: Number(raw[1]),
      expired: Number(raw[2]),
      waiting: Number(raw[3]),
      abandoned: Number(raw[4]),
    };
  }

  /**
   * Clears an item's stuck fence (lua/clear-fence-1.lua): one more than `tickMs` ahead of Redis time is replaced by
   * Redis now + `tickMs`; any other fence is kept. Safe to retry.
   * @param tickMs the admission tick interval, milliseconds.
   * @returns `status` CLEARED | NOT_STUCK | NO_ITEM, the fence before (epoch ms, null when none) and Redis now (epoch ms).
   */
  async clearFence(
    itemId: string,
    tickMs: number,
  ): Promise<{ status: 'CLEARED' | 'NOT_STUCK' | 'NO_ITEM'; previousFence: number | null; redisNow: number }> {
    const raw = await callScript<[string, number, number]>(this.redis, 'wq_clear_fence', [keys.item(itemId)], [tickMs]);
    const prev = Number(raw[1]);
    return {
      status: raw[0] as 'CLEARED' | 'NOT_STUCK' | 'NO_ITEM',
      previousFence: prev < 0 ? null : prev,
      redisNow: Number(raw[2]),
    };
  }

  /**
   * Number of waiting tokens (`waiting`) and of unexpired admissions (`admitted`) of each item, in the order of
   * `itemIds` (one script per item, pipelined).
   * @throws the Redis error when an item's node cannot be read.
   */
  async counts(itemIds: string[]): Promise<QueueCounts[]> {
    return Promise.all(
      itemIds.map(async (itemId) => {
        const [waiting, admitted] = await callScript<[number, number]>(
          this.redis,
          'wq_counts',
          [keys.waiting(itemId), keys.admitted(itemId), keys.admissionBatches(itemId)],
          [],
        );
        return { itemId, waiting, admitted };
      }),
    );
  }
}
