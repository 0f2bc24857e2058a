import { Agent } from 'undici';
import { ItemStore } from '@waiting-queue/core/item-store';
import { keys } from '@waiting-queue/core/keys';
import { type RedisClient } from '@waiting-queue/core/redis';
import type { ServiceProcess } from './helpers/processes';
import { useStack } from './helpers/stack';

/**
 * Load shedding: beyond MAX_IN_FLIGHT concurrent requests, an api process answers 429 TOO_MANY_REQUESTS with
 * Retry-After at once; every other request succeeds; nothing is a 5xx.
 */
describe('load shedding', () => {
  const env = useStack({
    name: 'shed-test',
    beforeServices: ({ redis }) =>
      new ItemStore(redis).upsert('shed', { itemName: 'shed', remainCount: 100_000, waitingQueueEnabled: true }),
    services: [{ name: 'api', env: { MAX_IN_FLIGHT: '4', LOG_LEVEL: 'warn' } }],
    startTimeoutMs: 60_000,
  });
  let redis: RedisClient;
  let api: ServiceProcess;

  beforeAll(() => {
    redis = env.redis;
    [api] = env.services;
  });

  test('a burst of 300 concurrent registrations: 200s and 429s with Retry-After, no 5xx, every 200 is queued', async () => {
    const dispatcher = new Agent({ connections: 300, pipelining: 0 });
    const replies = await Promise.all(
      Array.from({ length: 300 }, async (_, i) => {
        const res = await fetch(`${api.url}/api/v1/item/shed/waiting-queue`, {
          method: 'POST',
          headers: { 'user-id': `s${i}` },
          dispatcher,
        } as unknown as RequestInit);
        return {
          status: res.status,
          retryAfter: res.headers.get('retry-after'),
          body: (await res.json()) as { errorCode: string | null },
        };
      }),
    );
    await dispatcher.close();
    const ok = replies.filter((r) => r.status === 200);
    const shed = replies.filter((r) => r.status === 429);
    expect(ok.length + shed.length).toBe(300);
    expect(shed.length).toBeGreaterThan(0);
    expect(ok.length).toBeGreaterThan(0);
    for (const r of shed) {
      expect(r.body.errorCode).toBe('TOO_MANY_REQUESTS');
      expect(r.retryAfter).toBe('1');
    }
    // Shedding happens before any Redis work: exactly the accepted registrations are queued.
    expect(await redis.zcard(keys.waiting('shed'))).toBe(ok.length);
    // Health checks are not shed (terminus answers them first).
    expect((await fetch(`${api.url}/health/ready`)).status).toBe(200);
  });
});
