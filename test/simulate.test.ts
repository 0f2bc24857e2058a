import { execFile, execFileSync, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startService, type ServiceProcess } from './helpers/processes';
import { testRedis } from './helpers/redis';

const run = promisify(execFile);
const SCRIPT = join(__dirname, '..', 'scripts', 'simulate.js');

/**
 * A run of simulate.js is given a unique mark: in an environment variable, which its api and scheduler inherit,
 * and in the path of the redis-server it starts (`REDIS_SERVER_BIN`, a symlink named after the mark: redis-server
 * overwrites its environment with its process title, which starts with that path). So the processes of one run are
 * found even after simulate.js is gone and they were re-parented.
 */
function markedRun(): { mark: string; env: Record<string, string>; cleanupDir: () => void } {
  const mark = randomBytes(8).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), 'wq-sim-test-'));
  const which = execFileSync('sh', ['-c', 'command -v "${REDIS_SERVER_BIN:-redis-server}"'], {
    encoding: 'utf8',
  }).trim();
  symlinkSync(which, join(dir, `redis-server-${mark}`));
  return {
    mark,
    env: {
      ...(process.env as Record<string, string>),
      WQ_SIMULATE_TEST_MARK: mark,
      REDIS_SERVER_BIN: join(dir, `redis-server-${mark}`),
    },
    cleanupDir: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Pids of the live processes of a marked run (see markedRun), but `except`. */
function markedPids(mark: string, except: number[] = []): number[] {
  const needle = `WQ_SIMULATE_TEST_MARK=${mark}`;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!/^\d+$/.test(entry) || pid === process.pid || except.includes(pid)) continue;
    try {
      const env = readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0');
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'latin1');
      if (env.includes(needle) || cmdline.includes(`redis-server-${mark}`)) pids.push(pid);
    } catch {
      /* gone meanwhile, or not ours to read */
    }
  }
  return pids;
}

