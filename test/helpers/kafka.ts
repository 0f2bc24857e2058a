import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** The repository root; `../shared` beside it holds the kafka-mock sources (here and in CI). */
export const REPO_ROOT = join(__dirname, '..', '..');
const BUILD_SCRIPT = join(REPO_ROOT, '..', 'shared', 'kafka-mock', 'build.sh');
/** Where the mock broker binary is built (an ignored folder). */
export const MOCK_KAFKA_BIN = join(REPO_ROOT, '.cache', 'mockkafka');

/** A Kafka-protocol broker for a test: the librdkafka mock cluster started by the test, or `KAFKA_BROKERS`. */
export interface TestKafka {
  /** Bootstrap servers, comma-separated `host:port`, as `KAFKA_BROKERS` takes them. */
  brokers: string;
  /** The mock's pid; undefined for an external broker (`KAFKA_BROKERS`). */
  pid?: number;
  /** Stops the mock (SIGTERM by pid, SIGKILL after `timeoutMs` = 5000 ms); a no-op for an external broker. */
  stop: (timeoutMs?: number) => Promise<void>;
  /**
   * Freezes the mock (SIGSTOP): it keeps its ports and data but answers nothing, an unresponsive broker.
   * Undefined for an external broker.
   */
  pause?: () => void;
  /** Lets a paused mock go on (SIGCONT): clients' pending requests get their answers. */
  resume?: () => void;
}

/**
 * Builds `.cache/mockkafka` with `../shared/kafka-mock/build.sh` unless it is built already (the script installs
 * librdkafka-dev and gcc when missing; that needs root). The binary is built under a temporary name and renamed,
 * so a concurrent build never leaves a half-written file.
 * @returns the binary's path, or `{error}` saying why it cannot be built.
 */
export function buildMockKafka(): { path: string } | { error: string } {
  if (existsSync(MOCK_KAFKA_BIN)) return { path: MOCK_KAFKA_BIN };
  if (!existsSync(BUILD_SCRIPT)) return { error: `${BUILD_SCRIPT} is missing (../shared/kafka-mock beside the repository)` };
  mkdirSync(join(REPO_ROOT, '.cache'), { recursive: true });
  const tmp = `${MOCK_KAFKA_BIN}.${process.pid}.tmp`;
  const r = spawnSync('bash', [BUILD_SCRIPT, tmp], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0 || !existsSync(tmp)) {
    rmSync(tmp, { force: true });
    return { error: `build.sh failed (${r.error?.message ?? `exit ${r.status}`}): ${(r.stderr || r.stdout || '').trim().slice(-2000)}` };
  }
  renameSync(tmp, MOCK_KAFKA_BIN);
  return { path: MOCK_KAFKA_BIN };
}

/**
 * Starts the mock broker (`mockkafka 1 <topic:partitions ...>`, random loopback ports) and reads its bootstrap
 * line from stdout.
 * @param topics e.g. `['item-changed-event:3']` (the mock cannot create topics through the admin API).
 * @throws when it exits or prints no bootstrap line within `timeoutMs` (default 10 000 ms).
 */
export async function startMockKafka(bin: string, topics: string[], timeoutMs = 10_000): Promise<TestKafka> {
  const child: ChildProcess = spawn(bin, ['1', ...topics], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const brokers = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`mockkafka printed no bootstrap line within ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(line.trim());
    });
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${bin}: ${e.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`mockkafka exited with ${code}: ${stderr}`));
    });
  });
  if (!/^[\w.-]+:\d+(,[\w.-]+:\d+)*$/.test(brokers)) throw new Error(`unexpected bootstrap line from mockkafka: ${brokers}`);
  return {
    brokers,
    pid: child.pid,
    stop: (ms = 5000) =>
      new Promise<void>((resolve) => {
        if (exited()) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), ms);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
        child.kill('SIGCONT'); // a paused mock handles the SIGTERM only once it runs again
      }),
    pause: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
  };
}

/**
 * The broker a Kafka test runs against: `KAFKA_BROKERS` when set (an external broker: `stop` does nothing),
 * else the mock broker, built first if needed.
 * @returns null only outside CI when no broker can be had (a warning says why); the test then returns early.
 * @throws in CI (`CI=true`) when no broker can be had: a Kafka test must never pass without a broker there.
 */
export async function kafkaForTest(topics: string[]): Promise<TestKafka | null> {
  if (process.env.KAFKA_BROKERS) return { brokers: process.env.KAFKA_BROKERS, stop: async () => undefined };
  const built = buildMockKafka();
  if ('error' in built) {
    const why = `no Kafka broker: KAFKA_BROKERS is not set and the mock broker cannot be built: ${built.error}`;
    if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(why);
    // eslint-disable-next-line no-console
    console.warn(`${why}\nKafka tests return early (never in CI).`);
    return null;
  }
  return startMockKafka(built.path, topics);
}
