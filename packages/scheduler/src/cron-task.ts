import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from '@waiting-queue/shared';
import type { AdmissionTicker } from './admission';
import type { RedisRunCoordinator } from './coordinator';

/** The node-cron task name; node-cron's run-coordination key starts with it, so it is the same in every process. */
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
 * Schedules the admission tick with node-cron in distributed mode: each tick is run by the one scheduler process
 * that the Redis coordinator elects, and the tick's scheduled time is passed on as the fencing token.
 */
export function scheduleAdmission(expression: string, ticker: AdmissionTicker, coordinator: RedisRunCoordinator, logger: Logger): ScheduledTask {
  return cron.schedule(
    expression,
    async (ctx) => {
      const started = Date.now();
      try {
        const report = await ticker.tick(ctx.date.getTime());
        if (report.moved > 0 || report.expired > 0 || report.failed.length > 0 || report.reservationsExpired > 0 || report.abandoned > 0) {
          logger.info(
            {
              slot: ctx.date.toISOString(),
              moved: report.moved,
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
    { name: ADMISSION_TASK_NAME, distributed: true, runCoordinator: coordinator, distributedLease: 60_000, noOverlap: true },
  );
}
