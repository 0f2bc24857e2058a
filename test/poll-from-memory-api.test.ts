import { TokenCodec } from '@waiting-queue/core/ids';
import { keys } from '@waiting-queue/core/keys';
import { useStack } from './helpers/stack';
import { expectFailure, expectSuccess, poll, register, upsertItem, waitFor } from './helpers/waiting-room-client';

const TOKEN_SECRET = 'poll-from-memory-secret-0123456789abcdef';

/** The api's counter of polls by source, summed over its labels: {memory, redis}. */
async function pollSources(apiUrl: string): Promise<{ memory: number; redis: number }> {
  const text = await (await fetch(`${apiUrl}/metrics`)).text();
  const count = (source: string) =>
    Number(new RegExp(`^wq_polls_total\\{source="${source}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { memory: count('memory'), redis: count('redis') };
}

/**
 * Polls answered from memory on real processes: a scheduler ticking every second publishes each item's snapshot,
 * one api answers the polls it can rank from it without Redis, another (POLL_FROM_MEMORY=0) reads Redis for each;
 * both give the same answers.
 */
describe('polls answered from memory (real processes)', () => {
  const common = { LOG_LEVEL: 'warn', TOKEN_SECRET };
  const env = useStack({
    name: 'poll-from-memory-api-test',
    services: [
      { name: 'api', env: common },
      { name: 'api', env: { ...common, POLL_FROM_MEMORY: '0' } },
      { name: 'scheduler', env: { ...common, SCHEDULER_CRON: '* * * * * *' } },
    ],
    startTimeoutMs: 120_000,
  });

  test('waiting places are ranked from the snapshot as Redis ranks them; admitted, forged and foreign tokens read Redis', async () => {
    const [memoryApi, redisApi, scheduler] = env.services;
    const itemId = 'mem';
    const item = { itemName: 'M', remainCount: 100, waitingQueueEnabled: true };
    expectSuccess(await upsertItem(scheduler.url, itemId, { ...item, tokenCountToMove: 0 }));
    const users = ['a', 'b', 'c', 'd', 'e'];
    const tokens: string[] = [];
    for (const u of users) tokens.push(expectSuccess(await register(memoryApi.url, itemId, u)).waitingQueueToken);
    // A tick publishes the snapshot; the api subscribed at its first poll of the item (or read the stored one).
    await waitFor('a snapshot of the item', async () => (await env.client.exists(keys.snapshot(itemId))) === 1);
    const before = await pollSources(memoryApi.url);
    await waitFor('polls answered from memory', async () => {
      for (let i = 0; i < users.length; i++) await poll(memoryApi.url, itemId, tokens[i], users[i]);
      return (await pollSources(memoryApi.url)).memory >= before.memory + users.length;
    });
    for (let i = 0; i < users.length; i++) {
      const fromMemory = expectSuccess(await poll(memoryApi.url, itemId, tokens[i], users[i]));
      const fromRedis = expectSuccess(await poll(redisApi.url, itemId, tokens[i], users[i]));
      expect(fromMemory).toEqual(fromRedis);
      expect(fromMemory).toMatchObject({ waitingQueueRank: i + 1, canOrder: false, entryPass: null });
    }
    expect((await pollSources(redisApi.url)).memory).toBe(0);

    // A forged token (another place, no valid MAC) and a token of another user are refused, as before.
    const forged = new TokenCodec('another-secret-0123456789abcdef0123').tokenFor(itemId, 'a', 3);
    expectFailure(await poll(memoryApi.url, itemId, forged, 'a'), 404, 'WAITING_QUEUE_NOT_FOUND');
    expectFailure(await poll(memoryApi.url, itemId, tokens[1], 'a'), 403, 'TOKEN_MISMATCH');

    // Admission: the admitted see canOrder (from Redis: at or below the watermark), the others move up.
    expectSuccess(await upsertItem(scheduler.url, itemId, { ...item, tokenCountToMove: 2 }));
    await waitFor('a admitted', async () => expectSuccess(await poll(memoryApi.url, itemId, tokens[0], 'a')).canOrder);
    expectSuccess(await upsertItem(scheduler.url, itemId, { ...item, tokenCountToMove: 0 }));
    await waitFor('the snapshot after the last admission', async () => {
      const c = expectSuccess(await poll(memoryApi.url, itemId, tokens[2], 'c'));
      const r = expectSuccess(await poll(redisApi.url, itemId, tokens[2], 'c'));
      return c.waitingQueueRank === r.waitingQueueRank && !r.canOrder;
    });
    const admitted = (await env.client.zrange(keys.admitted(itemId), 0, -1)).length;
    for (let i = 0; i < users.length; i++) {
      const fromMemory = expectSuccess(await poll(memoryApi.url, itemId, tokens[i], users[i]));
      expect(fromMemory.canOrder).toBe(i < admitted);
      expect(fromMemory.waitingQueueRank).toBe(i < admitted ? 0 : i + 1 - admitted);
    }
  }, 60_000);

  test('the place the next tick admits is told to poll just after that tick, not a whole interval later', async () => {
    const [memoryApi, redisApi, scheduler] = env.services;
    const itemId = 'soon';
    expectSuccess(
      await upsertItem(scheduler.url, itemId, {
        itemName: 'S',
        remainCount: 100,
        waitingQueueEnabled: true,
        tokenCountToMove: 1,
      }),
    );
    const users = ['a', 'b', 'c', 'd'];
    const tokens: string[] = [];
    for (const u of users) tokens.push(expectSuccess(await register(memoryApi.url, itemId, u)).waitingQueueToken);
    // One admitted per 1 s tick: once the snapshot shows admission running, the next place to go is rank 1.
    const [front, second, frontUser] = await waitFor('a snapshot with admission running', async () => {
      for (let i = 0; i < users.length - 1; i++) {
        const v = expectSuccess(await poll(memoryApi.url, itemId, tokens[i], users[i]));
        if (v.canOrder) continue;
        const next = expectSuccess(await poll(memoryApi.url, itemId, tokens[i + 1], users[i + 1]));
        if (v.waitingQueueRank === 1 && next.waitingQueueRank === 2 && v.estimatedWaitSeconds === 1)
          return [v, next, users[i]];
        return undefined;
      }
      return undefined;
    });
    expect(front.pollAfterMs).toBeGreaterThanOrEqual(250);
    expect(front.pollAfterMs).toBeLessThanOrEqual(1000); // never later than the plain policy's 1 s
    expect(second.pollAfterMs).toBe(1000); // rank 2 at 1/s: half its wait, at least 1 s
    // The process without snapshots keeps the plain policy.
    const plain = expectSuccess(await poll(redisApi.url, itemId, front.waitingQueueToken, frontUser));
    expect([0, 1000]).toContain(plain.pollAfterMs);
  }, 60_000);
});
