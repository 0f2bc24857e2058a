import { countFifoViolations, percentile, thresholdFailures, vuWindow, type FifoUser } from '../scripts/lib/spike-core';

/** A user of item `itemId` whose registration took [sent, received] on the driver clock, admitted at tick `exp`. */
const user = (userId: string, itemId: string, sent: number, received: number, exp: number | null): FifoUser => ({
  userId,
  itemId,
  registerSentAt: sent,
  registeredAt: received,
  admissionExpiresAt: exp,
});

/** Deterministic PRNG (mulberry32), so a failure reproduces. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('percentile', () => {
  test('interpolates linearly between the closest ranks, from min (p0) to max (p100)', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted on purpose
    const copy = [...values];
    expect(percentile(values, 0)).toBe(1);
    expect(percentile(values, 50)).toBeCloseTo(50.5, 10);
    expect(percentile(values, 95)).toBeCloseTo(95.05, 10);
    expect(percentile(values, 99)).toBeCloseTo(99.01, 10);
    expect(percentile(values, 100)).toBe(100);
    expect(values).toEqual(copy); // the input is not sorted in place
  });

  test('one value is every percentile; no value gives null; p outside 0..100 throws', () => {
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([], 50)).toBeNull();
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], Number.NaN)).toThrow(RangeError);
  });
});

describe('countFifoViolations', () => {
  test('sequential registrations admitted in order, or in the same tick, violate nothing', () => {
    const users = [user('a', '1', 0, 1, 1000), user('b', '1', 2, 3, 1000), user('c', '1', 4, 5, 2000)];
    expect(countFifoViolations(users)).toEqual({ violations: 0, examples: [] });
  });

  test('a user definitely ahead but admitted in a later tick is a violation, with an example', () => {
    const users = [user('a', '1', 0, 1, 2000), user('b', '1', 2, 3, 1000)];
    const r = countFifoViolations(users);
    expect(r.violations).toBe(1);
    expect(r.examples).toEqual([
      { ahead: 'a', behind: 'b', aheadAdmissionExpiresAt: 2000, behindAdmissionExpiresAt: 1000 },
    ]);
  });

  test('overlapping registrations are not ordered, so any admission order is fine', () => {
    // b was sent before a's response arrived: the server may have ranked either first.
    const users = [user('a', '1', 0, 5, 2000), user('b', '1', 4, 6, 1000)];
    expect(countFifoViolations(users).violations).toBe(0);
  });

  test('items are checked separately, and users without an admission are left out', () => {
    const users = [user('a', '1', 0, 1, 2000), user('b', '2', 2, 3, 1000), user('c', '1', 4, 5, null)];
    expect(countFifoViolations(users).violations).toBe(0);
  });

  test('counts every violating pair', () => {
    // a, b ahead of c and d; both admitted after them: 4 pairs. c ahead of d, same tick: none.
    const users = [
      user('a', '1', 0, 1, 3000),
      user('b', '1', 2, 3, 3000),
      user('c', '1', 4, 5, 1000),
      user('d', '1', 6, 7, 1000),
    ];
    expect(countFifoViolations(users, 2)).toMatchObject({ violations: 4 });
    expect(countFifoViolations(users, 2).examples).toHaveLength(2);
  });

  test('agrees with the O(n^2) definition on random runs', () => {
    const random = prng(42);
    for (let run = 0; run < 30; run++) {
      const users: FifoUser[] = [];
      for (let i = 0; i < 60; i++) {
        const sent = Math.floor(random() * 1000);
        users.push(
          user(
            `u${i}`,
            String(1 + Math.floor(random() * 3)),
            sent,
            sent + 1 + Math.floor(random() * 50),
            random() < 0.1 ? null : 1000 * Math.floor(random() * 5),
          ),
        );
      }
      let expected = 0;
      for (const a of users) {
        for (const b of users) {
          if (a.itemId !== b.itemId || a.admissionExpiresAt === null || b.admissionExpiresAt === null) continue;
          if (a.registeredAt < b.registerSentAt && a.admissionExpiresAt > b.admissionExpiresAt) expected++;
        }
      }
      expect(countFifoViolations(users).violations).toBe(expected);
    }
  });
});

describe('vuWindow (k6 ramping-vus stages)', () => {
  const stages = { vus: 50, rampUpMs: 1000, holdMs: 10_000, rampDownMs: 1000 };

  test('VUs start over the ramp-up and the highest ones leave first over the ramp-down', () => {
    expect(vuWindow(1, stages)).toEqual({ startMs: 0, stopMs: 12_000 });
    expect(vuWindow(50, stages)).toEqual({ startMs: 980, stopMs: 11_020 });
    expect(() => vuWindow(51, stages)).toThrow(RangeError);
  });
});

describe('thresholdFailures', () => {
  const good = { registered: 10, admitted: 10, fifoViolations: 0, errorRate: 0, p95: 5 };

  test('a clean run passes; each broken invariant is reported', () => {
    expect(thresholdFailures(good)).toEqual([]);
    expect(thresholdFailures({ ...good, fifoViolations: 2 })).toEqual(['2 FIFO violation(s)']);
    expect(thresholdFailures({ ...good, admitted: 9 })).toEqual(['admitted 9 < registered 10']);
    expect(thresholdFailures({ ...good, errorRate: 0.01 })).toHaveLength(1);
    expect(thresholdFailures({ ...good, p95: 100 })).toEqual(['p95 100 ms >= 100 ms']);
    expect(thresholdFailures({ ...good, p95: 100 }, { maxP95Ms: null })).toEqual([]);
    expect(thresholdFailures({ ...good, registered: 0, admitted: 0 })).toHaveLength(1);
  });
});
