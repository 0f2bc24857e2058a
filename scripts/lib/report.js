// @ts-check
/**
 * HTML reports with charts, for `npm run spike -- --report FILE` and `npm run bench -- --report FILE`.
 *
 * One self-contained file: uPlot (npm `uplot`, a small, well-kept chart library; its minified script and CSS are
 * inlined from node_modules, no CDN), the data as JSON in a `<script type="application/json" id="report-data">`
 * block (so a test or a person can read the figures back), a summary table, and a few lines that draw each chart.
 */
const { readFileSync, writeFileSync } = require('node:fs');

const UPLOT_JS = require.resolve('uplot/dist/uPlot.iife.min.js');
const UPLOT_CSS = require.resolve('uplot/dist/uPlot.min.css');

/**
 * @typedef {{label: string, values: (number|null)[], color?: string}} ReportSeries
 * @typedef {{title: string, kind: 'line'|'bars', x: number[], xLabels?: string[], xLabel: string, yLabel: string,
 *   series: ReportSeries[]}} ReportChart a line chart (x: numbers, e.g. seconds) or a bar chart (x: 0..n-1 with
 *   `xLabels`); each series has one value per x (null: no value there)
 * @typedef {{title: string, subtitle?: string, table?: (string|number)[][], charts: ReportChart[]}} ReportSpec
 *   `table`: rows of cells, the first row the header
 */

const COLORS = ['#1d4ed8', '#b91c1c', '#166534', '#92400e', '#6d28d9'];

/** @param {unknown} s */
function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * JSON that is safe inside a `<script>` element.
 * @param {unknown} value
 */
function scriptJson(value) {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** Runs in the report's page: draws every chart of the data block with uPlot. */
function drawCharts() {
  // The page's globals (this function is serialized into the report and runs there).
  /** @type {any} */
  const page = globalThis;
  const { uPlot, document } = page;
  /** @type {{charts: ReportChart[], colors: string[]}} */
  const spec = JSON.parse(document.getElementById('report-data').textContent);
  const root = document.getElementById('charts');
  spec.charts.forEach((c, i) => {
    const fig = document.createElement('figure');
    fig.className = 'chart';
    fig.setAttribute('data-chart', String(i));
    const cap = document.createElement('figcaption');
    cap.textContent = c.title;
    fig.appendChild(cap);
    root.appendChild(fig);
    const bars = c.kind === 'bars';
    const opts = {
      width: Math.min(900, root.clientWidth || 900),
      height: bars ? 220 : 280,
      // y from 0, so that bar lengths and line heights compare honestly.
      scales: {
        x: { time: false, ...(bars ? { range: [-0.5, c.x.length - 0.5] } : {}) },
        y: {
          range: (/** @type {unknown} */ u, /** @type {number} */ min, /** @type {number} */ max) => [
            0,
            max > 0 ? max * 1.1 : 1,
          ],
        },
      },
      axes: [
        {
          label: c.xLabel,
          ...(bars
            ? {
                values: (/** @type {unknown} */ u, /** @type {number[]} */ splits) =>
                  splits.map((s) => (Number.isInteger(s) ? (c.xLabels ?? [])[s] || '' : '')),
              }
            : {}),
        },
        { label: c.yLabel, size: 70 },
      ],
      series: [
        { label: c.xLabel || 'x' },
        ...c.series.map((s, j) => ({
          label: s.label,
          stroke: s.color || spec.colors[j % spec.colors.length],
          width: 2,
          ...(bars
            ? {
                fill: s.color || spec.colors[j % spec.colors.length],
                paths: uPlot.paths.bars({ size: [0.35], align: c.series.length === 1 ? 0 : j === 0 ? -1 : 1 }),
                points: { show: false },
              }
            : {}),
        })),
      ],
    };
    new uPlot(opts, [c.x, ...c.series.map((s) => s.values)], fig);
  });
}

/**
 * The report's HTML.
 * @param {ReportSpec} spec
 * @returns {string} a self-contained HTML document
 */
function renderReport(spec) {
  const table = spec.table
    ? `<table><thead><tr>${spec.table[0].map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${spec.table
        .slice(1)
        .map((r) => `<tr>${r.map((cell) => `<td>${escapeHtml(cell)}</td>`).join('')}</tr>`)
        .join('')}</tbody></table>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(spec.title)}</title>
<style>${readFileSync(UPLOT_CSS, 'utf8')}</style>
<style>
body { font: 15px/1.5 system-ui, sans-serif; margin: 24px; color: #16181d; max-width: 960px; }
h1 { font-size: 1.5rem; margin: 0 0 4px; } .subtitle { color: #4a5160; margin: 0 0 16px; }
table { border-collapse: collapse; margin: 0 0 24px; } th, td { text-align: left; padding: 4px 12px 4px 0; border-bottom: 1px solid #dde3ee; }
td.no { color: #b91c1c; font-weight: 600; } figure.chart { margin: 0 0 28px; } figcaption { font-weight: 600; margin-bottom: 4px; }
</style>
</head>
<body>
<h1>${escapeHtml(spec.title)}</h1>
${spec.subtitle ? `<p class="subtitle">${escapeHtml(spec.subtitle)}</p>` : ''}
${table}
<div id="charts"></div>
<script type="application/json" id="report-data">${scriptJson({ ...spec, colors: COLORS })}</script>
<script>${readFileSync(UPLOT_JS, 'utf8')}</script>
<script>(${drawCharts.toString()})();</script>
</body>
</html>
`;
}

/**
 * Writes {@link renderReport}'s HTML to `file`.
 * @param {string} file path of the report
 * @param {ReportSpec} spec
 * @throws when the file cannot be written
 */
function writeReport(file, spec) {
  writeFileSync(file, renderReport(spec));
}

/**
 * Per-second figures of a run's requests: requests/s and the p50/p99 latency (ms) of the requests that started in
 * each second.
 * @param {{startMs: number, durationMs: number|null}[]} samples request start (ms since the run began) and
 *   duration (null: no response)
 * @param {(values: number[], p: number) => number|null} percentile
 * @returns {{seconds: number[], requestsPerSecond: number[], p50Ms: (number|null)[], p99Ms: (number|null)[]}}
 */
function perSecond(samples, percentile) {
  /** @type {(number|null)[][]} */
  const buckets = [];
  for (const s of samples) {
    const b = Math.floor(s.startMs / 1000);
    (buckets[b] ||= []).push(s.durationMs);
  }
  /** @type {{seconds: number[], requestsPerSecond: number[], p50Ms: (number|null)[], p99Ms: (number|null)[]}} */
  const out = { seconds: [], requestsPerSecond: [], p50Ms: [], p99Ms: [] };
  for (let b = 0; b < buckets.length; b++) {
    const ds = /** @type {number[]} */ ((buckets[b] || []).filter((d) => d !== null));
    out.seconds.push(b);
    out.requestsPerSecond.push((buckets[b] || []).length);
    const r = (/** @type {number|null} */ v) => (v === null ? null : Math.round(v * 10) / 10);
    out.p50Ms.push(r(percentile(ds, 50)));
    out.p99Ms.push(r(percentile(ds, 99)));
  }
  return out;
}

module.exports = { renderReport, writeReport, perSecond };
