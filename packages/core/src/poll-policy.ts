/**
 * When a waiting user should poll next, and how long the wait is likely to be.
 *
 * The server tells the client when to come back, as Cloudflare Waiting Room's `refreshIntervalSeconds` does:
 * a user far back polls rarely, a user near the front about once per tick. Each poll waits half of the
 * remaining estimated wait, so a user makes O(log wait) polls instead of one per second, and the admission is
 * discovered within about one minimum interval.
 */
export const POLL_MIN_MS = 1000;
/** The default longest poll interval, milliseconds (POLL_MAX_SECONDS). */
export const POLL_MAX_MS = 30_000;
/** Poll interval while admission is paused or the rate is unknown, milliseconds. */
export const POLL_PAUSED_MS = 5000;

/**
 * Estimated wait in whole seconds for a 1-based `rank` at `admitRate` tokens per second; 0 when admitted
 * (rank 0); null when nobody is being admitted (rate 0: paused, disabled or sold out).
 */
export function estimateWaitSeconds(rank: number, admitRate: number): number | null {
  if (rank <= 0) return 0;
  if (!(admitRate > 0)) return null;
  return Math.ceil(rank / admitRate);
}

/**
 * Milliseconds until the next poll: half the estimated wait, within [{@link POLL_MIN_MS}, `maxMs`];
 * {@link POLL_PAUSED_MS} when the rate is 0; 0 when admitted (no more polling needed).
 * @param maxMs the longest interval, milliseconds (POLL_MAX_SECONDS); default {@link POLL_MAX_MS}.
 */
export function pollAfterMs(rank: number, admitRate: number, maxMs = POLL_MAX_MS): number {
  if (rank <= 0) return 0;
  if (!(admitRate > 0)) return POLL_PAUSED_MS;
  const half = (rank / admitRate) * 500;
  return Math.round(Math.min(maxMs, Math.max(POLL_MIN_MS, half)));
}
