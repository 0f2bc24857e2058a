import { startServices as startProcesses, type ServiceName, type ServiceProcess } from '@waiting-queue/testkit/stack';
import { testServiceEnv } from './processes';

/**
 * Starts several product processes at once (each as `startService` of ./processes, with the test defaults);
 * when one fails to start, stops the others that did (by pid) and rethrows, so no process outlives a failed
 * beforeAll.
 */
export function startServices(specs: { name: ServiceName; env: Record<string, string> }[]): Promise<ServiceProcess[]> {
  return startProcesses(specs.map((s) => ({ name: s.name, env: testServiceEnv(s.env), readyTimeoutMs: 30_000 })));
}
