// @ts-check
/**
 * Pure statistics of a spike run (no I/O): percentiles, the load profile of the virtual users, and the FIFO check
 * of admissions. Used by scripts/lib/spike-core.js (the driver) and by the bench.
 */

/**
 * The p-th percentile of `values` (milliseconds or any unit), by linear interpolation between the closest ranks
 * (the "type 7" estimator of R and numpy's default): p=0 is the minimum, p=100 the maximum.
 * `values` need not be sorted and is not modified.
 * @param {number[]} values
 * @param {number} p percentile, 0..100
 * @returns {number|null} null when `values` is empty
 * @throws RangeError when p is not a number in [0, 100]
 */
function percentile(values, p) {
  if (typeof p !== 'number' || !(p >= 0 && p <= 100))
    throw new RangeError(`percentile must be within 0..100, got ${p}`);
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

/**
 * p50/p95/p99/max/mean of request durations, milliseconds rounded to 0.01 (null fields when there is none).
 * @param {number[]} durationsMs
 * @returns {{p50: number|null, p95: number|null, p99: number|null, max: number|null, mean: number|null}}
 */
function latencySummary(durationsMs) {
  const round = (/** @type {number|null} */ v) => (v === null ? null : Math.round(v * 100) / 100);
  const mean = durationsMs.length ? durationsMs.reduce((a, b) => a + b, 0) / durationsMs.length : null;
  return {
    p50: round(percentile(durationsMs, 50)),
    p95: round(percentile(durationsMs, 95)),
    p99: round(percentile(durationsMs, 99)),
    max: round(percentile(durationsMs, 100)),
    mean: round(mean),
  };
}

/**
 * When virtual user `vu` (1-based) runs, for the k6 stages ramp-up to `vus` / hold / ramp-down to 0 (k6's
 * `ramping-vus` with startVUs 0). VU `vu` is active while the linearly interpolated target is above `vu - 1`:
 * it starts at `rampUpMs * (vu-1) / vus` and stops starting iterations at
 * `rampUpMs + holdMs + rampDownMs * (vus - vu + 1) / vus` (the highest VUs leave first), milliseconds from the
 * start of the run.
 * @param {number} vu 1..vus
 * @param {{vus: number, rampUpMs: number, holdMs: number, rampDownMs: number}} stages
 * @returns {{startMs: number, stopMs: number}}
 * @throws RangeError when vu is not within 1..vus
 */
function vuWindow(vu, { vus, rampUpMs, holdMs, rampDownMs }) {
  if (!Number.isInteger(vu) || vu < 1 || vu > vus) throw new RangeError(`vu must be within 1..${vus}, got ${vu}`);
  return {
    startMs: (rampUpMs * (vu - 1)) / vus,
    stopMs: rampUpMs + holdMs + (rampDownMs * (vus - vu + 1)) / vus,
  };
}

/**
 * A user as the FIFO check sees it. Times on the driver's monotonic clock (performance.now()), ms; the admission
 * expiry is epoch ms on the Redis clock, null when not admitted.
 * @typedef {{userId: string, itemId: string, registerSentAt: number, registeredAt: number,
 *   admissionExpiresAt: number|null}} FifoUser
 */

/**
 * A violating pair: `ahead` registered before `behind` but was admitted later.
 * @typedef {{ahead: string, behind: string, aheadAdmissionExpiresAt: number, behindAdmissionExpiresAt: number}} FifoExample
 */

/**
 * Counts FIFO violations of admissions within each item.
 *
 * User A is definitely ahead of user B in an item's waiting queue when A's registration response arrived before
 * B's registration request was sent (`A.registeredAt < B.registerSentAt`, both on the driver's monotonic clock).
 * The pair (A, B) is a violation when A was admitted later than B: `A.admissionExpiresAt > B.admissionExpiresAt`
 * (the admission expiry is set once per tick as Redis time + the entry TTL, which is the same for all users, so
 * it orders admissions by tick). Users without an admission (`admissionExpiresAt` null) are left out: they are
 * counted as not admitted elsewhere. Overlapping registrations (neither is definitely ahead) are never violations.
 *
 * O(n log n) per item: a sweep over the users in `registerSentAt` order with a Fenwick tree over the admission
 * expiries of the users already known to be ahead.
 *
 * @param {FifoUser[]} users
 * @param {number} [maxExamples=5] how many violating pairs to return as examples
 * @returns {{violations: number, examples: FifoExample[]}} violations = number of violating pairs
 */
function countFifoViolations(users, maxExamples = 5) {
  /** @typedef {(typeof users)[number] & {admissionExpiresAt: number}} AdmittedUser */
  /** @type {Map<string, AdmittedUser[]>} */
  const byItem = new Map();
  for (const u of users) {
    if (u.admissionExpiresAt === null || u.admissionExpiresAt === undefined) continue;
    if (!byItem.has(u.itemId)) byItem.set(u.itemId, []);
    /** @type {AdmittedUser[]} */ (byItem.get(u.itemId)).push(/** @type {AdmittedUser} */ (u));
  }
  let violations = 0;
  /** @type {FifoExample[]} */
  const examples = [];
  for (const list of byItem.values()) {
    // Admission expiries, compressed to 1-based Fenwick indexes.
    const distinct = [...new Set(list.map((u) => u.admissionExpiresAt))].sort((a, b) => a - b);
    const indexOf = new Map(distinct.map((v, i) => [v, i + 1]));
    const tree = new Int32Array(distinct.length + 1);
    const add = (/** @type {number} */ i) => {
      for (; i < tree.length; i += i & -i) tree[i]++;
    };
    const countUpTo = (/** @type {number} */ i) => {
      let c = 0;
      for (; i > 0; i -= i & -i) c += tree[i];
      return c;
    };
    const ahead = [...list].sort((a, b) => a.registeredAt - b.registeredAt);
    const behind = [...list].sort((a, b) => a.registerSentAt - b.registerSentAt);
    let inserted = 0;
    /** @type {AdmittedUser | null} */
    let latestAhead = null; // the inserted user with the largest admission expiry, for the examples
    for (const b of behind) {
      while (inserted < ahead.length && ahead[inserted].registeredAt < b.registerSentAt) {
        const a = ahead[inserted++];
        add(/** @type {number} */ (indexOf.get(a.admissionExpiresAt)));
        if (!latestAhead || a.admissionExpiresAt > latestAhead.admissionExpiresAt) latestAhead = a;
      }
      const later = inserted - countUpTo(/** @type {number} */ (indexOf.get(b.admissionExpiresAt)));
      violations += later;
      if (later > 0 && examples.length < maxExamples) {
        // A later admission ahead means one was inserted.
        const top = /** @type {AdmittedUser} */ (latestAhead);
        examples.push({
          ahead: top.userId,
          behind: b.userId,
          aheadAdmissionExpiresAt: top.admissionExpiresAt,
          behindAdmissionExpiresAt: b.admissionExpiresAt,
        });
      }
    }
  }
  return { violations, examples };
}

module.exports = { percentile, latencySummary, vuWindow, countFifoViolations };