/** Polls `markedPids` until no process is left or `timeoutMs` passes; returns what is left. */
async function leftAfter(mark: string, timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = markedPids(mark);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Kills what a failed assertion left behind (by pid), so that a failing test does not leak processes. */
function killAll(pids: number[]) {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/** `npm run simulate` end to end: it starts its own stack, and its stock check must hold. */
describe('store simulation (scripts/simulate.js)', () => {
  const simulate = async (...flags: string[]) => {
    const { stdout } = await run(process.execPath, [SCRIPT, '--json', '--quiet', ...flags], { timeout: 150_000 });
    return JSON.parse(stdout.trim().split('\n').pop()!);
  };

  test('every customer buys one; success == initial + restocked - final', async () => {
    const s = await simulate('--customers', '25', '--seed', '11');
    expect(s).toMatchObject({ customers: 25, success: 25, failed: 0, initialStock: 20, balanced: true });
    expect(s.success).toBe(s.initialStock + s.restockedTotal - s.finalStock);
  }, 180_000);

  test('with lanes, abandonment and a queue cap: refusals and walk-aways are failures, stock still balances', async () => {
    const s = await simulate(
      '--customers',
      '60',
      '--seed',
      '5',
      '--vip-ratio',
      '0.3',
      '--abandon-ratio',
      '0.2',
      '--max-waiting',
      '30',
    );
    expect(s.balanced).toBe(true);
    expect(s.success + s.failed).toBe(60);
    expect(s.failures.abandoned).toBeGreaterThan(0);
    expect(s.success).toBe(s.initialStock + s.restockedTotal - s.finalStock);
  }, 180_000);

  test('the same seed gives the same customers, arrivals and restock sizes; another seed does not', async () => {
    const a = await simulate('--customers', '12', '--seed', '42');
    const b = await simulate('--customers', '12', '--seed', '42');
    const c = await simulate('--customers', '12', '--seed', '43');
    expect(a.planHash).toMatch(/^[0-9a-f]{40}$/);
    expect(b.planHash).toBe(a.planHash);
    expect(c.planHash).not.toBe(a.planHash);
  }, 400_000);
});

/** The simulation against a secured stack, and its own stack stopped on failure paths. */
describe('store simulation: tokens and cleanup', () => {
  test('against a stack with ADMIN_TOKEN and INTERNAL_TOKEN (DEV_MODE off), the tokens from the environment let it run', async () => {
    const adminToken = randomBytes(16).toString('hex');
    const internalToken = randomBytes(16).toString('hex');
    const redis = await testRedis();
    const procs: ServiceProcess[] = [];
    try {
      procs.push(
        await startService('scheduler', {
          REDIS_URL: redis.url,
          DEV_MODE: '0',
          ADMIN_TOKEN: adminToken,
          INTERNAL_TOKEN: internalToken,
          TOKEN_COUNT_TO_MOVE: '5',
          LOG_LEVEL: 'warn',
        }),
      );
      // Outside DEV_MODE the api also needs its secrets from the environment.
      const secrets = {
        TOKEN_SECRET: randomBytes(24).toString('hex'),
        ENTRY_PASS_PRIVATE_JWK: JSON.stringify(
          generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }),
        ),
      };
      procs.push(
        await startService('api', {
          REDIS_URL: redis.url,
          DEV_MODE: '0',
          ADMIN_TOKEN: adminToken,
          INTERNAL_TOKEN: internalToken,
          ...secrets,
          LOG_LEVEL: 'warn',
        }),
      );
      const [scheduler, api] = procs;
      const { stdout } = await run(
        process.execPath,
        [
          SCRIPT,
          '--json',
          '--quiet',
          '--customers',
          '10',
          '--seed',
          '3',
          '--base-url',
          api.url,
          '--admin-url',
          scheduler.url,
        ],
        {
          timeout: 150_000,
          env: { ...process.env, ADMIN_TOKEN: adminToken, INTERNAL_TOKEN: internalToken },
        },
      );
      const s = JSON.parse(stdout.trim().split('\n').pop()!);
      expect(s).toMatchObject({ customers: 10, success: 10, failed: 0, balanced: true });
    } finally {
      for (const p of procs) await p.stop();
      await redis.stop();
    }
  }, 180_000);

  /** Starts simulate.js as a marked run; resolves with its exit code and output once it exits. */
  const startMarked = (m: ReturnType<typeof markedRun>, flags: string[]) => {
    const child = spawn(process.execPath, [SCRIPT, ...flags], { env: m.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    // 'exit', not 'close': processes left behind would hold the inherited stderr open.
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, exited, output: () => out };
  };

  test('when a step fails after its own stack started (the admin API refuses the item), its redis-server, api and scheduler are stopped', async () => {
    const m = markedRun();
    try {
      // --max-waiting 0 is a number, so simulate.js starts its stack; the admin API refuses it (maxWaiting >= 1).
      const sim = startMarked(m, ['--quiet', '--customers', '5', '--max-waiting', '0']);
      const code = await sim.exited;
      const left = await leftAfter(m.mark, 3000);
      expect(left).toEqual([]);
      expect(sim.output()).toMatch(/cannot create the item/);
      expect(code).toBe(2);
    } finally {
      killAll(markedPids(m.mark));
      m.cleanupDir();
    }
  }, 150_000);

  test('SIGTERM while it runs its own stack stops the redis-server, api and scheduler, then it exits 143', async () => {
    const m = markedRun();
    const sim = startMarked(m, ['--customers', '40', '--seed', '7']);
    try {
      // The run is under way once the item exists: the stack is up.
      const deadline = Date.now() + 90_000;
      while (!/item sim_/.test(sim.output())) {
        if (sim.child.exitCode !== null) throw new Error(`simulate.js exited early:\n${sim.output()}`);
        if (Date.now() > deadline) throw new Error(`simulate.js did not start its run:\n${sim.output()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(markedPids(m.mark, [sim.child.pid!])).toHaveLength(3); // redis-server, api, scheduler
      sim.child.kill('SIGTERM');
      const code = await sim.exited;
      const left = await leftAfter(m.mark, 3000);
      expect(left).toEqual([]);
      expect(code).toBe(143);
    } finally {
      if (sim.child.exitCode === null && sim.child.signalCode === null) sim.child.kill('SIGKILL');
      killAll(markedPids(m.mark));
      m.cleanupDir();
    }
  }, 150_000);
});
