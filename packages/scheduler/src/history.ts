import { keys } from '@waiting-queue/core/keys';
import { type RedisClient } from '@waiting-queue/core/redis';
import type { Ticker, TickReport } from './admission';

/** How far back the console's charts reach, milliseconds. */
export const HISTORY_WINDOW_MS = 15 * 60_000;
/** Most samples kept per list, whatever the tick interval (a 100 ms tick keeps the last 9000 ticks, 15 min). */
export const HISTORY_MAX_SAMPLES = 9000;

/** One per-tick sample: what an item (or all items) looked like right after the tick of slot `at`. */
export interface HistorySample {
  /** The tick's slot, epoch ms on the Redis clock. */
  at: number;
  /** Tokens in the waiting queue after the tick. */
  waiting: number;
  /** Unexpired admissions (entry set) after the tick. */
  admitted: number;
  /** Tokens the tick admitted. */
  moved: number;
  /** How long the whole tick took, milliseconds (the same figure on every item's sample). */
  tickDurationMs: number;
}

/** `data` of `GET /internal/admin/v1/history`. */
export interface HistoryAnswer {
  /** The item asked for, null for the sum over all items. */
  itemId: string | null;
  /** Admission tick interval, milliseconds (admissions/s = moved x 1000 / tickMs). */
  tickMs: number;
  /** How far back samples reach, milliseconds. */
  windowMs: number;
  /** Oldest first, at most one per tick. */
  samples: HistorySample[];
}

type Row = [number, number, number, number, number];

/**
 * The console's chart history: a bounded ring of per-tick samples in Redis (LIST per item under `{itemId}` plus one
 * total, RPUSH + LTRIM to the last 15 minutes of ticks), so a reload or a second operator sees the same past. Only
 * the scheduler elected for a slot runs its tick, so each slot is sampled once.
 */
export class TickHistory {
  /** Samples kept per list: 15 minutes of ticks, at most {@link HISTORY_MAX_SAMPLES}. */
  readonly capacity: number;

  private readonly redis: RedisClient;
  /** Admission tick interval, milliseconds. */
  readonly tickMs: number;

  /** @param o.tickMs the admission tick interval, milliseconds (> 0). */
  constructor(o: { redis: RedisClient; tickMs: number }) {
    this.redis = o.redis;
    this.tickMs = o.tickMs;
    const tickMs = o.tickMs;
    this.capacity = Math.min(HISTORY_MAX_SAMPLES, Math.max(1, Math.ceil(HISTORY_WINDOW_MS / tickMs)));
  }

  /**
   * Appends one sample per item of `report` and one total (entry set sizes read with ZCARD, pipelined).
   * @param tickDurationMs how long the tick took, milliseconds.
   * @throws the Redis error when the samples cannot be written (the caller logs it; the tick itself is done).
   */
  async record(report: TickReport, tickDurationMs: number): Promise<void> {
    const items = report.items.filter((r) => r.status === 'OK');
    const admitted = await Promise.all(items.map((r) => this.redis.zcard(keys.admitted(r.itemId))));
    const duration = Math.round(tickDurationMs * 10) / 10;
    const pipe = this.redis.pipeline();
    const push = (key: string, row: Row) => pipe.rpush(key, JSON.stringify(row)).ltrim(key, -this.capacity, -1);
    let waiting = 0;
    let admittedTotal = 0;
    items.forEach((r, i) => {
      waiting += r.waiting;
      admittedTotal += admitted[i];
      push(keys.itemHistory(r.itemId), [report.slotMs, r.waiting, admitted[i], r.admittedCount, duration]);
    });
    push(keys.totalHistory, [report.slotMs, waiting, admittedTotal, report.admittedCount, duration]);
    const results = await pipe.exec();
    const failed = results?.find(([err]) => err);
    if (failed?.[0]) throw failed[0];
  }

  /**
   * The samples of one item (or the total when `itemId` is null) within the last 15 minutes of `nowMs`.
   * @param nowMs Redis time, epoch ms.
   */
  async read(itemId: string | null, nowMs: number): Promise<HistoryAnswer> {
    const raw = await this.redis.lrange(itemId === null ? keys.totalHistory : keys.itemHistory(itemId), 0, -1);
    const samples: HistorySample[] = [];
    for (const s of raw) {
      const row = JSON.parse(s) as Row;
      if (row[0] < nowMs - HISTORY_WINDOW_MS) continue;
      samples.push({ at: row[0], waiting: row[1], admitted: row[2], moved: row[3], tickDurationMs: row[4] });
    }
    return { itemId, tickMs: this.tickMs, windowMs: HISTORY_WINDOW_MS, samples };
  }
}

/**
 * Wraps a ticker so that a history sample is recorded after every tick (as metrics.ts meterTicker wraps it).
 * Writing the samples does not delay or fail the tick: a Redis error there is logged through `onError`.
 * @returns the recording ticker; `ticker` itself is left as it was.
 */
export function recordHistory({
  ticker,
  history,
  onError,
}: {
  ticker: Ticker;
  history: TickHistory;
  onError: (err: Error) => void;
}): Ticker {
  return {
    async tick(slotMs: number) {
      const started = performance.now();
      const report = await ticker.tick(slotMs);
      history.record(report, performance.now() - started).catch(onError);
      return report;
    },
  };
}
