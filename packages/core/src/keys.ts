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
 *                                    On an item with priority lanes there is one record per tick and lane: a place
 *                                    number carries its lane (lua/includes/lanes.lua: seq - r * 2^40, r counted from
 *                                    the last lane), each lane owns its own range of numbers, and the ranges of one
 *                                    lane are admitted in order. The default lane (r = 0) is numbered as before.
 * - `wq:{<itemId>}:last-poll`  ZSET  member = waiting userId, score = last register/poll, epoch ms; written only
 *                                    when ABANDON_AFTER_SECONDS > 0 (dropped by the tick after that long).
 * - `wq:{<itemId>}:outbox`     STREAM the item's events, appended by the same Lua script that makes each change
 *                                    (XADD MAXLEN ~ OUTBOX_MAXLEN until a relay has seen the item, then untrimmed: the relay
 *                                    trims it up to its cursor, lua/includes/outbox.lua). Entry fields: `id` ('<itemId>:<n>', n = HINCRBY of
 *                                    the item hash's `eventSeq`: unique, stable), `type`, `itemId`, `at` (epoch ms,
 *                                    Redis clock), `payload` (JSON). Types and payloads: see events.ts
 *                                    ({@link EventPayloads}); lua/includes/outbox.lua writes them.
 * - `wq:{<itemId>}:outbox-cursor` STRING the stream entry id of the last event Kafka acknowledged (outbox relay;
 *                                    moved only by lua/relay-cursor-3.lua).
 * - `wq:{<itemId>}:reservations`         HASH n -> reservation record JSON (id `<itemId>.<n>`; see reservation-store.ts).
 * - `wq:{<itemId>}:reservations-pending` ZSET n by expiresAt (epoch ms): the PENDING ones, swept by the scheduler.
 * - `wq:{<itemId>}:reservations-done`    ZSET n by the time it was settled: purged after RESERVATION_RETENTION_SECONDS.
 * - `wq:{<itemId>}:holdings`   HASH  userId -> quantity held in PENDING + CONFIRMED reservations (maxPerUser).
 * - `wq:{<itemId>}:claims`     HASH  userId -> claimId (`<itemId>.c<n>`) of DIRECT items: one claim per user.
 * - `wq:{<itemId>}:idempotency`        HASH Idempotency-Key -> `{f: request fingerprint, r: script reply}` (JSON) of
 *                                      the item's writes (lua/includes/idempotency.lua).
 * - `wq:{<itemId>}:idempotency-expiry` ZSET Idempotency-Key by expiry, epoch ms (Redis clock): trimmed and capped
 *                                      (IDEMPOTENCY_TTL_SECONDS, IDEMPOTENCY_MAX_KEYS) by each write that records.
 * - `wq:{<itemId>}:removed`   ZSET  places of waiting users dropped other than by admission (abandonment): member and
 *                                    score = the place number; trimmed below each lane's head by each snapshot.
 * - `wq:{<itemId>}:snapshot`  HASH  the item's latest snapshot, written by the scheduler after each admission tick
 *                                    (lua/snapshot-5.lua, snapshot-store.ts): `version` (+1 per snapshot), `body` (JSON).
 * - `wq:{<itemId>}:snapshot-channel` pub/sub channel (SPUBLISH on a Cluster, PUBLISH otherwise) of the same snapshot
 *                                    bodies; its hash tag puts it in the item's slot.
 * - `wq:{<itemId>}:history`   LIST  the console's per-tick samples of the item, oldest first, JSON
 *                                    `[atMs, waiting, admitted, moved, tickDurationMs]` (atMs: the tick's slot, Redis
 *                                    clock), trimmed to the last 15 minutes of ticks (scheduler history.ts).
 *
 * Global:
 * - `wq:items`                          SET    the item registry: every item the scheduler ticks over (no KEYS/SCAN).
 * - `wq:config:token-count-to-move`     STRING global N, shared by every scheduler.
 * - `{wq:config:token-count-to-move}:idempotency`, `…:idempotency-expiry`  the Idempotency-Key records of the N
 *                                        change: their hash tag is the whole name of the N key, so all three share
 *                                        its slot (one script on Redis Cluster) without renaming the N key.
 * - `wq:token-secret`                   STRING HMAC secret for token ids when `TOKEN_SECRET` is not configured.
 * - `wq:config:abandon-after-ms`        STRING the api's ABANDON_AFTER_SECONDS x 1000 (0: off), read by every
 *                                              admission tick (abandonment.ts).
 * - `wq:{scheduler}:relay-lease`       STRING holder id of the outbox relay lease (lua/relay-lease-2.lua).
 * - `wq:{scheduler}:relay-lease-epoch` STRING the lease's fencing token, +1 per new holder.
 * - `wq:{scheduler}:history`          LIST   the same samples summed over all items (scheduler history.ts).
 * - `wq:{admin}:audit`                 STREAM the admin audit trail: one entry per admin change (scheduler audit.ts),
 *                                              XADD MAXLEN ~ 10000.
 * - `wq:{scheduler}:run:<slot>`         STRING run election of the admission tick: which scheduler runs the slot
 *                                              (`<slot>`: its ISO time, from Redis TIME; coordinator.ts).
 * - `wq:entry-pass-key`                STRING the api's generated entry-pass signing key (private JWK, JSON) when
 *                                              ENTRY_PASS_PRIVATE_JWK is not configured (api entry-pass.ts).
 * - `wq:rl:register:user:<userId>`, `wq:rl:register:ip:<ip>`  registration rate-limit counters, written by
 *                                              rate-limiter-flexible under the key prefixes below (api rate-limit.ts).
 */
