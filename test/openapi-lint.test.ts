import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openApiDocument, openApiJson } from '@waiting-queue/http/openapi';
import { adminRoutes, apiRoutes, builtinRoutes } from '@waiting-queue/http/route-tables';

const run = promisify(execFile);
const REDOCLY = join(__dirname, '..', 'node_modules', '.bin', 'redocly');

describe('the OpenAPI document built from the route tables', () => {
  test('redocly lint with the recommended rules finds no error (what `npm run lint:openapi` runs)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wq-openapi-'));
    try {
      const file = join(dir, 'openapi.json');
      writeFileSync(file, openApiJson());
      // redocly exits non-zero on errors; its JSON report is read either way.
      const out = await run(REDOCLY, ['lint', file, '--extends', 'recommended', '--format', 'json'], {
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
        maxBuffer: 16 * 1024 * 1024,
      }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
      const report = JSON.parse(out.stdout.slice(out.stdout.indexOf('{'))) as {
        problems: { ruleId: string; severity: string; location: { pointer: string }[] }[];
      };
      const errors = report.problems
        .filter((p) => p.severity === 'error')
        .map((p) => `${p.ruleId} ${p.location[0]?.pointer}`);
      expect(errors).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  test('every route of the tables is one operation of the document, with its operationId, and nothing else is', () => {
    const paths = openApiDocument.paths as Record<
      string,
      Record<string, { operationId?: string; security?: unknown[] }>
    >;
    const fromTables = [
      ...Object.values(apiRoutes),
      ...Object.values(adminRoutes),
      ...Object.values(builtinRoutes),
    ].map((r) => `${r.method} ${r.path} ${r.operationId}`);
    const documented: string[] = [];
    for (const [path, item] of Object.entries(paths)) {
      for (const [method, op] of Object.entries(item))
        if (method !== 'servers') documented.push(`${method} ${path} ${op.operationId}`);
    }
    expect(documented.sort()).toEqual(fromTables.sort());
    // Public operations say so (`security: []`) rather than inheriting nothing.
    for (const item of Object.values(paths))
      for (const [method, op] of Object.entries(item))
        if (method !== 'servers') expect(Array.isArray(op.security)).toBe(true);
  });
});
