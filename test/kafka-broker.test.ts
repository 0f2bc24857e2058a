import { spawn } from 'node:child_process';
import { cpSync, copyFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kafkaBroker, testOwnBroker } from './helpers/kafka';

/**
 * A Kafka test that cannot get a broker is reported as skipped, never as passed; in CI it fails.
 *
 * The Kafka test files run in a child jest, in a copy of the repository as a newcomer clones it: no `../shared`
 * beside it and no built broker in `.cache/`. The copy holds its own test/ and jest config (so that the helpers'
 * paths resolve inside it) and links to the repository's node_modules, packages, scripts and tools.
 * `MOCK_KAFKA_BIN` names a binary that does not exist, which stands for a machine without gcc or librdkafka-dev,
 * where the broker cannot be built.
 */

const REPO = join(__dirname, '..');
const KAFKA_TEST_FILES = ['test/kafka-item-sync.test.ts', 'test/ledger.test.ts'];

interface JestJson {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTotalTests: number;
  testResults: { name: string; assertionResults: { title: string; status: string; failureMessages: string[] }[] }[];
}

describe('Kafka tests without a broker', () => {
  let root: string;
  let clone: string;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'wq-fresh-clone-'));
    clone = join(root, 'waiting-queue');
    cpSync(join(REPO, 'test'), join(clone, 'test'), { recursive: true });
    for (const f of ['jest.config.js', 'package.json', 'tsconfig.base.json'])
      copyFileSync(join(REPO, f), join(clone, f));
    for (const d of ['node_modules', 'packages', 'scripts', 'tools']) symlinkSync(join(REPO, d), join(clone, d));
  });

  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  /** Runs jest in the copy on the Kafka test files; resolves with jest's `--json` report. */
  const runJest = (extraEnv: Record<string, string>): Promise<JestJson> => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      MOCK_KAFKA_BIN: join(root, 'no-such-dir', 'mockkafka'),
      ...extraEnv,
    };
    delete env.KAFKA_BROKERS;
    if (!('CI' in extraEnv)) delete env.CI;
    const out = join(root, `jest-${Date.now()}.json`);
    const child = spawn(
      process.execPath,
      [
        join(clone, 'node_modules', 'jest', 'bin', 'jest.js'),
        '--config',
        join(clone, 'jest.config.js'),
        '--runInBand',
        '--json',
        '--outputFile',
        out,
        ...KAFKA_TEST_FILES,
      ],
      { cwd: clone, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let log = '';
    child.stdout!.on('data', (d) => (log += d));
    child.stderr!.on('data', (d) => (log += d));
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', () => {
        try {
          resolve(JSON.parse(readFileSync(out, 'utf8')));
        } catch (e) {
          reject(new Error(`jest wrote no report (${(e as Error).message}):\n${log.slice(-4000)}`));
        }
      });
    });
  };

  test('outside CI, every Kafka test is reported as skipped (pending), none as passed', async () => {
    const r = await runJest({});
    expect(r.testResults.map((t) => t.name.slice(clone.length + 1)).sort()).toEqual(KAFKA_TEST_FILES);
    const statuses = r.testResults.flatMap((t) => t.assertionResults.map((a) => a.status));
    expect(statuses.length).toBeGreaterThanOrEqual(10);
    expect(new Set(statuses)).toEqual(new Set(['pending']));
    expect({ passed: r.numPassedTests, failed: r.numFailedTests, pending: r.numPendingTests }).toEqual({
      passed: 0,
      failed: 0,
      pending: r.numTotalTests,
    });
  }, 180_000);

  test('in CI (CI=true), a missing broker fails the Kafka test files, saying why', async () => {
    const r = await runJest({ CI: 'true' });
    expect(r.numPassedTests).toBe(0);
    for (const file of r.testResults) {
      const failures = file.assertionResults.filter((a) => a.status === 'failed');
      expect(failures.length).toBeGreaterThan(0);
      expect(failures[0].failureMessages.join('\n')).toContain('no Kafka broker');
    }
  }, 180_000);
});

describe('the test broker (tools/mockkafka)', () => {
  /** True while `pid` is a live process (a zombie, exited but not yet reaped, counts as gone). */
  const alive = (pid: number) => {
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };

  testOwnBroker(
    'stops by itself when the process that started it is killed (kill -9 of a test runner leaves no broker)',
    async () => {
      const bin = kafkaBroker.kind === 'mock' ? kafkaBroker.bin : '';
      // A runner that starts the broker, prints its pid once it serves, and is then killed hard.
      const runner = spawn(
        process.execPath,
        [
          '-e',
          `const c = require('node:child_process').spawn(process.argv[1], ['-b', '1', 't:1'], { stdio: ['ignore', 'pipe', 'inherit'] });
c.stdout.once('data', () => console.log(c.pid));
c.once('exit', (code) => process.exit(100 + (code ?? 0)));
setInterval(() => undefined, 1000);`,
          bin,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      try {
        const pid = await new Promise<number>((resolve, reject) => {
          runner.stdout!.once('data', (d) => resolve(Number(String(d).trim())));
          runner.once('exit', (code) =>
            reject(new Error(`the runner exited with ${code} (100 + the broker's exit code)`)),
          );
        });
        expect(alive(pid)).toBe(true);
        runner.kill('SIGKILL');
        const deadline = Date.now() + 5000;
        while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        const left = alive(pid);
        if (left) process.kill(pid, 'SIGKILL');
        expect(left).toBe(false);
      } finally {
        if (runner.exitCode === null && runner.signalCode === null) runner.kill('SIGKILL');
      }
    },
    30_000,
  );
});