export const keys = {
  item: (itemId: string) => `wq:{${itemId}}:item`,
  waiting: (itemId: string) => `wq:{${itemId}}:waiting`,
  /** The item's admitted users (the ZSET named `entry` in Redis). */
  admitted: (itemId: string) => `wq:{${itemId}}:entry`,
  /** The item's admission batches (the ZSET named `entry-batches` in Redis). */
  admissionBatches: (itemId: string) => `wq:{${itemId}}:entry-batches`,
  /** The four keys of an item's queue state, in the order every queue script takes them. */
  queue: (itemId: string): [string, string, string, string] => [
    keys.item(itemId),
    keys.waiting(itemId),
    keys.admitted(itemId),
    keys.admissionBatches(itemId),
  ],
  lastPoll: (itemId: string) => `wq:{${itemId}}:last-poll`,
  outbox: (itemId: string) => `wq:{${itemId}}:outbox`,
  outboxCursor: (itemId: string) => `wq:{${itemId}}:outbox-cursor`,
  reservations: (itemId: string) => `wq:{${itemId}}:reservations`,
  reservationsPending: (itemId: string) => `wq:{${itemId}}:reservations-pending`,
  reservationsDone: (itemId: string) => `wq:{${itemId}}:reservations-done`,
  holdings: (itemId: string) => `wq:{${itemId}}:holdings`,
  claims: (itemId: string) => `wq:{${itemId}}:claims`,
  /**
   * Places of waiting users dropped other than by admission (abandonment, lua/admit-7.lua): ZSET, member and score
   * = the place number; lua/snapshot-5.lua lists those between each lane's head and tail, and trims those below it.
   */
  removedPlaces: (itemId: string) => `wq:{${itemId}}:removed`,
  /** The item's latest snapshot (HASH `version`, `body`; lua/snapshot-5.lua). */
  snapshot: (itemId: string) => `wq:{${itemId}}:snapshot`,
  /** The pub/sub channel of the item's snapshots (sharded on a Cluster: the item's hash tag picks the shard). */
  snapshotChannel: (itemId: string) => `wq:{${itemId}}:snapshot-channel`,
  /** The two Idempotency-Key keys of an item (records, expiries), in the order the write scripts take them. */
  idempotency: (itemId: string): [string, string] => [
    `wq:{${itemId}}:idempotency`,
    `wq:{${itemId}}:idempotency-expiry`,
  ],
  /** The six keys of the reservation scripts (confirm, cancel, expire), in their order. */
  reservationState: (itemId: string): [string, string, string, string, string, string] => [
    keys.item(itemId),
    keys.holdings(itemId),
    keys.reservations(itemId),
    keys.reservationsPending(itemId),
    keys.reservationsDone(itemId),
    keys.outbox(itemId),
  ],
  itemRegistry: 'wq:items',
  tokenCountToMove: 'wq:config:token-count-to-move',
  /** The Idempotency-Key keys of the global N change, in the N key's slot (records, expiries). */
  tokenCountToMoveIdempotency: [
    '{wq:config:token-count-to-move}:idempotency',
    '{wq:config:token-count-to-move}:idempotency-expiry',
  ] as [string, string],
  tokenSecret: 'wq:token-secret',
  abandonAfterMs: 'wq:config:abandon-after-ms',
  relayLease: 'wq:{scheduler}:relay-lease',
  relayLeaseEpoch: 'wq:{scheduler}:relay-lease-epoch',
  schedulerRun: (slotKey: string) => `wq:{scheduler}:run:${slotKey}`,
  entryPassKey: 'wq:entry-pass-key',
  /** Key prefixes of the registration rate limits; rate-limiter-flexible appends `:<userId>` / `:<ip>`. */
  rateLimitRegisterUserPrefix: 'wq:rl:register:user',
  rateLimitRegisterIpPrefix: 'wq:rl:register:ip',
  /** Per-tick samples of one item for the console's charts. */
  itemHistory: (itemId: string) => `wq:{${itemId}}:history`,
  /** Per-tick samples summed over all items. */
  totalHistory: 'wq:{scheduler}:history',
  adminAudit: 'wq:{admin}:audit',
} as const;

