import { startService, type ServiceProcess } from './processes';

/**
 * Starts several product processes at once (each as {@link startService}); when one fails to start, stops the
 * others that did (by pid) and rethrows, so no process outlives a failed beforeAll.
 */
export async function startServices(specs: { name: 'api' | 'scheduler'; env: Record<string, string> }[]): Promise<ServiceProcess[]> {
  const settled = await Promise.allSettled(specs.map((s) => startService(s.name, s.env)));
  const started = settled.filter((s): s is PromiseFulfilledResult<ServiceProcess> => s.status === 'fulfilled').map((s) => s.value);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(started.map((p) => p.stop()));
    throw failed.reason;
  }
  return started;
}
