import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@waiting-queue/testkit/embedded-redis';
import { call, startService, type ServiceProcess } from './helpers/processes';
import { testRedis } from './helpers/redis';

/**
 * The Grafana dashboard's queries against a real Prometheus (Debian's `prometheus`, installed by .ci/run) scraping
 * a real, healthy api and scheduler: every panel's query is valid PromQL and returns a series, so that no panel
 * shows "No data" where the truth is 0 (no Redis error yet, no consume yet, no error response yet). promtool checks
 * the repository's Prometheus config. Skipped, and says so, where Prometheus is not installed.
 */

jest.setTimeout(120_000);

const ROOT = join(__dirname, '..');
const PROMETHEUS = '/usr/bin/prometheus';
const PROMTOOL = '/usr/bin/promtool';
const haveProm = existsSync(PROMETHEUS) && existsSync(PROMTOOL);
if (!haveProm)
  // eslint-disable-next-line no-console
  console.warn(
    `grafana-dashboard.test.ts: SKIPPED, ${PROMETHEUS} / ${PROMTOOL} not installed (apt-get install prometheus)`,
  );
const maybe = haveProm ? describe : describe.skip;

interface Panel {
  title: string;
  type: string;
  targets?: { expr: string; legendFormat?: string }[];
}

maybe('Grafana dashboard on a real Prometheus, on a healthy system', () => {
  let env: Awaited<ReturnType<typeof testRedis>> | undefined;
  let api: ServiceProcess | undefined;
  let scheduler: ServiceProcess | undefined;
  let prom: ChildProcess | undefined;
  let promUrl = '';
  let dir = '';

  const query = async (expr: string): Promise<{ status: string; error?: string; data?: { result: unknown[] } }> =>
    (await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`)).json() as Promise<{
      status: string;
      error?: string;
      data?: { result: unknown[] };
    }>;

  beforeAll(async () => {
    env = await testRedis();
    [api, scheduler] = await Promise.all([
      startService('api', { REDIS_URL: env.url }),
      startService('scheduler', { REDIS_URL: env.url, SCHEDULER_CRON: '* * * * * *', TOKEN_COUNT_TO_MOVE: '1' }),
    ]);
    // A healthy sale: one item, shoppers registering and being admitted; no Redis error, no consume, no 4xx/5xx.
    const up = await call(`${scheduler.url}/internal/admin/v1/waiting-item/g1/manually`, {
      method: 'POST',
      body: { itemName: 'Grafana item', remainCount: 100, waitingQueueEnabled: true },
    });
    expect(up.status).toBe(200);
    for (let i = 0; i < 5; i++) {
      const r = await call(`${api.url}/api/v1/item/g1/waiting-queue`, {
        method: 'POST',
        headers: { 'user-id': `g_user_${i}` },
      });
      expect(r.status).toBe(200);
    }

    dir = mkdtempSync(join(tmpdir(), 'wq-prom-'));
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    const job = (name: string, url: string) =>
      `  - job_name: ${name}\n    static_configs:\n      - targets: ["${new URL(url).host}"]\n        labels:\n          service: ${name}\n`;
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n${job('api', api.url)}${job('scheduler', scheduler.url)}`,
    );
    prom = spawn(
      PROMETHEUS,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    prom.stderr!.on('data', (d) => (stderr += d));
    // Ready once both targets have been scraped for a few seconds (rate() over [1m] needs two samples).
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (prom.exitCode !== null) throw new Error(`prometheus exited: ${stderr.slice(-2000)}`);
      try {
        const r = await query('count_over_time(up[1m]) >= 4 and up == 1');
        if (r.status === 'success' && r.data!.result.length === 2) break;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline) throw new Error(`prometheus never scraped both servers: ${stderr.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }, 120_000);

  afterAll(async () => {
    if (prom && prom.exitCode === null) {
      const exited = new Promise((r) => prom!.once('exit', r));
      prom.kill('SIGTERM');
      await exited;
    }
    await Promise.all([api?.stop(), scheduler?.stop()]);
    await env?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('promtool accepts the repository Prometheus config', () => {
    const r = spawnSync(
      PROMTOOL,
      ['check', 'config', '--syntax-only', join(ROOT, 'deploy/prometheus/prometheus.yml')],
      { encoding: 'utf8' },
    );
    expect({ status: r.status, out: r.stdout + r.stderr }).toMatchObject({ status: 0 });
  });

  test('every panel query is valid PromQL and returns a series (0, not "No data"): Redis errors, consumes before the first, error responses', async () => {
    const dashboard = JSON.parse(readFileSync(join(ROOT, 'deploy/grafana/dashboards/waiting-queue.json'), 'utf8')) as {
      panels: Panel[];
    };
    const empty: string[] = [];
    const invalid: string[] = [];
    for (const p of dashboard.panels) {
      for (const t of p.targets ?? []) {
        const r = await query(t.expr);
        if (r.status !== 'success') invalid.push(`${p.title}: ${t.expr}: ${r.error}`);
        else if (r.data!.result.length === 0) empty.push(`${p.title}: ${t.expr}`);
      }
    }
    expect(invalid).toEqual([]);
    expect(empty).toEqual([]);
    // The healthy system's truth in the panels that must not say "No data": 0 Redis errors/s, 0 consumes/s.
    const value = async (expr: string) =>
      ((await query(expr)).data!.result as { value: [number, string] }[]).map((s) => Number(s.value[1]));
    const exprOf = (title: string) => dashboard.panels.find((p) => p.title === title)!.targets!;
    expect(await value(exprOf('Redis errors per second')[0].expr)).toEqual([0]);
    const consumes = exprOf('Registrations and consumes per second').find((t) => t.expr.includes('wq_consumes_total'))!;
    expect(await value(consumes.expr)).toEqual([0]);
  });
});
