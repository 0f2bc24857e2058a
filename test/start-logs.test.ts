import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '@waiting-queue/testkit/embedded-redis';
import { testRedis } from './helpers/redis';

/**
 * `npm start` (scripts/start.js) prints human-readable logs on a terminal and JSON lines otherwise. The terminal
 * is a real pseudo-terminal from util-linux `script`; both runs use a redis-server of this file and free ports, and
 * are stopped by the pid of start.js (which stops the api and the scheduler it started).
 */

jest.setTimeout(120_000);

const ROOT = join(__dirname, '..');
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

type Env = Awaited<ReturnType<typeof testRedis>>;

/** Runs start.js (under a pty when `tty`) until it prints that it runs, then stops it; returns its output. */
async function runStart(env: Env, tty: boolean): Promise<string> {
  const vars: NodeJS.ProcessEnv = {
    ...process.env,
    REDIS_URL: env.url,
    API_PORT: String(await freePort()),
    ADMIN_PORT: String(await freePort()),
    LOG_LEVEL: 'info',
  };
  delete vars.LOG_FORMAT;
  const script = join(ROOT, 'scripts', 'start.js');
  const child: ChildProcess = tty
    ? spawn('script', ['-qfec', `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(script)}`, '/dev/null'], {
        env: vars,
        stdio: ['pipe', 'pipe', 'pipe'],
      })
    : spawn(process.execPath, [script], { env: vars, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const deadline = Date.now() + 60_000;
    while (!out.includes('Ctrl-C stops everything')) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`start.js did not get ready:\n${out}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    // Under `script`, start.js is the child of script's pid (exec replaced the shell): SIGTERM goes to it, by pid.
    const startPid = tty
      ? Number(
          execFileSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' })
            .trim()
            .split('\n')[0],
        )
      : child.pid!;
    process.kill(startPid, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 30_000)))]);
    clearTimeout(timer);
    child.stdin?.destroy();
  }
  return out.replace(ANSI, '');
}

describe('npm start logs', () => {
  let env: Env | undefined;
  beforeAll(async () => {
    env = await testRedis();
  });
  afterAll(async () => {
    await env?.stop();
  });

  test('on a terminal: human-readable lines (time, level, service, message), no JSON', async () => {
    const out = await runStart(env!, true);
    const lines = out.split(/\r?\n/);
    expect(lines.filter((l) => l.trimStart().startsWith('{"level"'))).toEqual([]);
    expect(lines.some((l) => /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: api: /.test(l))).toBe(true);
    expect(lines.some((l) => /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: scheduler: /.test(l))).toBe(true);
  });

  test('piped: one JSON object per log line', async () => {
    const out = await runStart(env!, false);
    const json = out.split('\n').filter((l) => l.startsWith('{'));
    expect(json.length).toBeGreaterThan(2);
    const parsed = json.map((l) => JSON.parse(l));
    expect(new Set(parsed.map((l) => l.service))).toEqual(new Set(['api', 'scheduler']));
    expect(out).not.toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO/m);
  });
});
