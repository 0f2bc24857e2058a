/** Types of scripts/lib/spike-core.js (and the statistics it re-exports from spike-stats.js), for TypeScript callers. */

export interface SpikeOptions {
  baseUrl: string;
  vus: number;
  rampUpSeconds: number;
  holdSeconds: number;
  rampDownSeconds: number;
  items: number;
  sleepSeconds: number;
  maxPolls: number;
  drainSeconds: number;
  requestTimeoutMs: number;
  runId?: string;
  random?: () => number;
}

export interface SpikeProgress {
  elapsedMs: number;
  activeVus: number;
  users: number;
  registered: number;
  admitted: number;
  waiting: number;
  requests: number;
}

export interface FifoUser {
  userId: string;
  itemId: string;
  /** Driver clock (performance.now()), ms: registration request sent. */
  registerSentAt: number;
  /** Driver clock, ms: registration response received. */
  registeredAt: number;
  /** Admission expiry from the poll, epoch ms (Redis clock); null when not admitted. */
  admissionExpiresAt: number | null;
}

export interface FifoExample {
  ahead: string;
  behind: string;
  aheadAdmissionExpiresAt: number;
  behindAdmissionExpiresAt: number;
}

export interface SpikeResult {
  users: number;
  registered: number;
  admitted: number;
  notAdmitted: number;
  fifoViolations: number;
  fifoExamples: FifoExample[];
  errorRate: number;
  errors: number;
  requests: number;
  polls: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
  statusCounts: Record<string, number>;
  outcomes: Record<string, number>;
  admissionWaitMs: { p50: number | null; p95: number | null; max: number | null };
  durationMs: number;
  /** Per second of the run (by request start): requests sent, and the p50/p99 latency (ms) of those answered. */
  timeline: { seconds: number[]; requestsPerSecond: number[]; p50Ms: (number | null)[]; p99Ms: (number | null)[] };
  /** Admitted users per scheduler tick (grouped by the second of their admission expiry); at: s after the first. */
  admissionsPerTick: { at: number[]; admitted: number[] };
  runId: string;
  baseUrl: string;
  options: Omit<SpikeOptions, 'baseUrl' | 'requestTimeoutMs' | 'runId' | 'random'>;
}

export interface Thresholds {
  maxErrorRate?: number;
  /** null: latency not checked. */
  maxP95Ms?: number | null;
}

export const SPIKE_DEFAULTS: Readonly<Omit<SpikeOptions, 'runId' | 'random'>>;
export const DEFAULT_THRESHOLDS: Readonly<{ maxErrorRate: number; maxP95Ms: number }>;

export function runSpike(options?: Partial<SpikeOptions>, onProgress?: (p: SpikeProgress) => void): Promise<SpikeResult>;
export function thresholdFailures(
  r: Pick<SpikeResult, 'registered' | 'admitted' | 'fifoViolations' | 'errorRate' | 'p95'>,
  t?: Thresholds,
): string[];
export function percentile(values: number[], p: number): number | null;
export function latencySummary(durationsMs: number[]): { p50: number | null; p95: number | null; p99: number | null; max: number | null; mean: number | null };
export function vuWindow(vu: number, stages: { vus: number; rampUpMs: number; holdMs: number; rampDownMs: number }): { startMs: number; stopMs: number };
export function countFifoViolations(users: FifoUser[], maxExamples?: number): { violations: number; examples: FifoExample[] };
