import { keys } from './keys';
import { callScript } from './scripts';
import type { RedisClient } from './redis';

/** A user's place in an item's queue, as the Lua scripts report it. */
export interface Place {
  status: 'WAITING' | 'ADMITTED';
  /** The place's sequence number in the item (string, as Redis returns it): the token's uuid is derived from it. */
  seq: string;
  /** 1-based position among waiting users; 0 when admitted. */
  rank: number;
  /** Admission capacity, tokens per second (0 when paused, disabled or sold out). */
  admitRate: number;
  /** Admission expiry, epoch ms (Redis clock); 0 while waiting. */
  expiresAtMs: number;
  remainCount: number;
}

export type RegisterRefusal = 'NO_ITEM' | 'DISABLED' | 'SOLD_OUT';

/** Result of one admission tick of one item (see lua/admit-4.lua). */
export interface AdmitResult {
  status: 'OK' | 'NO_ITEM' | 'STALE_FENCE';
  moved: number;
  expired: number;
  waiting: number;
}

/** Parameters of an admission tick. */
export interface AdmitParams {
  /** Global N: tokens per tick for items without their own tokenCountToMove. */
  tokenCountToMove: number;
  /** Entry TTL, milliseconds. */
  entryTtlMs: number;
  /** Fencing token: the tick's scheduled time, epoch ms; each tick must use a larger one than the last. */
  fence: number;
  /** Tick interval, milliseconds. */
  tickMs: number;
}

type RawPlace = [string, (string | number)?, number?, string?, number?, string?, string?];

function toPlace(raw: RawPlace): Place {
  return {
    status: raw[0] as Place['status'],
    seq: String(raw[1]),
    rank: Number(raw[2]),
    admitRate: Number(raw[3]),
    expiresAtMs: Number(raw[4]),
    remainCount: Number(raw[5]),
  };
}

/**
 * Typed wrappers of the queue scripts (lua/register-4, status-4, consume-4, admit-4). Each call is one EVALSHA:
 * one round trip, atomic on the item's Redis node.
 */
export class QueueStore {
  constructor(private readonly redis: RedisClient) {}

  /**
   * Registers `userId` in `itemId`'s waiting queue, or returns the place they already hold.
   * @returns the place, or the reason registration is refused.
   */
  async register(itemId: string, userId: string): Promise<Place | RegisterRefusal> {
    const raw = await callScript<RawPlace>(this.redis, 'wq_register', keys.queue(itemId), [userId]);
    return raw.length === 1 ? (raw[0] as RegisterRefusal) : toPlace(raw);
  }

  /** Where `userId` stands in `itemId`'s queue: the place, `NO_ITEM`, or `NOT_FOUND` (no place now). */
  async status(itemId: string, userId: string): Promise<Place | 'NO_ITEM' | 'NOT_FOUND'> {
    const raw = await callScript<RawPlace>(this.redis, 'wq_status', keys.queue(itemId), [userId]);
    return raw.length === 1 ? (raw[0] as 'NO_ITEM' | 'NOT_FOUND') : toPlace(raw);
  }

  /** Consumes the admission of place `seq` of `userId`, once. @returns true when this call consumed it. */
  async consume(itemId: string, userId: string, seq: string): Promise<boolean> {
    return (await callScript<number>(this.redis, 'wq_consume', keys.queue(itemId), [userId, seq])) === 1;
  }

  /** One admission tick of one item: sweep expired admissions, then admit up to N. */
  async admit(itemId: string, p: AdmitParams): Promise<AdmitResult> {
    const raw = await callScript<[AdmitResult['status'], number, number, number]>(this.redis, 'wq_admit', keys.queue(itemId), [
      p.tokenCountToMove,
      p.entryTtlMs,
      p.fence,
      p.tickMs,
    ]);
    return { status: raw[0], moved: Number(raw[1]), expired: Number(raw[2]), waiting: Number(raw[3]) };
  }

  /** Number of waiting tokens and of unexpired admissions of each item (one script per item, pipelined). */
  async counts(itemIds: string[]): Promise<{ itemId: string; waitingTokenCount: number; enteredTokenCount: number }[]> {
    return Promise.all(
      itemIds.map(async (itemId) => {
        const [waiting, entered] = await callScript<[number, number]>(
          this.redis,
          'wq_counts',
          [keys.waiting(itemId), keys.entry(itemId), keys.entryBatches(itemId)],
          [],
        );
        return { itemId, waitingTokenCount: waiting, enteredTokenCount: entered };
      }),
    );
  }
}
