import fc from 'fast-check';
import {
  POLL_MAX_MS,
  POLL_MIN_MS,
  POLL_PAUSED_MS,
  estimateWaitSeconds,
  pollAfterMs,
} from '@waiting-queue/core/poll-policy';

const rank = fc.integer({ min: 1, max: 10_000_000 });
const rate = fc.double({ min: 0.001, max: 100_000, noNaN: true });

describe('estimateWaitSeconds', () => {
  test('is 0 once admitted (rank 0) and null while nobody is admitted (rate 0 or not a number)', () => {
    expect(estimateWaitSeconds(0, 10)).toBe(0);
    expect(estimateWaitSeconds(0, 0)).toBe(0);
    expect(estimateWaitSeconds(5, 0)).toBeNull();
    expect(estimateWaitSeconds(5, -1)).toBeNull();
    expect(estimateWaitSeconds(5, Number.NaN)).toBeNull();
  });

  test('rounds up to whole seconds: rank 1 at 10/s waits 1 s, rank 25 at 10/s waits 3 s', () => {
    expect(estimateWaitSeconds(1, 10)).toBe(1);
    expect(estimateWaitSeconds(25, 10)).toBe(3);
    expect(estimateWaitSeconds(30, 10)).toBe(3);
  });

  test('property: never less than rank / rate, less than one second more, and never smaller for a user further back', () => {
    fc.assert(
      fc.property(rank, rank, rate, (a, b, r) => {
        const wait = estimateWaitSeconds(a, r)!;
        expect(wait).toBeGreaterThanOrEqual(a / r - 1e-9);
        expect(wait).toBeLessThan(a / r + 1);
        expect(Number.isInteger(wait)).toBe(true);
        if (a <= b) expect(estimateWaitSeconds(b, r)!).toBeGreaterThanOrEqual(wait);
      }),
    );
  });
});

describe('pollAfterMs', () => {
  test('is 0 once admitted and POLL_PAUSED_MS while admission is paused', () => {
    expect(pollAfterMs(0, 10)).toBe(0);
    expect(pollAfterMs(-3, 10)).toBe(0);
    expect(pollAfterMs(7, 0)).toBe(POLL_PAUSED_MS);
    expect(pollAfterMs(7, Number.NaN)).toBe(POLL_PAUSED_MS);
  });

  test('is half the estimated wait between the bounds: rank 40 at 10/s polls after 2 s', () => {
    expect(pollAfterMs(40, 10)).toBe(2000);
    expect(pollAfterMs(1, 10)).toBe(POLL_MIN_MS);
    expect(pollAfterMs(1_000_000, 1)).toBe(POLL_MAX_MS);
  });

  test('property: a waiting user polls within [POLL_MIN_MS, POLL_MAX_MS], in whole ms, never later than half the wait allows', () => {
    fc.assert(
      fc.property(rank, rate, (k, r) => {
        const ms = pollAfterMs(k, r);
        expect(Number.isInteger(ms)).toBe(true);
        expect(ms).toBeGreaterThanOrEqual(POLL_MIN_MS);
        expect(ms).toBeLessThanOrEqual(POLL_MAX_MS);
        // Above the floor, the next poll comes no later than half the remaining wait (so the admission is seen).
        if (ms > POLL_MIN_MS) expect(ms).toBeLessThanOrEqual(Math.round((k / r) * 500));
      }),
    );
  });

  test('property: a user further back never polls sooner, and a faster admission rate never makes a user poll later', () => {
    fc.assert(
      fc.property(rank, rank, rate, rate, (a, b, r1, r2) => {
        const [near, far] = a <= b ? [a, b] : [b, a];
        const [slow, fast] = r1 <= r2 ? [r1, r2] : [r2, r1];
        expect(pollAfterMs(far, slow)).toBeGreaterThanOrEqual(pollAfterMs(near, slow));
        expect(pollAfterMs(near, fast)).toBeLessThanOrEqual(pollAfterMs(near, slow));
      }),
    );
  });
});
