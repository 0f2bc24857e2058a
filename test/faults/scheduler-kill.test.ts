import { ItemStore } from '@waiting-queue/core/item-store';
import { keys } from '@waiting-queue/core/keys';
import { connectRedis, type RedisClient } from '@waiting-queue/core/redis';
import { startService, type ServiceProcess } from '../helpers/processes';
import { testRedis } from '../helpers/redis';
import { expectSuccess, poll, register, sleep, waitFor } from '../helpers/waiting-room-client';
import { inPool, randomMs, tickLogs } from './fault-kit';

/**
 * Scheduler kills during a registration spike: 2 000 users register over HTTP into 4 items while 2, then 3,
 * scheduler processes (cron every second, N = 7) run at once and one of them is kill -9'd every 0.3–0.9 s (half of
 * the kills aimed at the start of a tick) and replaced, for 20 s. A last scheduler then drains the queues.
 *
 * Proves, from Redis itself: nothing lost (waiting ∪ entry = the registered users), nothing admitted twice (each
 * admitted sequence in exactly one admission batch), no user both waiting and admitted (also at every kill), FIFO
 * (the admitted are always sequences 1..k), and exactly N per item per tick (every batch admits N, except the
 * last one when the queue ran dry; no tick ran twice).
 */

const ITEMS = ['k1', 'k2', 'k3', 'k4'];
const USERS = 2000;
/** Registered before the first scheduler starts, so the queues never run dry while the schedulers are killed. */
const HEAD_START = 400;
const N = 7;
/** N of the last scheduler that drains what is left. */
const DRAIN_N = 100;
const KILL_PHASE_MS = 20_000;
const ENTRY_TTL_SECONDS = '3600';

type Snapshot = { waiting: Map<string, number>; entry: Map<string, number>; seq: number; batches: [string, number][] };

