import { join } from 'node:path';
import express, { type Router } from 'express';
import {
  bearerAuth,
  route,
  type ItemStore,
  type QueueStore,
  type RedisClient,
  type WaitingItem,
} from '@waiting-queue/shared';
import { outboxGaps } from './metrics';
import { readRelayLag } from './outbox-relay';

/** Static files of the admin console (HTML, CSS, JS), next to `src/` and `dist/`. */
export const CONSOLE_ASSETS_DIR = join(__dirname, '..', 'public');

/** Most items the overview lists (the console polls it every second). */
export const CONSOLE_MAX_ITEMS = 500;

/** One row of the console's table: the item as stored, with its queue counts and admission rate. */
export interface ConsoleItemRow extends WaitingItem {
  /** Tokens in the waiting queue. */
  waitingTokenCount: number;
  /** Unexpired admissions (entry set). */
  enteredTokenCount: number;
  /** Admission capacity, tokens per second, as the scheduler's last tick wrote it (0: paused, disabled, sold out). */
  admitRate: number;
  /**
   * Places that ever left the waiting queue (the item's registration sequence minus those waiting): admitted, or,
   * with ABANDON_AFTER_SECONDS on, dropped for not polling. Its growth per second is the actual admission rate.
   */
  admittedTotal: number;
  /** Estimated time to drain the waiting queue, seconds (waiting / admitRate); null when admitRate is 0. */
  drainSeconds: number | null;
  /** Redis time of the item's last admission tick, epoch ms; null before the first. */
  lastTickAt: number | null;
  /** The item's admission fence (the slot of the last tick that moved it, epoch ms, Redis clock); null before the first. */
  fence: number | null;
  /**
   * True when the fence is more than one tick ahead of Redis time: every tick is refused (STUCK_FENCE) until an
   * operator clears it (`POST /internal/admin/v1/waiting-item/{itemId}/fence/clear`).
   */
  fenceStuck: boolean;
}

/** `data` of `GET /internal/admin/v1/overview`. */
export interface ConsoleOverview {
  /** The global N (tokens per item per tick). */
  tokenCountToMove: number;
  /** Admission tick interval, milliseconds. */
  tickMs: number;
  /** Redis time, epoch ms (the same as redisTime; never a host clock): the console compares it with lastTickAt. */
  serverTime: number;
  /** Redis time (`TIME`), epoch ms: the clock every fence and expiry is compared with. */
  redisTime: number;
  /**
   * The outbox relay over the listed items, null without one (KAFKA_BROKERS unset): events not yet acknowledged by
   * Kafka (sum), the age of the oldest, seconds, and the gaps this scheduler found since it started.
   */
  relay: { lagEntries: number; lagSeconds: number; gaps: number } | null;
  items: ConsoleItemRow[];
  /** True when more than {@link CONSOLE_MAX_ITEMS} items exist (the first ones by id are listed). */
  truncated: boolean;
}

/** What the console needs. */
export interface ConsoleOptions {
  items: ItemStore;
  queue: QueueStore;
  redis: RedisClient;
  /** Bearer token of the admin API; undefined: no auth (DEV_MODE). */
  adminToken?: string;
  defaultTokenCountToMove: number;
  tickMs: number;
  /** True when an outbox relay runs (KAFKA_BROKERS): the overview then reads its lag. */
  relay?: boolean;
}

/** The relay's lag over `itemIds` and the gaps counted by this process. */
async function relaySummary(redis: RedisClient, itemIds: string[]): Promise<{ lagEntries: number; lagSeconds: number; gaps: number }> {
  const [lags, gaps] = await Promise.all([readRelayLag(redis, itemIds), outboxGaps.get()]);
  return {
    lagEntries: lags.reduce((s, l) => s + l.lagEntries, 0),
    lagSeconds: lags.reduce((m, l) => Math.max(m, l.lagSeconds), 0),
    gaps: gaps.values.reduce((s, v) => s + v.value, 0),
  };
}

/** Everything the console's table shows, in one read (a few pipelined Redis commands per item). */
export async function readOverview(o: ConsoleOptions): Promise<ConsoleOverview> {
  const ids = await o.items.listIds();
  const listed = ids.slice(0, CONSOLE_MAX_ITEMS);
  const [tokenCountToMove, counts, rows, time, relay] = await Promise.all([
    o.items.getTokenCountToMove(o.defaultTokenCountToMove),
    o.queue.counts(listed),
    Promise.all(listed.map((id) => o.items.getWithSchedulerState(id))),
    o.redis.time(),
    o.relay ? relaySummary(o.redis, listed) : Promise.resolve(null),
  ]);
  const redisTime = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
  const items: ConsoleItemRow[] = [];
  rows.forEach((row, i) => {
    if (!row) return; // registered but not (or no longer) stored: the scheduler skips it too
    const { item, state } = row;
    const { waitingTokenCount, enteredTokenCount } = counts[i];
    const admitRate = state.admitRate;
    items.push({
      ...item,
      waitingTokenCount,
      enteredTokenCount,
      admitRate,
      admittedTotal: Math.max(0, state.seq - waitingTokenCount),
      drainSeconds: admitRate > 0 ? Math.ceil(waitingTokenCount / admitRate) : null,
      lastTickAt: state.lastMoveAt,
      fence: state.fence,
      fenceStuck: state.fence !== null && state.fence > redisTime + o.tickMs,
    });
  });
  return { tokenCountToMove, tickMs: o.tickMs, serverTime: redisTime, redisTime, relay, items, truncated: ids.length > listed.length };
}

const PAGE_HEADERS: Record<string, string> = {
  'Cache-Control': 'no-store',
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

/**
 * The operators' console, mounted on the scheduler's admin app:
 * - `GET /admin`: the console page (static; it asks for the admin token and calls the admin API with it);
 * - `GET /admin/assets/*`: its CSS and JS;
 * - `GET /internal/admin/v1/overview`: {@link ConsoleOverview} in the envelope (bearer ADMIN_TOKEN when set).
 */
export function createConsoleRouter(o: ConsoleOptions): Router {
  const router = express.Router();
  router.get(['/admin', '/admin/'], (_req, res) => {
    res.set(PAGE_HEADERS).sendFile(join(CONSOLE_ASSETS_DIR, 'admin.html'));
  });
  router.use('/admin/assets', express.static(CONSOLE_ASSETS_DIR, { index: false, maxAge: '10m' }));
  router.get('/internal/admin/v1/overview', bearerAuth(o.adminToken, 'waiting-queue-admin'), route(() => readOverview(o)));
  return router;
}
