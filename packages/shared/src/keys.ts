/**
 * The Redis key layout, owned by this one module.
 *
 * Every key of one item carries the hash tag `{<itemId>}` so that the multi-key Lua scripts that change an item's
 * state run on Redis Cluster (all keys of a script must live in one slot). Global keys carry their own tags.
 *
 * Per item:
 * - `wq:{<itemId>}:item`       HASH  the waiting item and its scheduler state (see {@link ItemField}).
 * - `wq:{<itemId>}:waiting`    ZSET  waiting queue: member = userId, score = the item's sequence number at
 *                                    registration (strict FIFO, independent of any host clock).
 * - `wq:{<itemId>}:entry`      ZSET  entry set: member = userId, score = the user's sequence number (kept from the
 *                                    waiting queue, to check tokens).
 * - `wq:{<itemId>}:entry-batches` ZSET one record per admission tick: score = the batch's highest sequence, member =
 *                                    `<highestSeq>:<expiresAtMs>` (Redis clock). Ticks admit contiguous sequence
 *                                    ranges, so this gives every admitted user's expiry without a record per user.
 *
 * Global:
 * - `wq:items`                          SET    the item registry: every item the scheduler ticks over (no KEYS/SCAN).
 * - `wq:config:token-count-to-move`     STRING global N, shared by every scheduler.
 * - `wq:token-secret`                   STRING HMAC secret for token ids when `TOKEN_SECRET` is not configured.
 * - `wq:{scheduler}:run:<slot>`         STRING node-cron run election: which scheduler runs that tick.
 */
export const keys = {
  item: (itemId: string) => `wq:{${itemId}}:item`,
  waiting: (itemId: string) => `wq:{${itemId}}:waiting`,
  entry: (itemId: string) => `wq:{${itemId}}:entry`,
  entryBatches: (itemId: string) => `wq:{${itemId}}:entry-batches`,
  /** The four keys of an item's queue state, in the order every queue script takes them. */
  queue: (itemId: string): [string, string, string, string] => [
    keys.item(itemId),
    keys.waiting(itemId),
    keys.entry(itemId),
    keys.entryBatches(itemId),
  ],
  itemRegistry: 'wq:items',
  tokenCountToMove: 'wq:config:token-count-to-move',
  tokenSecret: 'wq:token-secret',
  schedulerRun: (slotKey: string) => `wq:{scheduler}:run:${slotKey}`,
} as const;

/** Fields of the item hash `wq:{<itemId>}:item`. */
export const ItemField = {
  itemName: 'itemName',
  remainCount: 'remainCount',
  waitingQueueEnabled: 'enabled',
  tokenCountToMove: 'tokenCountToMove',
  maxActiveUsers: 'maxActiveUsers',
  /** Per-item sequence, HINCRBY on every new registration. */
  seq: 'seq',
  /** Scheduled time (epoch ms) of the last tick that moved this item: the fencing token. */
  fence: 'fence',
  /** Redis time (epoch ms) of the last admission tick. */
  lastMoveAt: 'lastMoveAt',
  /** Admission capacity in tokens per second, written by the scheduler each tick. */
  admitRate: 'admitRate',
} as const;
