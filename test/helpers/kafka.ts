import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** The repository root. */
export const REPO_ROOT = join(__dirname, '..', '..');
/** Builds tools/mockkafka/mockkafka.c (librdkafka's mock cluster) into .cache/ (git-ignored). */
export const BUILD_SCRIPT = join(REPO_ROOT, 'scripts', 'build-mockkafka.sh');
/** Where the build script puts the test broker unless `MOCK_KAFKA_BIN` names another binary. */
export const MOCK_KAFKA_BIN = join(REPO_ROOT, '.cache', 'mockkafka');

/** CI (`CI=true` or `1`): a Kafka test without a broker fails there, it is never skipped. */
export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

/**
 * The broker the Kafka tests of this jest worker run against, decided once, synchronously, when this module loads,
 * so that the test files can choose between `describe` and `describe.skip` before jest collects their tests:
 * - `external`: `KAFKA_BROKERS` is set (blank = unset);
 * - `mock`: the test broker binary, `MOCK_KAFKA_BIN` when set (never built then), else `.cache/mockkafka`, built
 *   now by scripts/build-mockkafka.sh when missing or older than its source (gcc and librdkafka-dev needed;
 *   nothing is installed from a test);
 * - `none`, with the reason.
 */
export type KafkaBroker =
  { kind: 'external'; brokers: string } | { kind: 'mock'; bin: string } | { kind: 'none'; reason: string };

/** Finds or builds the broker (see KafkaBroker); `env` is the environment to read. Never throws. */
export function findKafkaBroker(env: NodeJS.ProcessEnv = process.env): KafkaBroker {
  const external = env.KAFKA_BROKERS?.trim();
  if (external) return { kind: 'external', brokers: external };
  const given = env.MOCK_KAFKA_BIN?.trim();
  if (given) {
    try {
      accessSync(given, constants.X_OK);
      return { kind: 'mock', bin: given };
    } catch {
      return { kind: 'none', reason: `MOCK_KAFKA_BIN=${given} is not an executable file` };
    }
  }
  const r = spawnSync('bash', [BUILD_SCRIPT], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0 || !existsSync(MOCK_KAFKA_BIN)) {
    const why = r.error?.message ?? (r.stderr || r.stdout || `exit ${r.status}`).trim().slice(-2000);
    return {
      kind: 'none',
      reason: `KAFKA_BROKERS is not set and ${BUILD_SCRIPT} cannot build the test broker: ${why}`,
    };
  }
  return { kind: 'mock', bin: MOCK_KAFKA_BIN };
}

/** The broker of this jest worker (see findKafkaBroker), found when this module loaded. */
export const kafkaBroker: KafkaBroker = findKafkaBroker();

let warned = false;

/**
 * `describe` for a suite that needs a Kafka broker. Without one (`kafkaBroker.kind === 'none'`) the suite is
 * `describe.skip`ped, so jest reports its tests as skipped, with the reason printed once; in CI it is replaced by
 * one failing test that gives the reason instead.
 */
export function describeKafka(name: string, fn: () => void): void {
  if (kafkaBroker.kind !== 'none') return describe(name, fn);
  const reason = `no Kafka broker: ${kafkaBroker.reason}`;
  if (IN_CI) {
    describe(name, () => {
      test('has a Kafka broker (required in CI)', () => {
        throw new Error(reason);
      });
    });
    return;
  }
  if (!warned) {
    warned = true;
    // eslint-disable-next-line no-console
    console.warn(`${reason}\nKafka tests are skipped (never in CI).`);
  }
  describe.skip(name, fn);
}

/**
 * `test` for one test that needs a Kafka broker inside a suite that mostly does not: run with a broker, skipped (and
 * so reported) without one, and in CI a failing test that gives the reason, as {@link describeKafka} does.
 */
export function testKafka(name: string, fn: jest.ProvidesCallback, timeoutMs?: number): void {
  if (kafkaBroker.kind !== 'none') return test(name, fn, timeoutMs);
  if (IN_CI) {
    test(name, () => {
      throw new Error(`no Kafka broker (required in CI): ${kafkaBroker.kind === 'none' ? kafkaBroker.reason : ''}`);
    });
    return;
  }
  test.skip(name, fn, timeoutMs);
}

/**
 * `test` for a test that needs the broker to be this run's own mock (it freezes or stops it): skipped, and so
 * reported, against an external broker (`KAFKA_BROKERS`).
 */
export const testOwnBroker: jest.It = kafkaBroker.kind === 'mock' ? test : test.skip;

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
 * Starts the test broker (`mockkafka -b 1 <topic:partitions ...>`, random loopback ports) and reads its bootstrap
 * line from stdout.
 * @param topics e.g. `['item-changed-event:3']` (the mock cannot create topics through the admin API).
 * @throws when it exits or prints no bootstrap line within `timeoutMs` (default 10 000 ms).
 */
export async function startMockKafka(bin: string, topics: string[], timeoutMs = 10_000): Promise<TestKafka> {
  const child: ChildProcess = spawn(bin, ['-b', '1', ...topics], { stdio: ['ignore', 'pipe', 'pipe'] });
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
  if (!/^[\w.-]+:\d+(,[\w.-]+:\d+)*$/.test(brokers))
    throw new Error(`unexpected bootstrap line from mockkafka: ${brokers}`);
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
 * Starts the broker of a Kafka test (call it in `beforeAll` of a `describeKafka` suite): `KAFKA_BROKERS` when set
 * (an external broker: `stop` does nothing, no `pause`/`resume`), else the test broker with `topics`.
 * @param topics e.g. `['item-changed-event:3']`, created on the mock (an external broker auto-creates them).
 * @throws when there is no broker (a `describeKafka` suite is skipped then, or fails in CI) or the mock does not start.
 */
export async function kafkaForTest(topics: string[]): Promise<TestKafka> {
  if (kafkaBroker.kind === 'external') return { brokers: kafkaBroker.brokers, stop: async () => undefined };
  if (kafkaBroker.kind === 'none') throw new Error(`no Kafka broker: ${kafkaBroker.reason}`);
  return startMockKafka(kafkaBroker.bin, topics);
}
