import { LANE_SPAN } from './lua-constants';
import type { ItemSnapshot } from './snapshot-store';

/** One lane of a {@link RankIndex}: a {@link LaneSnapshot} with numbers instead of strings. */
interface LaneIndex {
  /** Users waiting in the lanes of higher priority, at the snapshot. */
  ahead: number;
  waiting: number;
  /** Lowest and highest waiting place number; NaN when none wait. */
  head: number;
  tail: number;
  /** Highest place number admitted so far; -Infinity when none was. */
  admittedThrough: number;
  /** Highest place number the lane's sequence had given out; NaN when unknown. */
  issuedThrough: number;
  /** Removed place numbers strictly between head and tail, ascending; null: the lane is not answered from memory. */
  removed: Float64Array | null;
}

/**
 * A snapshot prepared for counting ranks: built once per snapshot ({@link indexSnapshot}), then each poll costs a
 * map lookup and, where places were removed, a binary search.
 */
export interface RankIndex {
  /** Lanes by r (0: the last lane); absent when the snapshot cannot answer for any lane. */
  lanes: Map<number, LaneIndex>;
}

/** r of the lane owning place number `place` (lua/includes/lanes.lua `laneOf`): 0 for place > 0. */
export function laneOfPlace(place: number): number {
  return place > 0 ? 0 : Math.ceil((1 - place) / LANE_SPAN);
}

const num = (v: string | null | undefined, none: number) => (v === null || v === undefined ? none : Number(v));

/**
 * Prepares `s` for {@link rankFromIndex}. A snapshot whose lanes do not add up to its `waiting` (places of a lane
 * since removed from the item's lanes still wait) gets no lanes: none of its polls is answered from memory, since
 * the rank of every place behind those is not known from it.
 */
export function indexSnapshot(s: ItemSnapshot): RankIndex {
  const lanes = new Map<number, LaneIndex>();
  if (s.lanes.reduce((sum, l) => sum + l.waiting, 0) !== s.waiting) return { lanes };
  let ahead = 0;
  for (const l of s.lanes) {
    lanes.set(l.rank, {
      ahead,
      waiting: l.waiting,
      head: num(l.head, NaN),
      tail: num(l.tail, NaN),
      admittedThrough: num(l.admittedThrough, -Infinity),
      issuedThrough: num(l.issuedThrough, NaN),
      removed: l.removed ? Float64Array.from(l.removed, Number).sort() : null,
    });
    ahead += l.waiting;
  }
  return { lanes };
}

/** How many entries of the ascending `sorted` are below `x` (binary search). */
function countBelow(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The 1-based rank of the waiting place `place` as of the snapshot, or undefined when the snapshot cannot say it
 * exactly, and the caller must read Redis:
 * - the place is at or below its lane's admitted watermark (admitted, consumed or expired);
 * - the place is below the lane's head, or between head and tail but removed (abandoned: Redis says 404);
 * - the lane's places between head and tail are not all accounted for (`removed` null), or its lane is unknown;
 * - the place is above the tail but not above `issuedThrough` (issued before the snapshot yet not waiting then).
 *
 * A place above `issuedThrough` registered after the snapshot: the lane's own sequence numbers places one after
 * the other, so the places from `issuedThrough` to it all wait (nothing but a tick removes a waiting place), and it
 * ranks after every place waiting at the snapshot. Registrations in higher lanes since the snapshot are not
 * counted: rank is exact as of the latest tick.
 *
 * Where it comes from: a lane's waiting places are a contiguous range of one sequence with known holes, the way a
 * TCP receiver knows its window from the next expected sequence number and a SACK list of the gaps.
 */
export function rankFromIndex(index: RankIndex, place: number): number | undefined {
  const lane = index.lanes.get(laneOfPlace(place));
  if (!lane || place <= lane.admittedThrough) return undefined;
  if (place >= lane.head && place <= lane.tail) {
    const removed = lane.removed;
    if (!removed) return undefined;
    const below = countBelow(removed, place);
    if (below < removed.length && removed[below] === place) return undefined;
    return lane.ahead + (place - lane.head + 1) - below;
  }
  if (place > lane.issuedThrough) return lane.ahead + lane.waiting + (place - lane.issuedThrough);
  return undefined;
}