describe('scheduler kill -9 during a registration spike', () => {
  let env: Awaited<ReturnType<typeof testRedis>>;
  let redis: RedisClient;
  let api: ServiceProcess;
  /** Every scheduler started, in order (killed ones keep their output for the tick logs). */
  const schedulers: ServiceProcess[] = [];

  const startScheduler = async () => {
    const s = await startService(
      'scheduler',
      { REDIS_URL: env.url, SCHEDULER_CRON: '* * * * * *', ENTRY_TTL_SECONDS, TOKEN_COUNT_TO_MOVE: String(N) },
      60_000,
    );
    schedulers.push(s);
    return s;
  };

  /** An item's waiting queue, entry set, sequence counter and batches, read in one MULTI (one consistent moment). */
  const snapshot = async (itemId: string): Promise<Snapshot> => {
    const res = (await redis
      .multi()
      .zrange(keys.waiting(itemId), 0, -1, 'WITHSCORES')
      .zrange(keys.admitted(itemId), 0, -1, 'WITHSCORES')
      .hget(keys.item(itemId), 'seq')
      .zrange(keys.admissionBatches(itemId), 0, -1, 'WITHSCORES')
      .exec())!.map(([err, v]) => {
      if (err) throw err;
      return v;
    }) as [string[], string[], string | null, string[]];
    const pairs = (flat: string[]) => {
      const m = new Map<string, number>();
      for (let i = 0; i < flat.length; i += 2) m.set(flat[i], Number(flat[i + 1]));
      return m;
    };
    const batches: [string, number][] = [];
    for (let i = 0; i < res[3].length; i += 2) batches.push([res[3][i], Number(res[3][i + 1])]);
    return { waiting: pairs(res[0]), entry: pairs(res[1]), seq: Number(res[2] ?? 0), batches };
  };

  /** Batch sizes in admission order: batch i admits the sequences (maxSeq of batch i-1, maxSeq of batch i]. */
  const batchCounts = (s: Snapshot) => s.batches.map(([, maxSeq], i) => maxSeq - (i === 0 ? 0 : s.batches[i - 1][1]));

  /**
   * What must hold at any moment: sequences 1..seq are split into an admitted prefix and a waiting suffix, with no
   * user in both; the batches cover exactly the admitted prefix.
   */
  const expectConsistent = (itemId: string, s: Snapshot) => {
    const both = [...s.waiting.keys()].filter((u) => s.entry.has(u));
    expect({ itemId, both }).toEqual({ itemId, both: [] });
    const entrySeqs = [...s.entry.values()].sort((a, b) => a - b);
    const waitingSeqs = [...s.waiting.values()].sort((a, b) => a - b);
    expect(entrySeqs).toEqual(Array.from({ length: s.entry.size }, (_, i) => i + 1));
    expect(waitingSeqs).toEqual(Array.from({ length: s.waiting.size }, (_, i) => s.entry.size + i + 1));
    expect(s.entry.size + s.waiting.size).toBe(s.seq);
    expect(s.batches.length === 0 ? 0 : s.batches[s.batches.length - 1][1]).toBe(s.entry.size);
    expect(batchCounts(s).every((c) => c > 0)).toBe(true);
  };

  beforeAll(async () => {
    env = await testRedis();
    redis = await connectRedis({ url: env.url }, 'scheduler-kill-test');
    const items = new ItemStore(redis);
    for (const id of ITEMS) await items.upsert(id, { itemName: id, remainCount: 1_000_000, waitingQueueEnabled: true });
    await redis.set(keys.tokenCountToMove, String(N));
    api = await startService('api', { REDIS_URL: env.url, LOG_LEVEL: 'warn' }, 60_000);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(schedulers.map((s) => s.kill()));
    await api?.stop();
    redis?.disconnect();
    await env?.stop();
  }, 60_000);

  test('nothing lost, nothing twice, never both waiting and admitted, FIFO, N per tick', async () => {
    const users = Array.from({ length: USERS }, (_, i) => ({ userId: `u${i}`, itemId: ITEMS[i % ITEMS.length] }));
    const tokens = new Map<string, string>();
    const registerOne = async (u: { userId: string; itemId: string }) => {
      const data = expectSuccess(await register(api.url, u.itemId, u.userId));
      tokens.set(u.userId, data.waitingQueueToken);
    };
    await inPool(users.slice(0, HEAD_START), 20, registerOne);

    // The spike: the other 1 600 users, 50 every 0.5 s, while the schedulers are killed.
    const spike = (async () => {
      const rest = users.slice(HEAD_START);
      for (let i = 0; i < rest.length; i += 50) {
        const t = Date.now();
        await inPool(rest.slice(i, i + 50), 10, registerOne);
        await sleep(Math.max(0, 500 - (Date.now() - t)));
      }
    })();

    // Replacements start in the background, so a kill comes every 0.3-0.9 s whatever a start takes; a kill only
    // hits when another scheduler is up, so 2 (then 3) run at once most of the time.
    const live: ServiceProcess[] = [];
    const starting = new Set<Promise<void>>();
    const launch = () => {
      const p: Promise<void> = startScheduler().then((s) => {
        live.push(s);
        starting.delete(p);
      });
      starting.add(p);
    };
    const started = Date.now();
    let kills = 0;
    let aimedAtTick = 0;
    let maxAtOnce = 0;
    while (Date.now() - started < KILL_PHASE_MS) {
      const want = Date.now() - started < KILL_PHASE_MS / 2 ? 2 : 3;
      while (live.length + starting.size < want) launch();
      await sleep(randomMs(300, 900));
      if (Math.random() < 0.5) {
        // Ticks fire on the second: kill within the first 20 ms of one, while it is likely running.
        await sleep(1000 - (Date.now() % 1000) + randomMs(0, 20));
        aimedAtTick++;
      }
      maxAtOnce = Math.max(maxAtOnce, live.length);
      if (live.length < 2) continue;
      const victim = live.splice(Math.floor(Math.random() * live.length), 1)[0];
      await victim.kill();
      kills++;
      for (const id of ITEMS) expectConsistent(id, await snapshot(id));
    }
    await Promise.all(starting);
    const killPhaseSeconds = Math.round((Date.now() - started) / 1000);
    await spike;
    await Promise.all(live.splice(0).map((s) => s.kill()));
    const afterKills = new Map<string, number[]>();
    for (const id of ITEMS) {
      const s = await snapshot(id);
      expectConsistent(id, s);
      afterKills.set(id, batchCounts(s));
    }

    // A last scheduler drains everything, with a larger N (stored before it starts, so all its ticks use it).
    await redis.set(keys.tokenCountToMove, String(DRAIN_N));
    const last = await startScheduler();
    await waitFor(
      'the queues to drain',
      async () => (await Promise.all(ITEMS.map((id) => redis.zcard(keys.waiting(id))))).every((n) => n === 0),
      120_000,
      250,
    );
    await last.stop();

    const registered = new Map(ITEMS.map((id) => [id, users.filter((u) => u.itemId === id).map((u) => u.userId)]));
    const summary: Record<string, unknown> = {
      kills,
      aimedAtTick,
      maxAtOnce,
      schedulersStarted: schedulers.length,
      killPhaseSeconds,
    };
    for (const id of ITEMS) {
      const s = await snapshot(id);
      expectConsistent(id, s);
      // Nothing lost: the admitted are exactly the registered users (everyone registered got a 200 above).
      expect(s.waiting.size).toBe(0);
      expect([...s.entry.keys()].sort()).toEqual([...registered.get(id)!].sort());
      expect(s.seq).toBe(registered.get(id)!.length);
      // N per tick: batches of N while N was 7, then of DRAIN_N, the last one possibly short (the queue ran dry).
      const counts = batchCounts(s);
      const during = afterKills.get(id)!;
      expect(counts.slice(0, during.length)).toEqual(during);
      expect(during.length).toBeGreaterThan(3);
      expect(during.every((c) => c === N)).toBe(true);
      const drain = counts.slice(during.length);
      expect(drain.slice(0, -1).every((c) => c === DRAIN_N)).toBe(true);
      expect(drain[drain.length - 1]).toBeGreaterThan(0);
      expect(drain[drain.length - 1]).toBeLessThanOrEqual(DRAIN_N);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(registered.get(id)!.length);
      summary[id] = { registered: s.seq, ticksDuringKills: during.length, drainTicks: drain.length };
    }

    // No tick ran twice: each scheduled time was admitted by one process, and never more than N per item.
    const logs = tickLogs(schedulers);
    const bySlot = new Map<string, typeof logs>();
    for (const l of logs) bySlot.set(l.slot, [...(bySlot.get(l.slot) ?? []), l]);
    for (const [slot, ls] of bySlot) expect({ slot, runs: ls.length }).toEqual({ slot, runs: 1 });
    const lastIndex = schedulers.indexOf(last);
    for (const l of logs) expect(l.moved).toBeLessThanOrEqual((l.scheduler === lastIndex ? DRAIN_N : N) * ITEMS.length);
    summary.loggedTicks = logs.length;

    // Every token the spike handed out now lets its shopper order.
    await inPool(users, 20, async (u) => {
      const data = expectSuccess(await poll(api.url, u.itemId, tokens.get(u.userId)!, u.userId));
      expect({ userId: u.userId, canOrder: data.canOrder }).toEqual({ userId: u.userId, canOrder: true });
    });
    // eslint-disable-next-line no-console
    console.log(`scheduler kills: ${JSON.stringify(summary)}`);
    expect(kills).toBeGreaterThanOrEqual(10);
    expect(maxAtOnce).toBe(3);
  }, 300_000);
});
