// @ts-check
/**
 * Polling load of a drain, computed with the product's own poll policy (shared/poll-policy: pollAfterMs) against
 * a fixed 1 s poll.
 *
 * Model: `users` register within the first second (uniform offsets), ranks 1..users in order; the scheduler
 * admits `admissionsPerSecond` per tick at t = 1 s, 2 s, ...; the server answers each poll with the user's current
 * rank and the `pollAfterMs` the api would send (admitRate = admissionsPerSecond). A user stops at the first poll
 * that finds them admitted; the discovery delay is that poll's time minus the admission tick.
 * Registration responses are not counted as polls in either policy.
 *
 * @param {{users: number, admissionsPerSecond: number}} o
 * @returns {{users: number, admissionsPerSecond: number, serverPolicy: {polls: number, meanDiscoveryDelayMs: number},
 *   fixed1s: {polls: number, meanDiscoveryDelayMs: number}, ratio: number}} delays in ms
 */
function simulatePolling({ users, admissionsPerSecond }) {
  const { pollAfterMs } = require('@waiting-queue/core/poll-policy');
  const rate = admissionsPerSecond;
  // Deterministic pseudo-random offsets (mulberry32), so the figure is reproducible.
  let seed = 42;
  const rand = () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  /** @param {(rank: number) => number} nextInterval ms until the next poll at that rank */
  const run = (nextInterval) => {
    let polls = 0;
    let delay = 0;
    for (let r = 1; r <= users; r++) {
      const admittedAt = Math.ceil(r / rate) * 1000; // ms
      let t = rand() * 1000; // registration time, ms
      let rank = r - rate * Math.floor(t / 1000);
      for (;;) {
        t += nextInterval(rank);
        polls++;
        if (t >= admittedAt) {
          delay += t - admittedAt;
          break;
        }
        rank = r - rate * Math.floor(t / 1000);
      }
    }
    return { polls, meanDiscoveryDelayMs: delay / users };
  };
  const serverPolicy = run((rank) => pollAfterMs(rank, rate));
  const fixed1s = run(() => 1000);
  return { users, admissionsPerSecond, serverPolicy, fixed1s, ratio: serverPolicy.polls / fixed1s.polls };
}

module.exports = { simulatePolling };
