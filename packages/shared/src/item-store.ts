import { z } from 'zod';
import { keys, ItemField } from './keys';
import { callScript } from './scripts';
import type { RedisClient } from './redis';

/** Body of an item upsert (admin API and the `item-changed-event` consumer). */
export const waitingItemInputSchema = z
  .object({
    itemName: z.string().min(1).max(200),
    remainCount: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    waitingQueueEnabled: z.boolean(),
    /** Per-item N, tokens per tick; null: the global N; absent: unchanged. */
    tokenCountToMove: z.number().int().min(0).max(1_000_000).nullable().optional(),
    /** Cap on unexpired admissions; null: no cap; absent: unchanged. */
    maxActiveUsers: z.number().int().min(1).max(100_000_000).nullable().optional(),
  })
  .strict();

export type WaitingItemInput = z.infer<typeof waitingItemInputSchema>;

/** A waiting item as the APIs return it. */
export interface WaitingItem {
  itemId: string;
  itemName: string;
  remainCount: number;
  waitingQueueEnabled: boolean;
  tokenCountToMove: number | null;
  maxActiveUsers: number | null;
}

/** Upper bound of the global N: a tick moves at most this many tokens per item. */
export const MAX_TOKEN_COUNT_TO_MOVE = 1_000_000;

/** Waiting items, the item registry and the global N. */
export class ItemStore {
  constructor(private readonly redis: RedisClient) {}

  /**
   * Creates or updates an item and registers it for the scheduler; returns the item as stored. The registry is written first: a crash
   * between the two writes leaves a registered id without an item, which the scheduler skips (NO_ITEM).
   */
  async upsert(itemId: string, input: WaitingItemInput, opts: { register?: boolean } = {}): Promise<{ created: boolean; item: WaitingItem }> {
    const optional = (v: number | null | undefined) => (v === undefined ? '-' : v === null ? '' : v);
    // register: false keeps the item out of the scheduler's registry (the api's warm-up item).
    if (opts.register !== false) await this.redis.sadd(keys.itemRegistry, itemId);
    const created = await callScript<number>(this.redis, 'wq_upsert_item', [keys.item(itemId)], [
      input.itemName,
      input.remainCount,
      input.waitingQueueEnabled ? '1' : '0',
      optional(input.tokenCountToMove),
      optional(input.maxActiveUsers),
    ]);
    const item = await this.get(itemId);
    if (!item) throw new Error(`item ${itemId} vanished after upsert`);
    return { created: created === 1, item };
  }

  /** The item, or null when unknown. */
  async get(itemId: string): Promise<WaitingItem | null> {
    const [name, remain, enabled, n, maxActive] = await this.redis.hmget(
      keys.item(itemId),
      ItemField.itemName,
      ItemField.remainCount,
      ItemField.waitingQueueEnabled,
      ItemField.tokenCountToMove,
      ItemField.maxActiveUsers,
    );
    if (enabled === null) return null;
    return {
      itemId,
      itemName: name ?? '',
      remainCount: Number(remain ?? 0),
      waitingQueueEnabled: enabled === '1',
      tokenCountToMove: n === null ? null : Number(n),
      maxActiveUsers: maxActive === null ? null : Number(maxActive),
    };
  }

  /** Every registered item id, sorted. */
  async listIds(): Promise<string[]> {
    return (await this.redis.smembers(keys.itemRegistry)).sort();
  }

  /** The global N (tokens per item per tick); `fallback` when Redis holds none. */
  async getTokenCountToMove(fallback: number): Promise<number> {
    const v = await this.redis.get(keys.tokenCountToMove);
    return v === null ? fallback : Number(v);
  }

  /** Sets the global N for every scheduler, from their next tick on. */
  async setTokenCountToMove(n: number): Promise<void> {
    await this.redis.set(keys.tokenCountToMove, String(n));
  }

  /** Writes the initial global N unless one is stored already (so a restart keeps an operator's value). */
  async initTokenCountToMove(n: number): Promise<number> {
    await this.redis.set(keys.tokenCountToMove, String(n), 'NX');
    return this.getTokenCountToMove(n);
  }
}

/**
 * The HMAC secret of token ids: `configured` when given, else one shared through Redis (`wq:token-secret`,
 * written once with SET NX so that every api process of the deployment uses the same one).
 */
export async function resolveTokenSecret(redis: RedisClient, configured: string | undefined, generate: () => string): Promise<string> {
  if (configured) return configured;
  await redis.set(keys.tokenSecret, generate(), 'NX');
  const secret = await redis.get(keys.tokenSecret);
  if (!secret) throw new Error('token secret missing from Redis');
  return secret;
}