/**
 * The item hash field of lane r's own sequence (r counted from the last lane, lua/includes/lanes.lua): `seq` for
 * the last lane, `seq:<r>` for a higher one. Each lane numbering its own places keeps one lane's numbers contiguous.
 */
export function laneSeqField(r: number): string {
  return r === 0 ? 'seq' : `seq:${r}`;
}

/** Fields of the item hash `wq:{<itemId>}:item`. */
export const ItemField = {
  itemName: 'itemName',
  remainCount: 'remainCount',
  waitingQueueEnabled: 'enabled',
  tokenCountToMove: 'tokenCountToMove',
  maxActiveUsers: 'maxActiveUsers',
  /** Order page of admitted shoppers (optional). */
  targetUrl: 'targetUrl',
  /**
   * The last (default) lane's sequence, HINCRBY on every new registration in it: on an item without lanes, every
   * registration. A higher lane r counts its own in {@link laneSeqField}(r) (lua/includes/lanes.lua).
   */
  seq: 'seq',
  /** Registrations ever made in the item, all lanes (HINCRBY per new place; absent on an item none registered for since). */
  registered: 'registered',
  /** Slot (epoch ms, Redis clock) of the last tick that moved this item: the fencing token (admit-7.lua). */
  fence: 'fence',
  /** Redis time (epoch ms) of the last admission tick. */
  lastMoveAt: 'lastMoveAt',
  /** Admission capacity in tokens per second, written by the scheduler each tick. */
  admitRate: 'admitRate',
  /** 'GENERAL' (absent) | 'TIME_DEAL' (registration and claims refused before startAt). */
  type: 'type',
  /** Opening time of a TIME_DEAL, epoch ms. */
  startAt: 'startAt',
  /** Most units one user may hold in reservations (absent: 1). */
  maxPerUser: 'maxPerUser',
  /** 'WAITING' (absent) | 'DIRECT' (first-come claims, no waiting room). */
  queueMode: 'queueMode',
  /** Priority lanes, comma-separated, highest first (absent: one lane). */
  lanes: 'lanes',
  /** Most users waiting at once (absent: no cap). */
  maxWaiting: 'maxWaiting',
  /** Settings version, +1 on every upsert (lua/upsert-item-3.lua); with remainCount it makes the item's ETag. */
  version: 'version',
  /** Counters: reservation numbers, claim numbers, outbox event numbers (HINCRBY). */
  rsvSeq: 'rsvSeq',
  claimSeq: 'claimSeq',
  eventSeq: 'eventSeq',
  /**
   * Set once an outbox relay has seen the item (0), then the lease epoch of the relay that last moved its cursor:
   * while present, appends no longer trim the outbox (lua/includes/outbox.lua), and older lease holders are fenced.
   */
  relayEpoch: 'relayEpoch',
} as const;
