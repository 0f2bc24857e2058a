import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { readOutbox } from '@waiting-queue/core/events';
import { keys } from '@waiting-queue/core/keys';
import { launchChromium } from './helpers/browser';
import { call, type ServiceProcess } from './helpers/processes';
import { testRedis } from './helpers/redis';
import { startServices } from './helpers/services';

/**
 * The operators' console in a real browser: Debian's chromium driven by playwright-core (no browser
 * download), against real api and scheduler processes on a redis-server of this file, admitting every second.
 * Creates items of every kind through the form, checks field errors, confirmations, the audit trail, the charts
 * drawn from the server's history after a reload, and the layout at 1024 and 768 px. Saves docs/console.png.
 */
// Browser globals of the page.evaluate callbacks (they run in chromium; the tests compile without the DOM lib).
declare const document: {
  documentElement: { scrollWidth: number; clientWidth: number };
  getElementById(id: string): { textContent: string | null; getAttribute(n: string): string | null } | null;
  querySelectorAll(s: string): ArrayLike<{ getBoundingClientRect(): { left: number; right: number } }>;
};
declare const window: { innerWidth: number };

const ADMIN_TOKEN = 'console-test-admin-token';
const ACTOR = `bearer:${createHash('sha256').update(ADMIN_TOKEN).digest('hex').slice(0, 12)}`;
const DOCS = join(__dirname, '..', 'docs');
const LONG = 60_000;

jest.setTimeout(240_000);

