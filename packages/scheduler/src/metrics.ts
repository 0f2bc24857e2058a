import { type ItemStore } from '@waiting-queue/core/item-store';
import { countRedisError, Counter, Gauge, Histogram, metricsRegistry } from '@waiting-queue/core/metrics';
import { type QueueCounts, type QueueStore } from '@waiting-queue/core/queue-store';
import type { Ticker, TickReport } from './admission';

/** `wq_admissions_total{item_id}`: tokens moved from the waiting queue into the entry set by this process's ticks. */
export const admissions = new Counter({
  name: 'wq_admissions_total',
  help: 'Users admitted (moved from the waiting queue into the entry set) by this scheduler, per item',
  labelNames: ['item_id'] as const,
  registers: [metricsRegistry],
});

/** `wq_expirations_total{item_id}`: admissions swept because they expired unused. */
export const expirations = new Counter({
  name: 'wq_expirations_total',
  help: 'Admissions that expired unused and were swept by this scheduler, per item',
  labelNames: ['item_id'] as const,
  registers: [metricsRegistry],
});

/** `wq_scheduler_tick_duration_seconds`: wall time of one admission tick over every item, seconds. */
export const tickDuration = new Histogram({
  name: 'wq_scheduler_tick_duration_seconds',
  help: 'Duration of one admission tick over every registered item, seconds',
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [metricsRegistry],
});

/** `wq_scheduler_ticks_total{result}`: ticks run by this process: `ok` (maybe with failed items) or `failed`. */
export const ticks = new Counter({
  name: 'wq_scheduler_ticks_total',
  help: 'Admission ticks run by this scheduler (the elected one per tick), by result',
  labelNames: ['result'] as const,
  registers: [metricsRegistry],
});

/**
 * `wq_admission_ticks_refused_total{reason}`: item ticks that admit-7.lua refused because of the fence:
 * `stale_fence` (the slot already ran, e.g. two schedulers elected), `fence_ahead` (the slot is more than a tick
 * ahead of Redis time) and `stuck_fence` (the stored fence is: admission of the item is frozen until an operator
 * clears it).
 */
export const refusedTicks = new Counter({
  name: 'wq_admission_ticks_refused_total',
  help: 'Item admission ticks refused by the fence, by reason (stale_fence, fence_ahead, stuck_fence)',
  labelNames: ['reason'] as const,
  registers: [metricsRegistry],
});

/** Records one tick's report: admissions and expirations per item, refused item ticks, items that failed (Redis errors). */
export function recordTick(report: TickReport): void {
  for (const r of report.items) {
    admissions.inc({ item_id: r.itemId }, r.admittedCount);
    expirations.inc({ item_id: r.itemId }, r.expired);
    if (r.status === 'STALE_FENCE' || r.status === 'FENCE_AHEAD' || r.status === 'STUCK_FENCE')
      refusedTicks.inc({ reason: r.status.toLowerCase() });
  }
  if (report.failed.length > 0) countRedisError('tick', report.failed.length);
  ticks.inc({ result: 'ok' });
}

/**
 * Wraps a ticker with metrics: every `tick()` is timed (`wq_scheduler_tick_duration_seconds`) and its report
 * recorded ({@link recordTick}); a tick that throws counts as `failed` (and as a Redis error) and is rethrown.
 * @returns the metered ticker; `ticker` itself is left as it was.
 */
export function meterTicker(ticker: Ticker): Ticker {
  return {
    async tick(slotMs: number) {
      const stop = tickDuration.startTimer();
      try {
        const report = await ticker.tick(slotMs);
        recordTick(report);
        return report;
      } catch (err) {
        ticks.inc({ result: 'failed' });
        countRedisError('tick');
        throw err;
      } finally {
        stop();
      }
    },
  };
}

/** What one scrape reads from Redis. */
interface QueueSnapshot {
  counts: QueueCounts[];
  tokenCountToMove: number;
}

/**
 * Per-item gauges read from Redis when Prometheus scrapes (nothing runs between scrapes):
 * `wq_waiting_users{item_id}`, `wq_admitted_users{item_id}` (unexpired admissions) over the item registry
 * (QueueStore.counts, one script per item, pipelined), and `wq_token_count_to_move` (the global N).
 * A Redis error during a scrape leaves the gauges empty for that scrape and counts `wq_redis_errors_total{kind="scrape"}`.
 * `defaultTokenCountToMove` is the N reported while Redis holds none.
 */
