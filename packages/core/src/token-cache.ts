/**
 * Tokens this process has already verified (HMAC) against a place's sequence number, so that a shopper's repeated
 * polls of the same place skip the HMAC (about a tenth of a poll's server CPU; see docs/performance.md).
 *
 * Safe because it only remembers successes: an entry says "this exact token string is the one issued for place
 * `seq`", and it is used only when Redis reports that same `seq` for the token's user and item. A token of an
 * earlier place (consumed or expired, then registered again) meets a new `seq` and is verified afresh; a forged
 * token never gets in. The secret is per deployment and never rotates while a process runs.
 *
 * Bounded by two generations of `generationSize` entries (the "2Q"/generational idea of many caches, e.g.
 * Caffeine's or the Linux page cache's active and inactive lists, reduced to two maps): when the young map is full
 * it becomes the old one and the old one is dropped; a hit in the old map moves the entry to the young one. So the
 * tokens polled often (the front of each queue, which `pollAfterMs` makes poll most) stay, in O(1) per call and
 * at most 2 x generationSize entries (about 250 B each with the request string they keep, measured as api RSS
 * growth under a soak).
 */
export class VerifiedTokenCache {
  private young = new Map<string, string>();
  private old = new Map<string, string>();

  /** @param generationSize entries per generation; 0 switches the cache off (every check misses). */
  constructor(private readonly generationSize: number) {}

  /** True when `token` was verified for place `seq` and is still remembered. */
  has(token: string, seq: string): boolean {
    if (this.young.get(token) === seq) return true;
    if (this.old.get(token) !== seq) return false;
    this.add(token, seq);
    return true;
  }

  /** The place `token` was verified for, if still remembered (a hit in the old generation moves it to the young). */
  get(token: string): string | undefined {
    const young = this.young.get(token);
    if (young !== undefined) return young;
    const old = this.old.get(token);
    if (old !== undefined) this.add(token, old);
    return old;
  }

  /** Remembers that `token` is the token of place `seq` (call only after verifying it). */
  add(token: string, seq: string): void {
    if (this.generationSize <= 0) return;
    if (this.young.size >= this.generationSize) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(token, seq);
  }

  /** Entries held now (both generations; an entry may be in both). */
  get size(): number {
    return this.young.size + this.old.size;
  }
}