describe('admin console: every item policy, confirmations, audit trail, charts from server history, layout', () => {
  let env: Awaited<ReturnType<typeof testRedis>> | undefined;
  let api: ServiceProcess;
  let scheduler: ServiceProcess;
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];

  const admin = (path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
    call(`${scheduler.url}/internal/admin/v1${path}`, {
      ...init,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...init.headers },
    });
  const getItem = async (itemId: string) => (await admin(`/waiting-item/${itemId}`)).body.data;
  const audit = async (limit = 100) => (await admin(`/audit?limit=${limit}`)).body.data.entries as any[];

  async function eventually(what: string, check: () => Promise<boolean> | boolean, timeoutMs = LONG): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** A signed-in console in a fresh context: `width` px wide, the browser in Seoul time (UTC+9). */
  async function openConsole(width = 1280): Promise<Page> {
    const context = await browser!.newContext({
      viewport: { width, height: 900 },
      locale: 'en-US',
      timezoneId: 'Asia/Seoul',
    });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${scheduler.url}/admin`);
    await page.waitForFunction(
      () => document.getElementById('auth-state')?.textContent?.includes('Enter the admin token'),
      undefined,
      { timeout: LONG },
    );
    await page.fill('#admin-token', ADMIN_TOKEN);
    await page.click('#token-form button[type="submit"]');
    await page.waitForFunction(() => document.getElementById('auth-state')?.textContent === 'Signed in', undefined, {
      timeout: LONG,
    });
    return page;
  }

  /** Fills the create form from `fields` (input id -> value; selects by value) after a reset, and saves. */
  async function createThroughForm(page: Page, fields: Record<string, string>): Promise<void> {
    await page.click('#item-form button[type="reset"]');
    for (const [id, value] of Object.entries(fields)) {
      if ((await page.locator(`#${id}`).evaluate((e) => e.tagName)) === 'SELECT')
        await page.selectOption(`#${id}`, value);
      else await page.fill(`#${id}`, value);
    }
    await page.click('#item-form button[type="submit"]');
  }

  const auditShown = (page: Page, action: string, itemId: string) =>
    eventually(
      `audit panel shows ${action} ${itemId}`,
      async () => (await page.locator(`#audit-list li[data-action="${action}"][data-item-id="${itemId}"]`).count()) > 0,
    );

  beforeAll(async () => {
    mkdirSync(DOCS, { recursive: true });
    env = await testRedis();
    [api, scheduler] = await startServices([
      { name: 'api', env: { REDIS_URL: env.url } },
      {
        name: 'scheduler',
        env: {
          REDIS_URL: env.url,
          SCHEDULER_CRON: '* * * * * *',
          TOKEN_COUNT_TO_MOVE: '2',
          ADMIN_TOKEN,
          DEV_MODE: '0',
        },
      },
    ]);
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await Promise.all([api?.stop(), scheduler?.stop()]);
    await env?.stop();
  });

  test('the form creates a TIME_DEAL, a DIRECT and a laned item with every policy; API field errors appear next to their field; each change is audited', async () => {
    const con = await openConsole();

    // TIME_DEAL: the local date-time (Seoul) goes out as ISO 8601 and is stored as that instant.
    await createThroughForm(con, {
      'f-id': 'deal1',
      'f-name': 'Deal 1',
      'f-stock': '10',
      'f-type': 'TIME_DEAL',
      'f-start': '2030-01-02T03:04:05',
    });
    await eventually('deal1 created', async () => (await admin('/waiting-item/deal1')).status === 200);
    expect(await getItem('deal1')).toMatchObject({
      type: 'TIME_DEAL',
      startAt: Date.parse('2030-01-02T03:04:05+09:00'),
      remainCount: 10,
    });

    await createThroughForm(con, {
      'f-id': 'direct1',
      'f-name': 'Coupons',
      'f-stock': '20',
      'f-mode': 'DIRECT',
      'f-maxper': '2',
    });
    await eventually('direct1 created', async () => (await admin('/waiting-item/direct1')).status === 200);
    expect(await getItem('direct1')).toMatchObject({ queueMode: 'DIRECT', maxPerUser: 2, remainCount: 20 });

    await createThroughForm(con, {
      'f-id': 'lanes1',
      'f-name': 'Laned drop',
      'f-stock': '500',
      'f-lanes': 'vip, regular',
      'f-maxwaiting': '1000',
      'f-max': '50',
      'f-n': '3',
      'f-url': 'https://shop.example/order/lanes1',
    });
    await eventually('lanes1 created', async () => (await admin('/waiting-item/lanes1')).status === 200);
    expect(await getItem('lanes1')).toMatchObject({
      lanes: ['vip', 'regular'],
      maxWaiting: 1000,
      maxActiveUsers: 50,
      tokenCountToMove: 3,
      targetUrl: 'https://shop.example/order/lanes1',
    });

    // Field errors: values the browser lets through but the API refuses appear next to their own fields.
    await createThroughForm(con, {
      'f-id': 'bad1',
      'f-name': 'Bad',
      'f-stock': '1',
      'f-lanes': 'vip, vip',
      'f-url': 'ftp://shop.example/x',
    });
    await eventually('field errors shown', async () =>
      ((await con.textContent('#fe-lanes')) ?? '').includes('distinct'),
    );
    expect(await con.textContent('#fe-targetUrl')).toContain('http(s)');
    expect(await con.getAttribute('#f-lanes', 'aria-invalid')).toBe('true');
    expect(await con.textContent('#fe-itemName')).toBe('');
    expect((await admin('/waiting-item/bad1')).status).toBe(404);
    const raw = await admin('/waiting-item/bad1/manually', {
      method: 'POST',
      body: { itemName: 'Bad', remainCount: 1, waitingQueueEnabled: true, lanes: ['vip', 'vip'] },
    });
    expect(raw.status).toBe(400);
    expect(raw.body.data.fields.lanes).toContain('distinct');

    // An audit entry for each change, in the panel and at GET /audit, with Redis time, credential, before and after.
    for (const id of ['deal1', 'direct1', 'lanes1']) await auditShown(con, 'item-upsert', id);
    const entries = await audit();
    const created = entries.find((e) => e.itemId === 'lanes1' && e.action === 'item-upsert');
    expect(created).toMatchObject({
      actor: ACTOR,
      before: null,
      after: { lanes: ['vip', 'regular'], maxWaiting: 1000 },
    });
    expect(Math.abs(created.at - (await env!.client.time().then(([s]) => Number(s) * 1000)))).toBeLessThan(120_000);
    expect(entries.some((e) => e.itemId === 'bad1')).toBe(false);
    expect(await env!.client.exists(keys.adminAudit)).toBe(1);
  });

  test('pause, disable and a stock set ask for confirmation (Cancel changes nothing); N, restock, enable and edits are audited with before and after', async () => {
    const con = await openConsole();
    await con.waitForSelector('tr[data-item-id="direct1"]', { timeout: LONG });
    const row = (id: string, cell: string) => con.locator(`tr[data-item-id="${id}"] ${cell}`);

    // Set N (no confirmation), then Pause: Cancel keeps admission running, Confirm pauses.
    await con.fill('#global-n-input', '4');
    await con.click('#global-form button[type="submit"]');
    await auditShown(con, 'token-count-to-move', '');
    await eventually('console shows N 4', async () => (await con.textContent('#global-n')) === '4');
    await con.click('#pause');
    await con.waitForSelector('#confirm[open]');
    await con.click('#confirm-cancel');
    expect((await admin('/waiting-queue/token-count-to-move')).body.data.tokenCountToMove).toBe(4);
    await con.click('#pause');
    await con.waitForSelector('#confirm[open]');
    expect(await con.textContent('#confirm-text')).toContain('Pause admission');
    await con.click('#confirm-ok');
    await eventually(
      'paused',
      async () => (await admin('/waiting-queue/token-count-to-move')).body.data.tokenCountToMove === 0,
    );
    await auditShown(con, 'pause', '');
    await eventually('console paused', async () => (await con.textContent('#run-state')) === 'Paused');
    await con.click('#pause'); // resume: no confirmation
    await eventually(
      'resumed',
      async () => (await admin('/waiting-queue/token-count-to-move')).body.data.tokenCountToMove === 4,
    );
    await auditShown(con, 'resume', '');

    // Disable asks; enable does not.
    await row('direct1', 'button.toggle').click();
    await con.waitForSelector('#confirm[open]');
    await con.click('#confirm-cancel');
    expect((await getItem('direct1')).waitingQueueEnabled).toBe(true);
    await row('direct1', 'button.toggle').click();
    await con.click('#confirm-ok');
    await eventually('direct1 disabled', async () => (await getItem('direct1')).waitingQueueEnabled === false);
    await auditShown(con, 'item-disable', 'direct1');
    await eventually(
      'toggle says Enable',
      async () => (await row('direct1', 'button.toggle').textContent()) === 'Enable',
    );
    await row('direct1', 'button.toggle').click();
    await eventually('direct1 enabled', async () => (await getItem('direct1')).waitingQueueEnabled === true);
    await auditShown(con, 'item-enable', 'direct1');

    // Restock (an add: no confirmation).
    await row('direct1', '.restock-input').fill('5');
    await row('direct1', 'form[data-action="restock"] button').click();
    await eventually('restocked', async () => (await getItem('direct1')).remainCount === 25);
    await auditShown(con, 'restock', 'direct1');

    // A stock set through Edit asks first; Cancel sends nothing.
    await row('direct1', 'button.edit').click();
    await eventually(
      'form filled',
      async () => (await con.inputValue('#f-stock')) === '25' && (await con.inputValue('#f-mode')) === 'DIRECT',
    );
    expect(await con.inputValue('#f-maxper')).toBe('2');
    await con.fill('#f-stock', '40');
    await con.click('#item-form button[type="submit"]');
    await con.waitForSelector('#confirm[open]');
    expect(await con.textContent('#confirm-text')).toContain('from 25 to 40');
    await con.click('#confirm-cancel');
    expect((await getItem('direct1')).remainCount).toBe(25);
    await con.click('#item-form button[type="submit"]');
    await con.click('#confirm-ok');
    await eventually('stock set', async () => (await getItem('direct1')).remainCount === 40);

    const entries = await audit();
    const byAction = (a: string, id: string | null) => entries.find((e) => e.action === a && e.itemId === id);
    expect(byAction('pause', null)).toMatchObject({
      actor: ACTOR,
      before: { tokenCountToMove: 4 },
      after: { tokenCountToMove: 0 },
    });
    expect(byAction('resume', null)).toMatchObject({ before: { tokenCountToMove: 0 }, after: { tokenCountToMove: 4 } });
    expect(byAction('item-disable', 'direct1')).toMatchObject({
      before: { waitingQueueEnabled: true },
      after: { waitingQueueEnabled: false },
    });
    expect(byAction('restock', 'direct1')).toMatchObject({
      before: { remainCount: 20 },
      after: { remainCount: 25, quantity: 5 },
    });
    expect(byAction('item-upsert', 'direct1')).toMatchObject({
      before: { remainCount: 25 },
      after: { remainCount: 40 },
    });
    // Changes to an item also go to its outbox as admin.changed (so they reach Kafka and the ledger); the N does not.
    const events = (await readOutbox(env!.client, 'direct1')).filter((e) => e.type === 'admin.changed');
    expect(events.map((e) => e.payload.action)).toEqual([
      'item-upsert',
      'item-disable',
      'item-enable',
      'restock',
      'item-upsert',
    ]);
    expect(events[1].payload).toMatchObject({
      actor: ACTOR,
      before: '{"waitingQueueEnabled":true}',
      after: '{"waitingQueueEnabled":false}',
    });
    // Newest first, in Redis time order.
    expect(entries.map((e) => e.at)).toEqual([...entries.map((e) => e.at)].sort((a, b) => b - a));
    expect((await admin('/audit?limit=0')).status).toBe(400);
    expect((await admin('/audit?limit=2')).body.data.entries).toHaveLength(2);
  });

  test('a retry under its Idempotency-Key records no second audit entry (restock, N, upsert)', async () => {
    expect(
      (
        await admin('/waiting-item/retry_stock/manually', {
          method: 'POST',
          body: { itemName: 'Retry stock', remainCount: 1, waitingQueueEnabled: true },
        })
      ).status,
    ).toBe(200);
    const count = async () => (await audit(500)).length;
    const before = await count();
    const restock = () =>
      admin('/waiting-item/retry_stock/restock', {
        method: 'POST',
        body: { quantity: 7 },
        headers: { 'idempotency-key': 'console-retry-1' },
      });
    expect((await restock()).status).toBe(200);
    expect((await restock()).status).toBe(200);
    const setN = () =>
      admin('/waiting-queue/token-count-to-move', {
        method: 'PUT',
        body: { tokenCountToMove: 6 },
        headers: { 'idempotency-key': 'console-retry-2' },
      });
    expect((await setN()).status).toBe(200);
    expect((await setN()).status).toBe(200);
    const upsert = () =>
      admin('/waiting-item/retry1/manually', {
        method: 'POST',
        body: { itemName: 'Retry', remainCount: 3, waitingQueueEnabled: true },
        headers: { 'idempotency-key': 'console-retry-3' },
      });
    expect((await upsert()).status).toBe(200);
    expect((await upsert()).status).toBe(200);
    expect(await count()).toBe(before + 3);
    const entries = await audit(3);
    expect(entries.map((e) => e.action).sort()).toEqual(['item-upsert', 'restock', 'token-count-to-move']);
  });

  test('charts draw from the server history: after a reload and in a second operator context, with the same ticks', async () => {
    const r = await admin('/waiting-item/flow1/manually', {
      method: 'POST',
      body: { itemName: 'Flow', remainCount: 1000, waitingQueueEnabled: true, tokenCountToMove: 1 },
    });
    expect(r.status).toBe(200);
    for (let i = 0; i < 15; i++) {
      expect(
        (
          await call(`${api.url}/api/v1/item/flow1/waiting-queue`, {
            method: 'POST',
            headers: { 'user-id': `flow_user_${i}` },
          })
        ).status,
      ).toBe(200);
    }
    await eventually('5 ticks of flow1 in the history', async () => {
      const h = (await admin('/history?itemId=flow1')).body.data;
      return h.samples.filter((s: any) => s.moved > 0).length >= 5;
    });
    const history = (await admin('/history?itemId=flow1')).body.data;
    expect(history.tickMs).toBe(1000);
    expect(history.samples[history.samples.length - 1]).toMatchObject({ moved: 1 });
    expect(await env!.client.llen(keys.itemHistory('flow1'))).toBeGreaterThanOrEqual(5);
    expect((await admin('/history')).body.data.samples.length).toBeGreaterThanOrEqual(5);
    expect((await admin('/history?itemId=bad-id')).status).toBe(400);

    const con = await openConsole();
    await con.reload();
    await con.waitForFunction(() => document.getElementById('auth-state')?.textContent === 'Signed in', undefined, {
      timeout: LONG,
    });
    await con.selectOption('#chart-item', 'flow1');
    const points = async (p: Page) => Number(await p.getAttribute('#chart-queue', 'data-points'));
    await eventually('flow1 charts drawn from the history', async () => (await points(con)) >= history.samples.length);
    expect(await con.locator('#chart-queue canvas').count()).toBe(1);
    expect(await con.locator('#chart-rate canvas').count()).toBe(1);
    expect(await con.locator('#chart-tick canvas').count()).toBe(1);
    // A second operator sees the same past, without having watched it.
    const other = await openConsole();
    await other.selectOption('#chart-item', 'flow1');
    await eventually('second operator sees the past', async () => (await points(other)) >= history.samples.length);
    await con.selectOption('#chart-item', '');
    await eventually('totals drawn', async () => (await points(con)) >= 5);
    await con.screenshot({ path: join(DOCS, 'console.png'), fullPage: true });
  });

  test('no sideways scrolling at 1024 and 768 px; every action button stays within the window', async () => {
    const long = {
      itemName: 'A rather long item name for a drop with lanes',
      remainCount: 100000,
      waitingQueueEnabled: true,
      lanes: ['vip', 'regular'],
      tokenCountToMove: 5,
    };
    expect(
      (await admin('/waiting-item/layout_with_a_long_item_identifier/manually', { method: 'POST', body: long })).status,
    ).toBe(200);
    for (const width of [1024, 768]) {
      const con = await openConsole(width);
      await con.waitForSelector('tr[data-item-id="layout_with_a_long_item_identifier"]', { timeout: LONG });
      await con.waitForFunction(
        () => Number(document.getElementById('chart-queue')?.getAttribute('data-points')) > 0,
        undefined,
        { timeout: LONG },
      );
      const m = await con.evaluate(() => {
        const buttons = Array.from(document.querySelectorAll('#items button, #items input'));
        return {
          scrollWidth: document.documentElement.scrollWidth,
          clientWidth: document.documentElement.clientWidth,
          outside: buttons.filter(
            (b) => b.getBoundingClientRect().right > window.innerWidth || b.getBoundingClientRect().left < 0,
          ).length,
          buttons: buttons.length,
        };
      });
      expect(m.scrollWidth).toBeLessThanOrEqual(m.clientWidth);
      expect(m.buttons).toBeGreaterThan(0);
      expect(m.outside).toBe(0);
      const wrap = await con.evaluate(() => {
        const w = document.querySelectorAll('.table-wrap')[0] as unknown as {
          scrollWidth: number;
          clientWidth: number;
        };
        return { scrollWidth: w.scrollWidth, clientWidth: w.clientWidth };
      });
      expect(wrap.scrollWidth).toBeLessThanOrEqual(wrap.clientWidth);
    }
  });
});