export function queueGauges({
  items,
  queue,
  defaultTokenCountToMove,
}: {
  items: ItemStore;
  queue: QueueStore;
  defaultTokenCountToMove: number;
}): void {
  // Both gauges are collected by one read per scrape: the first collector starts it, the others share it.
  let pending: Promise<QueueSnapshot | null> | undefined;
  const snapshot = (): Promise<QueueSnapshot | null> => {
    pending ??= (async () => {
      try {
        const [ids, tokenCountToMove] = await Promise.all([
          items.listIds(),
          items.getTokenCountToMove(defaultTokenCountToMove),
        ]);
        return { counts: await queue.counts(ids), tokenCountToMove };
      } catch {
        countRedisError('scrape');
        return null;
      }
    })();
    const current = pending;
    void current.finally(() => {
      if (pending === current) pending = undefined;
    });
    return current;
  };

  new Gauge({
    name: 'wq_waiting_users',
    help: "Users waiting in the item's waiting queue (read from Redis on scrape)",
    labelNames: ['item_id'] as const,
    registers: [metricsRegistry],
    async collect() {
      const s = await snapshot();
      this.reset();
      for (const c of s?.counts ?? []) this.set({ item_id: c.itemId }, c.waiting);
    },
  });
  new Gauge({
    name: 'wq_admitted_users',
    help: 'Unexpired admissions of the item (read from Redis on scrape)',
    labelNames: ['item_id'] as const,
    registers: [metricsRegistry],
    async collect() {
      const s = await snapshot();
      this.reset();
      for (const c of s?.counts ?? []) this.set({ item_id: c.itemId }, c.admitted);
    },
  });
  new Gauge({
    name: 'wq_token_count_to_move',
    help: 'The global N: users admitted per item per tick unless the item has its own (read from Redis on scrape)',
    registers: [metricsRegistry],
    async collect() {
      const s = await snapshot();
      this.reset();
      if (s) this.set(s.tokenCountToMove);
    },
  });
}

/**
 * `wq_outbox_gaps_total{item_id}`: gaps the outbox relay found, each logged as an error: the item's outbox no longer
 * holds its cursor's entry and starts after it, so events were trimmed before they were published.
 */
export const outboxGaps = new Counter({
  name: 'wq_outbox_gaps_total',
  help: "Gaps in an item's outbox found by the relay (events trimmed before they were published), per item",
  labelNames: ['item_id'] as const,
  registers: [metricsRegistry],
});

/**
 * Relay lag gauges, read from Redis when Prometheus scrapes (registered only with a relay, KAFKA_BROKERS):
 * `wq_outbox_relay_lag_entries{item_id}` (events after the relay's cursor) and `wq_outbox_relay_lag_seconds{item_id}`
 * (age of the oldest of them, Redis clock). A Redis error leaves them empty for that scrape and counts
 * `wq_redis_errors_total{kind="scrape"}`.
 * @param read the lag of every item (outbox-relay.ts readRelayLag over the item registry).
 */
export function relayLagGauges(
  read: () => Promise<{ itemId: string; lagEntries: number; lagSeconds: number }[]>,
): void {
  let pending: Promise<{ itemId: string; lagEntries: number; lagSeconds: number }[] | null> | undefined;
  const snapshot = () => {
    pending ??= read().catch(() => {
      countRedisError('scrape');
      return null;
    });
    const current = pending;
    void current.finally(() => {
      if (pending === current) pending = undefined;
    });
    return current;
  };
  new Gauge({
    name: 'wq_outbox_relay_lag_entries',
    help: "Events in the item's outbox not yet acknowledged by Kafka (after the relay cursor; read from Redis on scrape)",
    labelNames: ['item_id'] as const,
    registers: [metricsRegistry],
    async collect() {
      const s = await snapshot();
      this.reset();
      for (const l of s ?? []) this.set({ item_id: l.itemId }, l.lagEntries);
    },
  });
  new Gauge({
    name: 'wq_outbox_relay_lag_seconds',
    help: "Age of the oldest event of the item's outbox not yet acknowledged by Kafka, seconds (Redis clock; read on scrape)",
    labelNames: ['item_id'] as const,
    registers: [metricsRegistry],
    async collect() {
      const s = await snapshot();
      this.reset();
      for (const l of s ?? []) this.set({ item_id: l.itemId }, l.lagSeconds);
    },
  });
}
