import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCRIPT = join(__dirname, '..', 'scripts', 'simulate.js');

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
    const s = await simulate('--customers', '60', '--seed', '5', '--vip-ratio', '0.3', '--abandon-ratio', '0.2', '--max-waiting', '30');
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
