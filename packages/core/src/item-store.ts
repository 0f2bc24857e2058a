import { z } from 'zod';
import { keys, ItemField } from './keys';
import { MAX_LANES } from './lua-constants';
import {
  callIdempotent,
  DEFAULT_IDEMPOTENCY_LIMITS,
  type IdempotencyLimits,
  type IdempotentRequest,
} from './idempotency';
import type { RedisClient } from './redis';

/** A lane name (the `user-tier` header's value): 1-32 of `[A-Za-z0-9_]`. */
export const LANE_PATTERN = /^[A-Za-z0-9_]{1,32}$/;
export { MAX_LANES };

/**
 * Body of an item upsert (admin API and the `item-changed-event` consumer). Each field's `describe()` text is its
 * documentation, also in the OpenAPI document.
 */
export const waitingItemInputSchema = z
  .object({
    itemName: z.string().min(1).max(200),
    remainCount: z
      .number()
      .int()
      .min(0)
      .max(Number.MAX_SAFE_INTEGER)
      .optional()
      .describe('Stock. Required to create an item; absent on update: the stored stock is kept (atomically).'),
    waitingQueueEnabled: z.boolean(),
    tokenCountToMove: z
      .number()
      .int()
      .min(0)
      .max(1_000_000)
      .nullable()
      .optional()
      .describe('Per-item N, tokens per tick; null: the global N; absent: unchanged.'),
    maxActiveUsers: z
      .number()
      .int()
      .min(1)
      .max(100_000_000)
      .nullable()
      .optional()
      .describe('Cap on unexpired admissions; null: none; absent: unchanged.'),
    targetUrl: z
      .string()
      .url()
      .max(2048)
      // Case-insensitive by its classes rather than a flag, so that the document's `pattern` says the same.
      .regex(/^[Hh][Tt][Tt][Pp][Ss]?:\/\//, 'must be an http(s) URL')
      .nullable()
      .optional()
      .describe(
        'Order page of admitted shoppers (the waiting-room page appends the token); null: none; absent: unchanged.',
      ),
    type: z
      .enum(['GENERAL', 'TIME_DEAL'])
      .optional()
      .describe('TIME_DEAL needs startAt; absent: unchanged (GENERAL when never set).'),
    startAt: z
      .union([z.number().int().min(0).max(8_640_000_000_000_000), z.string().datetime({ offset: true })])
      .nullable()
      .optional()
      .describe('Opening of a TIME_DEAL: epoch ms or ISO 8601; null: none; absent: unchanged.'),
    maxPerUser: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .nullable()
      .optional()
      .describe('Most units one user may hold in reservations; null: 1; absent: unchanged.'),
    queueMode: z
      .enum(['WAITING', 'DIRECT'])
      .optional()
      .describe('DIRECT: first-come claims, no waiting room; absent: unchanged (WAITING).'),
    lanes: z
      .array(z.string().regex(LANE_PATTERN))
      .min(1)
      .max(MAX_LANES)
      .refine((l) => new Set(l).size === l.length, 'lanes must be distinct')
      .nullable()
      .optional()
      .describe(
        'Priority lanes, highest first, e.g. ["vip", "regular"] (the `user-tier` header picks one); distinct; null: none.',
      ),
    maxWaiting: z
      .number()
      .int()
      .min(1)
      .max(1_000_000_000)
      .nullable()
      .optional()
      .describe('Most users waiting at once (409 QUEUE_FULL beyond); null: no cap; absent: unchanged.'),
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
  /** The order page of admitted shoppers; absent when none is configured. */
  targetUrl?: string;
  /** Queue policies, each absent when not set (then: GENERAL, maxPerUser 1, WAITING, one lane, no cap). */
  type?: 'GENERAL' | 'TIME_DEAL';
  /** Opening of a TIME_DEAL, epoch ms. */
  startAt?: number;
  maxPerUser?: number;
  queueMode?: 'WAITING' | 'DIRECT';
  lanes?: string[];
  maxWaiting?: number;
}

/** An ISO date-time or epoch ms as epoch ms; null and undefined pass through. */
function toEpochMs(v: number | string | null | undefined): number | null | undefined {
  return typeof v === 'string' ? Date.parse(v) : v;
}

/** Upper bound of the global N: a tick moves at most this many tokens per item. */
export const MAX_TOKEN_COUNT_TO_MOVE = 1_000_000;

/**
 * An item's ETag: `"<version>.<remainCount>"`, the settings version (+1 on every upsert) and the stock. Claims and
 * reservations change the stock part only.
 */
export function itemEtag(version: number, remainCount: number): string {
  return `"${version}.${remainCount}"`;
}

/** An If-Match precondition: `*` (the item exists) or one of our ETags, split into its two parts. */
export type ItemIfMatch = '*' | { version: number; remainCount: number };

/**
 * What a stock figure (`remainCount`) does to an item that exists: `set` writes it (trusted in-process callers:
 * seeding, warm-up, tests); `match` writes it only under an If-Match ETag whose stock part is the current stock
 * (the admin API: a blind set would undo claims and reservations Redis counted down); `keep` ignores it (upstream
 * events: they may create an item with its stock, never overwrite it).
 */
export type StockRule = 'set' | 'match' | 'keep';

/** Why {@link ItemStore.upsert} refused an upsert. */
export type UpsertRefusal =
  /** A TIME_DEAL without a startAt in the same input. */
  | 'TIME_DEAL_WITHOUT_START'
  /** A new item without remainCount. */
  | 'STOCK_REQUIRED'
  /** `ifMatch` was given and the item is missing or differs from it. */
  | 'ITEM_CHANGED'
  /** stockRule `match`: remainCount for an existing item without an ETag. */
  | 'STOCK_NEEDS_IF_MATCH';

/**
 * A domain refusal of {@link ItemStore.upsert}: nothing was written. The HTTP layer maps `reason` to its answer
 * (admin-app.ts); other callers (item sync, warm-up) treat it as any error.
 */
export class ItemUpsertRefused extends Error {
  constructor(
    readonly reason: UpsertRefusal,
    message: string,
  ) {
    super(message);
    this.name = 'ItemUpsertRefused';
  }
}

/** Options of {@link ItemStore.upsert}. */
export interface UpsertOptions {
  /** false keeps the item out of the scheduler's registry (the api's warm-up item); default true. */
  register?: boolean;
  /** Precondition: without remainCount only the settings version is compared; with it, the stock too. */
  ifMatch?: ItemIfMatch;
  /** Default `set`. */
  stockRule?: StockRule;
}

/** What an upsert did. */
export interface UpsertResult {
  created: boolean;
  /** True when the input's remainCount was ignored on an existing item (stockRule `keep`). */
  stockKept: boolean;
  item: WaitingItem;
  /** The stored item's ETag, read with `item`. */
  etag: string;
}

/** Fields of the item hash an item is read from, in order (lua/upsert-item-3.lua reads the same, in this order). */
const ITEM_FIELDS = [
  ItemField.itemName,
  ItemField.remainCount,
  ItemField.waitingQueueEnabled,
  ItemField.tokenCountToMove,
  ItemField.maxActiveUsers,
  ItemField.targetUrl,
  ItemField.type,
  ItemField.startAt,
  ItemField.maxPerUser,
  ItemField.queueMode,
  ItemField.lanes,
  ItemField.maxWaiting,
  ItemField.version,
];

/** What the scheduler records on an item hash, besides the item's settings (operators' console). */
export interface ItemSchedulerState {
  /** Admission capacity of the last tick, tokens per second (0 before the first tick). */
  admitRate: number;
  /** Registrations ever made in the item, all lanes (the `registered` field; the last lane's sequence before it). */
  registered: number;
  /** Redis time of the last admission tick, epoch ms; null before the first. */
  lastMoveAt: number | null;
  /** The fencing token of the last tick that moved the item, epoch ms (Redis clock); null before the first. */
  fence: number | null;
}

const SCHEDULER_STATE_FIELDS = [
  ItemField.admitRate,
  ItemField.seq,
  ItemField.lastMoveAt,
  ItemField.fence,
  ItemField.registered,
] as const;

/** The item and its ETag from the values of {@link ITEM_FIELDS}; null when the item does not exist. */
function toItemWithEtag(itemId: string, values: (string | null)[]): { item: WaitingItem; etag: string } | null {
  const [
    name,
    remain,
    enabled,
    n,
    maxActive,
    targetUrl,
    type,
    startAt,
    maxPerUser,
    queueMode,
    lanes,
    maxWaiting,
    version,
  ] = values;
  if (enabled === null || enabled === undefined) return null;
  const item: WaitingItem = {
    itemId,
    itemName: name ?? '',
    remainCount: Number(remain ?? 0),
    waitingQueueEnabled: enabled === '1',
    tokenCountToMove: n === null ? null : Number(n),
    maxActiveUsers: maxActive === null ? null : Number(maxActive),
    ...(targetUrl ? { targetUrl } : {}),
    ...(type ? { type: type as WaitingItem['type'] } : {}),
    ...(startAt ? { startAt: Number(startAt) } : {}),
    ...(maxPerUser ? { maxPerUser: Number(maxPerUser) } : {}),
    ...(queueMode ? { queueMode: queueMode as WaitingItem['queueMode'] } : {}),
    ...(lanes ? { lanes: lanes.split(',') } : {}),
    ...(maxWaiting ? { maxWaiting: Number(maxWaiting) } : {}),
  };
  return { item, etag: itemEtag(Number(version ?? 0), item.remainCount) };
}

/** Waiting items, the item registry and the global N. */
export class ItemStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly limits: IdempotencyLimits = DEFAULT_IDEMPOTENCY_LIMITS,
  ) {}

  /**
   * Creates or updates an item and registers it for the scheduler; returns the item as stored. The registry is written first: a crash
   * between the two writes leaves a registered id without an item, which the scheduler skips (NO_ITEM).
   * The precondition and the stock rule are checked in the same Lua script as the write (atomic).
   * @throws ItemUpsertRefused (nothing written): `TIME_DEAL_WITHOUT_START` when `type` is TIME_DEAL without a
   *   `startAt` in the same input; `STOCK_REQUIRED` when a new item comes without remainCount; `ITEM_CHANGED` when
   *   `ifMatch` is given and the item is missing or differs; `STOCK_NEEDS_IF_MATCH` when stockRule is `match` and
   *   remainCount comes for an existing item without an ETag.
   * @throws IdempotencyKeyReusedError when `idem`'s key was recorded for another request.
   * @param idem the request's Idempotency-Key: a retry with it gets the item (and ETag) as the first upsert stored
   *   it, and writes nothing.
   */
  async upsert(
    itemId: string,
    input: WaitingItemInput,
    opts: UpsertOptions = {},
    idem?: IdempotentRequest,
  ): Promise<UpsertResult> {
    const optional = (v: number | string | null | undefined) => (v === undefined ? '-' : v === null ? '' : v);
    if (input.type === 'TIME_DEAL' && (input.startAt === undefined || input.startAt === null)) {
      throw new ItemUpsertRefused('TIME_DEAL_WITHOUT_START', 'invalid waiting item: a TIME_DEAL needs a startAt');
    }
    const stockRequired = () =>
      new ItemUpsertRefused('STOCK_REQUIRED', 'invalid waiting item: remainCount is required to create an item');
    const exists = (await this.redis.exists(keys.item(itemId))) === 1;
    if (input.remainCount === undefined && !exists && opts.ifMatch === undefined) throw stockRequired();
    // register: false keeps the item out of the scheduler's registry (the api's warm-up item).
    if (opts.register !== false && (exists || opts.ifMatch === undefined))
      await this.redis.sadd(keys.itemRegistry, itemId);
    const m = opts.ifMatch;
    const reply = await callIdempotent<[number, ...(string | null)[]]>(
      this.redis,
      'wq_upsert_item',
      [keys.item(itemId)],
      [
        input.itemName,
        input.remainCount ?? '-',
        input.waitingQueueEnabled ? '1' : '0',
        optional(input.tokenCountToMove),
        optional(input.maxActiveUsers),
        optional(input.targetUrl),
        optional(input.type),
        optional(toEpochMs(input.startAt)),
        optional(input.maxPerUser),
        optional(input.queueMode),
        optional(input.lanes === undefined || input.lanes === null ? input.lanes : input.lanes.join(',')),
        optional(input.maxWaiting),
        m === undefined ? '' : m === '*' ? '*' : String(m.version),
        m === undefined || m === '*' || input.remainCount === undefined ? '' : String(m.remainCount),
        opts.stockRule ?? 'set',
      ],
      keys.idempotency(itemId),
      idem,
      this.limits,
    );
    const result = Number(reply[0]);
    if (result === -1) throw stockRequired();
    if (result === -2) {
      throw new ItemUpsertRefused(
        'ITEM_CHANGED',
        `waiting item ${itemId} ${exists ? 'changed since' : 'does not exist for'} the ETag of If-Match: GET it again`,
      );
    }
    if (result === -3) {
      throw new ItemUpsertRefused(
        'STOCK_NEEDS_IF_MATCH',
        `setting remainCount of the existing item ${itemId} needs If-Match with the ETag of a GET (so that claims and reservations since then are not undone); a restock adds units without it`,
      );
    }
    // The item as the script stored it (so a replay answers the same item and ETag as the first upsert).
    const stored = toItemWithEtag(itemId, reply.slice(1) as (string | null)[]);
    if (!stored) throw new Error(`item ${itemId} vanished after upsert`);
    return { created: result === 1, stockKept: result === 2, ...stored };
  }

  /** The item, or null when unknown. */
  async get(itemId: string): Promise<WaitingItem | null> {
    return (await this.getWithEtag(itemId))?.item ?? null;
  }

  /** The item and its ETag (see {@link itemEtag}), read together; null when unknown. */
  async getWithEtag(itemId: string): Promise<{ item: WaitingItem; etag: string } | null> {
    return toItemWithEtag(itemId, await this.redis.hmget(keys.item(itemId), ...ITEM_FIELDS));
  }

  /** The item and what the scheduler records on it, read together (one HMGET); null when unknown. */
  async getWithSchedulerState(itemId: string): Promise<{ item: WaitingItem; state: ItemSchedulerState } | null> {
    const values = await this.redis.hmget(keys.item(itemId), ...ITEM_FIELDS, ...SCHEDULER_STATE_FIELDS);
    const found = toItemWithEtag(itemId, values.slice(0, ITEM_FIELDS.length));
    if (!found) return null;
    const [admitRate, seq, lastMoveAt, fence, registered] = values.slice(ITEM_FIELDS.length);
    const orNull = (v: string | null | undefined) => (v === null || v === undefined ? null : Number(v));
    return {
      item: found.item,
      state: {
        admitRate: Number(admitRate ?? 0) || 0,
        registered: Number(registered ?? seq ?? 0),
        lastMoveAt: orNull(lastMoveAt),
        fence: orNull(fence),
      },
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

  /**
   * Sets the global N for every scheduler, from their next tick on (lua/set-token-count-to-move-3.lua).
   * @returns the N set: with `idem`, the one its key recorded.
   * @throws IdempotencyKeyReusedError, or Redis errors.
   */
  async setTokenCountToMove(n: number, idem?: IdempotentRequest): Promise<number> {
    const raw = await callIdempotent<[string, number]>(
      this.redis,
      'wq_set_token_count_to_move',
      [keys.tokenCountToMove],
      [n],
      keys.tokenCountToMoveIdempotency,
      idem,
      this.limits,
    );
    return Number(raw[1]);
  }

  /**
   * Adds `quantity` (>= 1) to the item's stock (lua/restock-4.lua, a delta: never a figure from elsewhere); the
   * queue reopens when it was 0.
   * @returns the new stock, or `NO_ITEM`.
   * @throws IdempotencyKeyReusedError, or Redis errors.
   */
  async restock(itemId: string, quantity: number, idem?: IdempotentRequest): Promise<number | 'NO_ITEM'> {
    const raw = await callIdempotent<[string, number?]>(
      this.redis,
      'wq_restock',
      [keys.item(itemId), keys.outbox(itemId)],
      [quantity, itemId],
      keys.idempotency(itemId),
      idem,
      this.limits,
    );
    return raw[0] === 'OK' ? Number(raw[1]) : 'NO_ITEM';
  }

  /** Writes the initial global N unless one is stored already (so a restart keeps an operator's value). */
  async initTokenCountToMove(n: number): Promise<number> {
    await this.redis.set(keys.tokenCountToMove, String(n), 'NX');
    return this.getTokenCountToMove(n);
  }
}
