import type { ServiceProcess } from '../helpers/processes';

/**
 * Small helpers of the fault tests (test/faults): a bounded worker pool, a random pause, and the admission-tick log
 * lines of scheduler processes.
 */

/**
 * Runs `fn` over `inputs` with at most `concurrency` calls in flight; results in input order.
 * @throws the first error of `fn` (the other calls in flight still settle).
 */
export async function inPool<T, R>(
  inputs: T[],
  concurrency: number,
  fn: (x: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(inputs.length);
  let next = 0;
  const worker = async () => {
    while (next < inputs.length) {
      const i = next++;
      out[i] = await fn(inputs[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, inputs.length) }, worker));
  return out;
}

/** A whole number of milliseconds drawn uniformly from [minMs, maxMs]. */
export function randomMs(minMs: number, maxMs: number): number {
  return Math.floor(minMs + Math.random() * (maxMs - minMs + 1));
}

/** One `admission tick` log line of a scheduler: the tick's scheduled time (ISO) and how many it admitted in all items. */
export interface TickLog {
  scheduler: number;
  slot: string;
  moved: number;
}

/**
 * The `admission tick` lines (JSON, pino) that scheduler processes printed, including those killed since (their
 * output is kept by the test harness). A killed process may have admitted a tick without printing it.
 */
export function tickLogs(schedulers: ServiceProcess[]): TickLog[] {
  const out: TickLog[] = [];
  schedulers.forEach((s, index) => {
    for (const line of s.output().split('\n')) {
      if (!line.includes('"admission tick"')) continue;
      try {
        const j = JSON.parse(line) as { slot?: string; moved?: number };
        if (j.slot && typeof j.moved === 'number') out.push({ scheduler: index, slot: j.slot, moved: j.moved });
      } catch {
        /* a line cut by SIGKILL */
      }
    }
  });
  return out;
}
