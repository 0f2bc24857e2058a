import { VerifiedTokenCache } from '@waiting-queue/core/token-cache';

/** The verified-token cache alone (no I/O): exact matches only, bounded, frequently used entries kept. */
describe('VerifiedTokenCache', () => {
  test('remembers a token for exactly its sequence', () => {
    const c = new VerifiedTokenCache(10);
    expect(c.has('u-i-a', '1')).toBe(false);
    c.add('u-i-a', '1');
    expect(c.has('u-i-a', '1')).toBe(true);
    expect(c.has('u-i-a', '2')).toBe(false);
    expect(c.has('u-i-b', '1')).toBe(false);
    // A new place of the same token string (never happens with the HMAC, but the cache must not assume it).
    c.add('u-i-a', '2');
    expect(c.has('u-i-a', '1')).toBe(false);
    expect(c.has('u-i-a', '2')).toBe(true);
  });

  test('holds at most two generations, and keeps an entry that is hit', () => {
    const c = new VerifiedTokenCache(3);
    c.add('hot', '1');
    for (let i = 0; i < 100; i++) {
      c.add(`cold${i}`, '1');
      expect(c.has('hot', '1')).toBe(true); // each hit in the old generation moves it to the young one
      expect(c.size).toBeLessThanOrEqual(6);
    }
    expect(c.has('cold0', '1')).toBe(false);
    expect(c.has('cold99', '1')).toBe(true);
  });

  test('size 0 is off', () => {
    const c = new VerifiedTokenCache(0);
    c.add('t', '1');
    expect(c.has('t', '1')).toBe(false);
    expect(c.size).toBe(0);
  });
});
