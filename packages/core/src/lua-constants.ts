/**
 * Constants that the Lua scripts and the TypeScript code share, defined once here. A script names one with a line
 * `-- @const NAME`, which scripts.ts replaces with `local NAME = <value>` when it loads the script; a script that
 * names a constant this table lacks fails to load.
 */

/** Place numbers per priority lane (lua/includes/lanes.lua: lane r owns (-r * LANE_SPAN, (1 - r) * LANE_SPAN]). */
export const LANE_SPAN = 2 ** 40;

/** Most lanes per item: MAX_LANES * LANE_SPAN stays below 2^53, so every place number is exact in doubles. */
export const MAX_LANES = 8;

/** XADD MAXLEN ~ of an outbox no relay has seen yet (lua/includes/outbox.lua): a bound for when nothing reads it. */
export const OUTBOX_MAXLEN = 100_000;

/**
 * Most removed places a snapshot lists per lane (lua/snapshot-5.lua): a lane with more removed places between its
 * head and its tail is not answered from memory (its polls read Redis) until admission passes them.
 */
export const SNAPSHOT_MAX_REMOVED = 1000;

if (MAX_LANES * LANE_SPAN > Number.MAX_SAFE_INTEGER) throw new Error('MAX_LANES * LANE_SPAN must stay below 2^53');

/** The statuses of a reservation record (lua/includes/reservation.lua writes them; wire names of the API). */
export const RESERVATION_STATUS = {
  PENDING: 'PENDING',
  CONFIRMED: 'CONFIRMED',
  CANCELLED: 'CANCELLED',
  EXPIRED: 'EXPIRED',
} as const;

/**
 * The constants `-- @const NAME` may name, by name: an integer becomes a Lua number literal, a table of strings a
 * Lua table of string literals (`{PENDING = 'PENDING', ...}`).
 */
export const LUA_CONSTANTS: Readonly<Record<string, number | Readonly<Record<string, string>>>> = {
  LANE_SPAN,
  MAX_LANES,
  OUTBOX_MAXLEN,
  RESERVATION_STATUS,
  SNAPSHOT_MAX_REMOVED,
};
