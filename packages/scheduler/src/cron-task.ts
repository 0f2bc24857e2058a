import cron, { type Logger as CronLogger, type ScheduledTask } from 'node-cron';
import type { Logger } from '@waiting-queue/core/logger';
import type { RedisClient } from '@waiting-queue/core/redis';
import type { Ticker } from './admission';
import { redisSlotMs, type RedisRunCoordinator } from './coordinator';

/** The node-cron task name. */
export const ADMISSION_TASK_NAME = 'wq-admission';

/**
 * Interval between two runs of a node-cron expression, milliseconds (from its next two scheduled times).
 * @throws Error when the expression is not valid for node-cron.
 */
export function cronIntervalMs(expression: string): number {
  if (!cron.validate(expression)) throw new Error(`SCHEDULER_CRON is not a valid cron expression: ${expression}`);
  const probe = cron.createTask(expression, () => undefined, { name: `${ADMISSION_TASK_NAME}-probe` });
  const [a, b] = probe.getNextRuns(2);
  void probe.destroy();
  return b && a ? b.getTime() - a.getTime() : 1000;
}

/**
 * node-cron's own messages (a missed execution, a task still running) as JSON log lines of `logger`, with
 * `component: "node-cron"`, instead of node-cron's coloured plain text on stdout/stderr.
 */
export function cronLogger(logger: Logger): CronLogger {
  const log = logger.child({ component: 'node-cron' });
  const errOf = (message: string | Error, err?: Error) => (message instanceof Error ? message : err)?.message;
  const text = (message: string | Error) => (message instanceof Error ? message.message : message);
  return {
    info: (message) => log.info(message),
    warn: (message) => log.warn(message),
    error: (message, err) => log.error({ err: errOf(message, err) }, text(message)),
    debug: (message, err) => log.debug({ err: errOf(message, err) }, text(message)),
  };
}

/** How long a run election record is kept, milliseconds. */
const ELECTION_TTL_MS = 60_000;
/** Least interval between two warnings about refused fences, milliseconds (they repeat every tick while stuck). */
const FENCE_WARN_INTERVAL_MS = 60_000;

/** What {@link scheduleAdmission} needs. */
export interface ScheduleAdmissionOptions {
  /** node-cron expression (six fields: seconds first). */
  expression: string;
  ticker: Ticker;
  coordinator: RedisRunCoordinator;
  logger: Logger;
  redis: RedisClient;
  /** Interval between ticks, milliseconds ({@link cronIntervalMs} of the expression). */
  tickMs: number;
}

/**
 * Schedules the admission tick with node-cron. The host clock only triggers the tick: when it fires, the tick's
 * slot is read from the Redis clock ({@link redisSlotMs}), the one scheduler process that the Redis coordinator
 * elects for that slot runs it, and the slot is passed on as the fencing token. A scheduler whose host clock is
 * off therefore still joins the same election and fences as every other one.
 */
export function scheduleAdmission(o: ScheduleAdmissionOptions): ScheduledTask {
  const { expression, ticker, coordinator, logger, redis, tickMs } = o;
  let lastFenceWarning = -Infinity;
  return cron.schedule(
    expression,
    async () => {
      const started = Date.now();
      try {
        const slotMs = await redisSlotMs(redis, tickMs);
        if (!(await coordinator.shouldRun(slotMs, ELECTION_TTL_MS))) return;
        const report = await ticker.tick(slotMs);
        const refused = report.items.filter((r) => r.status === 'FENCE_AHEAD' || r.status === 'STUCK_FENCE');
        if (refused.length > 0 && started - lastFenceWarning >= FENCE_WARN_INTERVAL_MS) {
          lastFenceWarning = started;
          logger.warn(
            {
              slot: new Date(slotMs).toISOString(),
              items: refused.slice(0, 20).map((r) => ({ itemId: r.itemId, status: r.status })),
              count: refused.length,
            },
            'admission refused: fence ahead of Redis time; clear it with POST /internal/admin/v1/waiting-item/{itemId}/fence/clear',
          );
        }
        if (
          report.admittedCount > 0 ||
          report.expired > 0 ||
          report.failed.length > 0 ||
          report.reservationsExpired > 0 ||
          report.abandoned > 0
        ) {
          logger.info(
            {
              slot: new Date(slotMs).toISOString(),
              moved: report.admittedCount,
              expired: report.expired,
              failed: report.failed.length,
              reservationsExpired: report.reservationsExpired,
              abandoned: report.abandoned,
              ms: Date.now() - started,
            },
            'admission tick',
          );
        }
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'admission tick failed; retrying next tick');
      }
    },
    { name: ADMISSION_TASK_NAME, noOverlap: true, logger: cronLogger(logger) },
  );
}
