import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser } from 'playwright-core';
import { launchChromium } from './helpers/browser';
import { call, type ServiceProcess } from './helpers/processes';
import { useStack } from './helpers/stack';

/**
 * `npm run spike -- --report FILE` and `npm run bench -- --report FILE`: the HTML report is written, holds the
 * run's figures (its data block agrees with the --json output / bench/results.json), and its uPlot charts draw in
 * a real browser (Debian's chromium) without errors. The spike runs for real against an api and a scheduler on a
 * redis-server of this file; the bench's smoke run measures the polling model only (a few seconds, no servers).
 */

jest.setTimeout(180_000);

const ROOT = join(__dirname, '..');

interface ReportData {
  title: string;
  table: (string | number)[][];
  charts: {
    title: string;
    kind: string;
    x: number[];
    xLabels?: string[];
    series: { label: string; values: (number | null)[] }[];
  }[];
}

/** The report's data block. */
function reportData(html: string): ReportData {
  const m = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html);
  if (!m) throw new Error('no report-data block');
  return JSON.parse(m[1]);
}

describe('HTML reports with charts', () => {
  const env = useStack({
    name: 'reports-test',
    services: [
      { name: 'api' },
      { name: 'scheduler', env: { SCHEDULER_CRON: '* * * * * *', TOKEN_COUNT_TO_MOVE: '2' } },
    ],
  });
  let api: ServiceProcess;
  let scheduler: ServiceProcess;
  let browser: Browser | undefined;
  let dir = '';

  /** Opens the report in chromium: how many charts (canvases) drew, and any page error. */
  async function render(file: string): Promise<{ canvases: number; errors: string[] }> {
    const page = await browser!.newPage({ viewport: { width: 1000, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`file://${file}`);
    await page.waitForSelector('figure.chart canvas');
    await page.screenshot({
      path: join(ROOT, 'test-artifacts', `report-${file.endsWith('spike.html') ? 'spike' : 'bench'}.png`),
      fullPage: true,
    });
    const canvases = await page.locator('figure.chart canvas').count();
    await page.close();
    return { canvases, errors };
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wq-report-'));
    [api, scheduler] = env.services;
    for (const id of ['1', '2']) {
      const r = await call(`${scheduler.url}/internal/admin/v1/waiting-item/${id}/manually`, {
        method: 'POST',
        body: { itemName: `Item ${id}`, remainCount: 1000, waitingQueueEnabled: true },
      });
      expect(r.status).toBe(200);
    }
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('spike --report: requests/s and p50/p99 per second, and admitted users per tick, from the run itself', async () => {
    const file = join(dir, 'spike.html');
    const r = spawnSync(
      process.execPath,
      [
        'scripts/spike.js',
        '--base-url',
        api.url,
        '--vus',
        '6',
        '--ramp-up-seconds',
        '1',
        '--hold-seconds',
        '3',
        '--ramp-down-seconds',
        '1',
        '--items',
        '2',
        '--sleep-seconds',
        '0.5',
        '--drain-seconds',
        '30',
        '--no-latency-threshold',
        '--quiet',
        '--json',
        '--report',
        file,
      ],
      { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
    );
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    expect(r.stdout).toContain(`wrote the report ${file}`);
    const result = JSON.parse(
      r.stdout
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .pop()!,
    );
    expect(result.admitted).toBeGreaterThan(0);

    const data = reportData(readFileSync(file, 'utf8'));
    expect(data.charts.map((c) => c.title)).toEqual([
      'Requests per second',
      'Latency per second (ms)',
      'Admitted users per tick',
    ]);
    const [rps, latency, ticks] = data.charts;
    // Every request of the run is in exactly one second of the requests/s chart.
    const sum = (xs: (number | null)[]) => xs.reduce<number>((a, b) => a + (b ?? 0), 0);
    expect(sum(rps.series[0].values)).toBe(result.requests);
    expect(rps.x.length).toBeGreaterThanOrEqual(4);
    expect(latency.series.map((s) => s.label)).toEqual(['p50 ms', 'p99 ms']);
    latency.x.forEach((_, i) => {
      const [p50, p99] = [latency.series[0].values[i], latency.series[1].values[i]];
      if (p50 !== null) expect(p99!).toBeGreaterThanOrEqual(p50);
    });
    // Every admitted user is in exactly one tick; with N = 2 per item and 2 items a tick admits at most 4.
    expect(sum(ticks.series[0].values)).toBe(result.admitted);
    expect(Math.max(...(ticks.series[0].values as number[]))).toBeLessThanOrEqual(4);
    expect(ticks.xLabels).toHaveLength(ticks.x.length);
    expect(data.table.find((row) => row[0] === 'users admitted')?.[1]).toBe(result.admitted);

    const drawn = await render(file);
    expect(drawn).toEqual({ canvases: 3, errors: [] });
  });

  test('bench --report: each measured figure beside its target, as in bench/results.json', async () => {
    const file = join(dir, 'bench.html');
    const r = spawnSync(process.execPath, ['bench/run.js', '--smoke', '--only', 'polling', '--report', file], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect({ status: r.status, stderr: r.stderr.split('\n').filter((l) => l && !l.startsWith('[bench]')) }).toEqual({
      status: 0,
      stderr: [],
    });
    expect(r.stdout).toContain(`wrote the report ${file}`);
    const results = JSON.parse(readFileSync(join(ROOT, 'bench', 'results.json'), 'utf8'));
    const measured = results.targets.filter((t: { value: number | null }) => t.value !== null);
    expect(measured.length).toBeGreaterThanOrEqual(2);

    const data = reportData(readFileSync(file, 'utf8'));
    expect(data.charts).toHaveLength(measured.length);
    for (const [i, t] of measured.entries()) {
      const c = data.charts[i];
      expect(c.title.startsWith(`${t.figure}: `)).toBe(true);
      expect(c.series.map((s) => s.label)).toEqual(['measured', `target ${t.target}`]);
      expect(c.series[0].values).toEqual([t.value]);
      expect(c.series[1].values).toEqual([Number(/[\d.]+/.exec(t.target)![0])]);
    }
    expect(data.table[0]).toEqual(['figure', 'measured', 'target', 'met']);

    const drawn = await render(file);
    expect(drawn).toEqual({ canvases: measured.length, errors: [] });
  });
});
