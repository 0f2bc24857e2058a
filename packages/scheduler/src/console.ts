import { dirname, join } from 'node:path';
import express, { type RequestHandler, type Router } from 'express';
import { isRedisUnavailable, WqError } from '@waiting-queue/core/errors';
import { type ItemStore, type WaitingItem } from '@waiting-queue/core/item-store';
import { redisErrors } from '@waiting-queue/core/metrics';
import { type QueueStore } from '@waiting-queue/core/queue-store';
import { type RedisClient } from '@waiting-queue/core/redis';
import { bearerAuth, parseOr400, registerRoutes, route } from '@waiting-queue/http/http';
import { adminRoutes, type AdminRouteName } from '@waiting-queue/http/route-tables';
import type {
  AuditAnswer,
  ConsoleOverview as ConsoleOverviewView,
  HistoryAnswer as HistoryAnswerView,
} from '@waiting-queue/http/views';
import { redisTime } from './coordinator';
import { orLastKnown } from './last-known';
import { outboxGaps } from './metrics';
import { readRelayLag } from './outbox-relay';
import { AUDIT_MAX_LIMIT, AuditLog } from './audit';
import { TickHistory } from './history';

/** Static files of the admin console (HTML, CSS, JS), next to `src/` and `dist/`. */
export const CONSOLE_ASSETS_DIR = join(__dirname, '..', 'public');

/** uPlot's built files (`dist/`), served to the console from node_modules at `/admin/vendor/` (no CDN). */
export const UPLOT_DIST_DIR = join(dirname(require.resolve('uplot/package.json')), 'dist');

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
  /** Redis errors this scheduler process counted since it started (`wq_redis_errors_total`, all kinds). */
  redisErrors: number;
  items: ConsoleItemRow[];
  /** Listed items whose Redis node is unreachable now (a Cluster failover), left out of `items`; absent when none. */
  unavailableItems?: string[];
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
  /** The chart history `GET /internal/admin/v1/history` reads (default: one on `redis`). */
  history?: TickHistory;
  /** The audit trail `GET /internal/admin/v1/audit` reads (default: one on `redis`). */
  audit?: AuditLog;
}

/** The relay's lag over `itemIds` and the gaps counted by this process. */
async function relaySummary(
  redis: RedisClient,
  itemIds: string[],
): Promise<{ lagEntries: number; lagSeconds: number; gaps: number }> {
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
  // Per item: an item whose Redis node is unreachable (a Cluster failover) is listed in `unavailableItems`; the
  // others answer. TIME comes from any master that answers.
  const [tokenCountToMove, rows, time, relay, errors] = await Promise.all([
    o.items.getTokenCountToMove(o.defaultTokenCountToMove),
    Promise.all(
      listed.map(async (id) => {
        try {
          const [row, [counts]] = await Promise.all([o.items.getWithSchedulerState(id), o.queue.counts([id])]);
          return { id, row, counts };
        } catch (err) {
          if (!isRedisUnavailable(err)) throw err;
          return { id, unavailable: true as const, err };
        }
      }),
    ),
    redisTime(o.redis),
    o.relay ? relaySummary(o.redis, listed) : Promise.resolve(null),
    redisErrors.get(),
  ]);
  // When no item answers, Redis is down: 503.
  const firstOutage = rows.find((r) => 'unavailable' in r);
  if (firstOutage && 'err' in firstOutage && rows.every((r) => 'unavailable' in r)) throw firstOutage.err;
  const redisNow = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
  const items: ConsoleItemRow[] = [];
  const unavailableItems: string[] = [];
  rows.forEach((r) => {
    if ('unavailable' in r) return void unavailableItems.push(r.id);
    if (!r.row) return; // registered but not (or no longer) stored: the scheduler skips it too
    const { item, state } = r.row;
    // Internal counts, under the wire names the console's overview answers.
    const { waiting: waitingTokenCount, admitted: enteredTokenCount } = r.counts;
    const admitRate = state.admitRate;
    items.push({
      ...item,
      waitingTokenCount,
      enteredTokenCount,
      admitRate,
      admittedTotal: Math.max(0, state.registered - waitingTokenCount),
      drainSeconds: admitRate > 0 ? Math.ceil(waitingTokenCount / admitRate) : null,
      lastTickAt: state.lastMoveAt,
      fence: state.fence,
      fenceStuck: state.fence !== null && state.fence > redisNow + o.tickMs,
    });
  });
  const redisErrorCount = errors.values.reduce((sum, v) => sum + v.value, 0);
  return {
    tokenCountToMove,
    tickMs: o.tickMs,
    serverTime: redisNow,
    redisTime: redisNow,
    relay,
    redisErrors: redisErrorCount,
    items,
    ...(unavailableItems.length > 0 ? { unavailableItems } : {}),
    truncated: ids.length > listed.length,
  };
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
 * - `GET /admin/assets/*`: its CSS and JS; `GET /admin/vendor/uPlot.{iife.min.js,min.css}`: the chart library;
 * - `GET /internal/admin/v1/overview`: {@link ConsoleOverview} in the envelope (bearer ADMIN_TOKEN when set);
 * - `GET /internal/admin/v1/history?itemId=`: the chart samples of the last 15 minutes (history.ts HistoryAnswer), of
 *   one item or (no itemId) summed over all items; 400 `INVALID_PARAMETER` for a bad itemId;
 * - `GET /internal/admin/v1/audit?limit=`: the newest admin changes, newest first (audit.ts AuditEntry; limit 1-500,
 *   default 50); 400 `INVALID_PARAMETER` for a bad limit.
 */
export function createConsoleRouter(o: ConsoleOptions): Router {
  const router = express.Router();
  // The registry and N as last read while their master fails over (the other items still answer).
  const items = Object.create(o.items) as ItemStore;
  items.listIds = orLastKnown(() => o.items.listIds());
  const n = orLastKnown(() => o.items.getTokenCountToMove(o.defaultTokenCountToMove));
  items.getTokenCountToMove = () => n();
  const auth = bearerAuth(o.adminToken, 'waiting-queue-admin');
  const history = o.history ?? new TickHistory({ redis: o.redis, tickMs: o.tickMs });
  const audit = o.audit ?? new AuditLog({ redis: o.redis });
  // The console's routes of the admin server's table; the router stays mountable alone, so it checks the bearer itself.
  const handlers: { [K in AdminRouteName]?: RequestHandler[] } = {
    adminConsole: [
      (_req, res) => {
        res.set(PAGE_HEADERS).sendFile(join(CONSOLE_ASSETS_DIR, 'admin.html'));
      },
    ],
    adminConsoleAsset: [express.static(CONSOLE_ASSETS_DIR, { index: false, maxAge: '10m' })],
    adminConsoleVendorAsset: [express.static(UPLOT_DIST_DIR, { index: false, maxAge: '10m' })],
    // Each answer is typed as the view the document is generated from, so the compiler checks them against it.
    getOverview: [auth, route((): Promise<ConsoleOverviewView> => readOverview({ ...o, items }))],
    getHistory: [
      auth,
      route(async (req): Promise<HistoryAnswerView> => {
        const { itemId } = parseOr400(adminRoutes.getHistory.query, req.query, 'query');
        const [sec, micro] = await redisTime(o.redis);
        return history.read(itemId ?? null, Number(sec) * 1000 + Math.floor(Number(micro) / 1000));
      }),
    ],
    getAudit: [
      auth,
      route(async (req): Promise<AuditAnswer> => {
        const limit = Number(parseOr400(adminRoutes.getAudit.query, req.query, 'query').limit ?? 50);
        if (limit < 1 || limit > AUDIT_MAX_LIMIT)
          throw new WqError('INVALID_PARAMETER', `limit must be 1-${AUDIT_MAX_LIMIT}`, {
            data: { fields: { limit: `must be 1-${AUDIT_MAX_LIMIT}` } },
          });
        return { entries: await audit.list(limit) };
      }),
    ],
  };
  registerRoutes(router, adminRoutes, handlers);
  return router;
}
