import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { keys } from '@waiting-queue/core/keys';
import { launchChromium } from './helpers/browser';
import { call, type ServiceProcess } from './helpers/processes';
import { testRedis } from './helpers/redis';
import { startServices } from './helpers/services';

/**
 * The waiting-room page (api) and the admin console (scheduler) in a real browser: Debian's chromium driven by
 * playwright-core (no browser download), against real api and scheduler processes on a redis-server of this file,
 * admitting every second. Screenshots go to test-artifacts/browser/ (gitignored).
 */
// Browser globals of the page.evaluate / waitForFunction callbacks (they run in chromium; the tests compile without the DOM lib).
declare const document: {
  activeElement: { id: string } | null;
  getElementById(id: string): { textContent: string | null } | null;
};
declare const localStorage: { getItem(key: string): string | null };
declare const sessionStorage: { getItem(key: string): string | null };
declare const window: { __xss?: number };

const ARTIFACTS = join(__dirname, '..', 'test-artifacts', 'browser');
const ADMIN_TOKEN = 'browser-test-admin-token';
const MOBILE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
const LONG = 60_000;

jest.setTimeout(180_000);

type Env = Awaited<ReturnType<typeof testRedis>>;

describe('waiting-room page and admin console in chromium', () => {
  let env: Env | undefined;
  let api: ServiceProcess;
  let scheduler: ServiceProcess;
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];

  const admin = (path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
    call(`${scheduler.url}/internal/admin/v1${path}`, {
      ...init,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...init.headers },
    });

  /** Creates the item, or updates it under If-Match with the ETag of a GET just before (a stock set needs one). */
  async function upsertItem(itemId: string, body: Record<string, unknown>): Promise<any> {
    const etag = (await admin(`/waiting-item/${itemId}`)).headers.get('etag');
    const r = await admin(`/waiting-item/${itemId}/manually`, {
      method: 'POST',
      body: { waitingQueueEnabled: true, ...body },
      headers: etag ? { 'if-match': etag } : {},
    });
    expect(r.status).toBe(200);
    return r.body.data;
  }

  async function register(itemId: string, userId: string): Promise<any> {
    const r = await call(`${api.url}/api/v1/item/${itemId}/waiting-queue`, {
      method: 'POST',
      headers: { 'user-id': userId },
    });
    expect(r.status).toBe(200);
    return r.body.data;
  }

  async function getItem(itemId: string): Promise<any> {
    const r = await admin(`/waiting-item/${itemId}`);
    expect(r.status).toBe(200);
    return r.body.data;
  }

  async function globalN(): Promise<number> {
    return (await admin('/waiting-queue/token-count-to-move')).body.data.tokenCountToMove;
  }

  /** Resolves when `check` returns true (polled every 200 ms); throws with `what` after `timeoutMs`. */
  async function eventually(what: string, check: () => Promise<boolean> | boolean, timeoutMs = LONG): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** A fresh browser context (its own localStorage and cookies) with one page, and the api calls that page makes. */
  async function openPage(opts: { locale?: string; cookieUser?: string; headerUser?: string; mobile?: boolean } = {}) {
    const context = await browser!.newContext({
      locale: opts.locale ?? 'en-US',
      ...(opts.mobile === false ? { viewport: { width: 1280, height: 900 } } : MOBILE),
      ...(opts.headerUser ? { extraHTTPHeaders: { 'user-id': opts.headerUser } } : {}),
    });
    contexts.push(context);
    if (opts.cookieUser) await context.addCookies([{ name: 'user-id', value: opts.cookieUser, url: api.url }]);
    const page = await context.newPage();
    const apiCalls: { method: string; path: string }[] = [];
    page.on('request', (req) => {
      const url = new URL(req.url());
      if (url.pathname.startsWith('/api/v1/')) apiCalls.push({ method: req.method(), path: url.pathname });
    });
    return { context, page, apiCalls };
  }

  const stateOf = (page: Page) => page.locator('main').getAttribute('data-state');
  const waitState = (page: Page, state: string, timeout = LONG) =>
    page.waitForSelector(`main[data-state="${state}"]`, { timeout });
  const text = async (page: Page, selector: string) => ((await page.locator(selector).textContent()) ?? '').trim();
  const shot = (page: Page, name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  const storedPlace = (page: Page, itemId: string, userId: string) =>
    page.evaluate((key) => JSON.parse(localStorage.getItem(key) || 'null'), `wq:${itemId}:${userId}`);

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    env = await testRedis();
    [api, scheduler] = await startServices([
      { name: 'api', env: { REDIS_URL: env.url } },
      {
        name: 'scheduler',
        env: {
          REDIS_URL: env.url,
          SCHEDULER_CRON: '* * * * * *',
          TOKEN_COUNT_TO_MOVE: '10',
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

  test('page: registration, rank and estimated wait, polling down to admission, then the order button to targetUrl with the token', async () => {
    const targetUrl = 'https://shop.example/order/a1?ref=wq';
    await upsertItem('a1', { itemName: 'Sneakers A1', remainCount: 50, tokenCountToMove: 1, targetUrl });
    for (let i = 0; i < 12; i++) await register('a1', `a_early_${i}`);

    const { page, apiCalls } = await openPage({ cookieUser: 'alice' });
    const polls: { rank: number; canOrder: boolean; pollAfterMs: number }[] = [];
    page.on('response', async (res) => {
      if (!/\/api\/v1\/item\/a1\/waiting-queue/.test(res.url())) return;
      const body = await res.json().catch(() => null);
      if (body?.data)
        polls.push({
          rank: body.data.waitingQueueRank,
          canOrder: body.data.canOrder,
          pollAfterMs: body.data.pollAfterMs,
        });
    });
    const shop: string[] = [];
    await page.route('https://shop.example/**', (route) => {
      shop.push(route.request().url());
      return route.fulfill({ status: 200, contentType: 'text/html', body: '<h1>Order page</h1>' });
    });

    const res = await page.goto(`${api.url}/waiting-room/a1`);
    expect(res!.status()).toBe(200);
    expect(res!.headers()['content-security-policy']).toContain("script-src 'self'");
    expect(await text(page, 'h1')).toBe('Sneakers A1');
    expect(await page.locator('html').getAttribute('lang')).toBe('en');

    // Registered with the cookie's user id (no form), ranked behind the early users, with an estimated wait.
    await waitState(page, 'waiting');
    expect(await page.locator('#user-form').isHidden()).toBe(true);
    expect(apiCalls[0]).toEqual({ method: 'POST', path: '/api/v1/item/a1/waiting-queue' });
    const place = await storedPlace(page, 'a1', 'alice');
    expect(place.token).toMatch(/^alice-a1-[0-9a-f-]{36}$/);
    expect(place.firstRank).toBeGreaterThan(0);
    expect(await text(page, '#rank')).toMatch(/^#\d+$/);
    expect(await text(page, '#wait')).toMatch(/^about \d+ (s|min)$/);
    expect(await text(page, '#detail-user')).toBe('alice');
    expect(await page.locator('#progress').getAttribute('role')).toBe('progressbar');
    await shot(page, 'a1-waiting');

    await waitState(page, 'admitted');
    // Polled the same token down to admission (ranks never go up), at the server's pollAfterMs.
    expect(polls.length).toBeGreaterThanOrEqual(2);
    expect(polls[polls.length - 1].canOrder).toBe(true);
    for (let i = 1; i < polls.length; i++) expect(polls[i].rank <= polls[i - 1].rank || polls[i].canOrder).toBe(true);
    expect(apiCalls.filter((c) => c.method === 'POST')).toHaveLength(1);
    expect(
      apiCalls.filter((c) => c.path === `/api/v1/item/a1/waiting-queue/${encodeURIComponent(place.token)}`).length,
    ).toBeGreaterThanOrEqual(1);

    const order = page.locator('#order');
    await order.waitFor({ state: 'visible' });
    expect(await order.textContent()).toBe('Continue to order');
    expect(await page.locator('#progress').getAttribute('aria-valuenow')).toBe('100');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('order');
    const href = new URL((await order.getAttribute('href'))!);
    expect(href.origin + href.pathname).toBe('https://shop.example/order/a1');
    expect(href.searchParams.get('ref')).toBe('wq');
    expect(href.searchParams.get('waitingQueueToken')).toBe(place.token);
    expect(href.searchParams.get('entryPass')).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    // The token in the link is admitted, as the order service will see it.
    const v = await call(`${api.url}/internal/v1/item/a1/waiting-queue/${place.token}`);
    expect(v.body.data).toMatchObject({ admitted: true, userId: 'alice', itemId: 'a1' });
    await shot(page, 'a2-admitted');

    // No polling after admission; the button takes the shopper to the order page with the token.
    const before = apiCalls.length;
    await page.waitForTimeout(2500);
    expect(apiCalls.length).toBe(before);
    await order.click();
    await page.waitForURL(/shop\.example/);
    expect(new URL(shop[0]).searchParams.get('waitingQueueToken')).toBe(place.token);
  });

  test('page: a reload keeps the place (same token, no new registration, rank not reset); a lost place registers again', async () => {
    await upsertItem('b1', { itemName: 'Jacket B1', remainCount: 50, tokenCountToMove: 0 });
    await register('b1', 'b_first');

    // No gateway user id: the demo asks for one.
    const { page, apiCalls } = await openPage({});
    await page.goto(`${api.url}/waiting-room/b1`);
    await waitState(page, 'choose-user');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('user-id');
    expect(await text(page, 'label[for="user-id"]')).toBe('Your user id');
    await shot(page, 'b1-choose-user');
    await page.fill('#user-id', 'not valid!');
    await page.click('#user-form button[type="submit"]');
    expect(await page.locator('#user-error').isVisible()).toBe(true);
    expect(await page.locator('#user-id').getAttribute('aria-invalid')).toBe('true');
    expect(apiCalls).toHaveLength(0);
    await page.fill('#user-id', 'bob');
    await page.click('#user-form button[type="submit"]');

    // Item b1 admits nobody (N = 0): bob waits at #2 with an unknown wait.
    await waitState(page, 'paused');
    expect(await text(page, '#rank')).toBe('#2');
    expect(await text(page, '#wait')).toBe('Unknown');
    const first = await storedPlace(page, 'b1', 'bob');
    expect(first.token).toMatch(/^bob-b1-/);
    expect(first.firstRank).toBe(2);
    expect(await text(page, '#detail-token')).toBe(first.token);
    await shot(page, 'b2-before-reload');

    for (let i = 0; i < 3; i++) await register('b1', `b_late_${i}`);
    apiCalls.length = 0;
    await page.reload();
    await waitState(page, 'paused');
    expect(await text(page, '#rank')).toBe('#2');
    expect(await text(page, '#detail-token')).toBe(first.token);
    expect(await storedPlace(page, 'b1', 'bob')).toEqual(first);
    expect(apiCalls[0]).toEqual({
      method: 'GET',
      path: `/api/v1/item/b1/waiting-queue/${encodeURIComponent(first.token)}`,
    });
    expect(apiCalls.filter((c) => c.method === 'POST')).toHaveLength(0);
    await shot(page, 'b3-after-reload');

    // The place is gone (as after an expired admission): the stored token polls 404, and the page registers again,
    // now behind the users who came later. (Removed behind the product's back, the place may still be answered
    // from the api's snapshot until the next tick: the page polls until the 404, then registers once.)
    await env!.client.zrem(keys.waiting('b1'), 'bob');
    apiCalls.length = 0;
    await page.reload();
    await eventually('a new token', async () => (await storedPlace(page, 'b1', 'bob'))?.token !== first.token);
    await waitState(page, 'paused');
    const methods = apiCalls.map((c) => c.method);
    expect(methods[0]).toBe('GET');
    expect(methods.filter((m) => m === 'POST')).toHaveLength(1);
    expect(methods.slice(0, methods.indexOf('POST')).every((m) => m === 'GET')).toBe(true);
    expect(await text(page, '#rank')).toBe('#5');
  });

  test('page: sold out (Korean) and not open stop polling; stock running out while waiting stops it too', async () => {
    await upsertItem('c1', { itemName: '한정판 C1', remainCount: 0 });
    const ko = await openPage({ locale: 'ko-KR', headerUser: 'carol' });
    await ko.page.goto(`${api.url}/waiting-room/c1`);
    await waitState(ko.page, 'sold-out');
    expect(await ko.page.locator('html').getAttribute('lang')).toBe('ko');
    expect(await text(ko.page, '#headline')).toBe('품절');
    expect(await text(ko.page, '#message')).toContain('품절');
    expect(await ko.page.locator('#queue').isHidden()).toBe(true);
    expect(await ko.page.locator('#order').isHidden()).toBe(true);
    expect(await ko.page.evaluate(() => document.activeElement?.id)).toBe('headline');
    expect(ko.apiCalls).toEqual([{ method: 'POST', path: '/api/v1/item/c1/waiting-queue' }]);
    await shot(ko.page, 'c1-sold-out-ko');

    await upsertItem('c2', { itemName: 'Closed C2', remainCount: 10, waitingQueueEnabled: false });
    const closed = await openPage({ headerUser: 'carol' });
    await closed.page.goto(`${api.url}/waiting-room/c2`);
    await waitState(closed.page, 'closed');
    expect(await text(closed.page, '#headline')).toBe('Not open yet');
    expect(await closed.page.locator('#retry').isVisible()).toBe(true);
    await shot(closed.page, 'c2-not-open');

    // A time deal before its start: says when it opens, waits without polling, and joins by itself then.
    const opensAtMs = Date.now() + 5000;
    await upsertItem('c4', {
      itemName: 'Time deal C4',
      remainCount: 10,
      tokenCountToMove: 0,
      type: 'TIME_DEAL',
      startAt: opensAtMs,
    });
    const deal = await openPage({ headerUser: 'carol' });
    await deal.page.goto(`${api.url}/waiting-room/c4`);
    await waitState(deal.page, 'closed');
    expect(await text(deal.page, '#headline')).toBe('Not open yet');
    expect(await text(deal.page, '#message')).toMatch(/^Opens at .+ Keep this page open/);
    await shot(deal.page, 'c4-time-deal-before-start');
    expect(deal.apiCalls).toEqual([{ method: 'POST', path: '/api/v1/item/c4/waiting-queue' }]);
    await waitState(deal.page, 'paused');
    expect(Date.now()).toBeGreaterThanOrEqual(opensAtMs);
    expect(deal.apiCalls.filter((c) => c.method === 'POST')).toHaveLength(2);
    expect(await text(deal.page, '#rank')).toBe('#1');

    // Sold out while waiting: the next poll says soldOut, and the page stops.
    await upsertItem('c3', { itemName: 'Last pairs C3', remainCount: 5, tokenCountToMove: 0 });
    const waiting = await openPage({ cookieUser: 'carla' });
    await waiting.page.goto(`${api.url}/waiting-room/c3`);
    await waitState(waiting.page, 'paused');
    await upsertItem('c3', { itemName: 'Last pairs C3', remainCount: 0 });
    await waitState(waiting.page, 'sold-out');
    expect(await text(waiting.page, '#headline')).toBe('Sold out');
    await shot(waiting.page, 'c3-sold-out-while-waiting');

    // No request after the terminal views, for longer than the paused poll interval (5 s) and any retry.
    const counts = [ko.apiCalls.length, closed.apiCalls.length, waiting.apiCalls.length];
    await ko.page.waitForTimeout(7000);
    expect([ko.apiCalls.length, closed.apiCalls.length, waiting.apiCalls.length]).toEqual(counts);
    expect(counts[0]).toBe(1);
    expect(counts[1]).toBe(1);
    expect([await stateOf(ko.page), await stateOf(closed.page), await stateOf(waiting.page)]).toEqual([
      'sold-out',
      'closed',
      'sold-out',
    ]);

    // An unknown item: a 404 page that says so, without calling the API.
    const none = await openPage({ headerUser: 'carol' });
    const res = await none.page.goto(`${api.url}/waiting-room/no_such_item`);
    expect(res!.status()).toBe(404);
    await waitState(none.page, 'no-item');
    expect(none.apiCalls).toHaveLength(0);
  });

  test('page: the item name is escaped; the public item endpoint; the assets load under the page CSP without errors', async () => {
    const name = '</script><img src=x onerror="window.__xss=1">&amp;';
    await upsertItem('e1', {
      itemName: name,
      remainCount: 3,
      tokenCountToMove: 0,
      targetUrl: 'https://shop.example/e1',
    });
    const raw = await fetch(`${api.url}/waiting-room/e1`).then((r) => r.text());
    expect(raw).not.toContain('<img');
    expect(raw).not.toContain('</script><');

    const { page } = await openPage({ cookieUser: 'erin' });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    await page.goto(`${api.url}/waiting-room/e1`);
    await waitState(page, 'paused');
    expect(await text(page, 'h1')).toBe(name);
    expect(await page.evaluate(() => window.__xss)).toBeUndefined();
    expect(problems).toEqual([]);

    const item = await call(`${api.url}/api/v1/item/e1`);
    expect(item.status).toBe(200);
    expect(item.body.data).toEqual({
      itemId: 'e1',
      itemName: name,
      targetUrl: 'https://shop.example/e1',
      waitingQueueEnabled: true,
      soldOut: false,
    });
    expect((await call(`${api.url}/api/v1/item/no_such_item`)).body.errorCode).toBe('WAITING_ITEM_NOT_FOUND');
    expect((await call(`${api.url}/api/v1/item/bad-id`)).status).toBe(400);
  });

  test('console: asks for the token, sets N, pauses (the page shows the pause), per-item N admits, resume restores N; toggle, restock, create and edit', async () => {
    await upsertItem('d1', { itemName: 'Console D1', remainCount: 100 });
    await upsertItem('d2', { itemName: 'Held D2', remainCount: 10, tokenCountToMove: 0 });
    for (let i = 0; i < 4; i++) await register('d2', `d2_user_${i}`);

    const { page: con } = await openPage({ mobile: false });
    await con.goto(`${scheduler.url}/admin`);
    // ADMIN_TOKEN is set: the console asks for it.
    await con.waitForFunction(
      () => document.getElementById('auth-state')?.textContent?.includes('Enter the admin token'),
      undefined,
      { timeout: LONG },
    );
    expect(await con.evaluate(() => document.activeElement?.id)).toBe('admin-token');
    await con.fill('#admin-token', ADMIN_TOKEN);
    await con.click('#token-form button[type="submit"]');
    await con.waitForSelector('tr[data-item-id="d1"]', { timeout: LONG });
    expect(await con.evaluate(() => sessionStorage.getItem('wq-admin-token'))).toBe(ADMIN_TOKEN);

    // Live counts: d2 holds 4 waiting users and admits none (N = 0), so it never drains.
    const row = (id: string, cell: string) => con.locator(`tr[data-item-id="${id}"] ${cell}`);
    await eventually('d2 waiting 4', async () => (await row('d2', 'td.waiting').textContent()) === '4');
    expect(await row('d2', 'td.drain').textContent()).toBe('never (not admitting)');
    expect(await row('d2', '.n-value').textContent()).toBe('0 (item)');
    expect(await row('d1', '.n-value').textContent()).toBe('global (10)');
    expect(await row('d1', 'td.stock').textContent()).toBe('100');
    expect(await row('d1', 'td.enabled').textContent()).toBe('Yes');

    // Set the global N.
    await con.fill('#global-n-input', '7');
    await con.click('#global-form button[type="submit"]');
    await eventually('global N 7', async () => (await globalN()) === 7);
    await eventually('console shows 7', async () => (await text(con, '#global-n')) === '7');
    await eventually('d1 capacity 7/s', async () =>
      ((await row('d1', 'td.rate').textContent()) ?? '').includes('of 7/s'),
    );

    // Pause (confirmed in the dialog): N = 0 everywhere; the page of a shopper who joins now shows the pause and an unknown wait.
    await con.click('#pause');
    await con.click('#confirm-ok');
    await eventually('global N 0', async () => (await globalN()) === 0);
    await eventually('console paused', async () => (await text(con, '#run-state')) === 'Paused');
    expect(await text(con, '#pause')).toBe('Resume admission (N = 7)');
    await eventually('d1 capacity 0', async () =>
      ((await row('d1', 'td.rate').textContent()) ?? '').includes('of 0/s'),
    );
    await shot(con, 'd1-console-paused');

    const shopper = await openPage({ cookieUser: 'dave' });
    await shopper.page.goto(`${api.url}/waiting-room/d1`);
    await waitState(shopper.page, 'paused');
    expect(await text(shopper.page, '#headline')).toBe('Admission is paused');
    expect(await text(shopper.page, '#wait')).toBe('Unknown');
    expect(await text(shopper.page, '#rank')).toBe('#1');
    await shot(shopper.page, 'd2-page-paused');
    await eventually('d1 waiting 1', async () => (await row('d1', 'td.waiting').textContent()) === '1');

    // Per-item N on d1 while paused globally: d1 admits again and the page reaches the order step.
    await row('d1', '.n-input').fill('3');
    await row('d1', 'form[data-action="set-n"] button').click();
    await eventually('d1 N 3', async () => (await getItem('d1')).tokenCountToMove === 3);
    await waitState(shopper.page, 'admitted');
    expect(await text(shopper.page, '#headline')).toBe('It is your turn!');
    // No targetUrl on d1: the page says so and shows the token instead of a dead link.
    expect(await shopper.page.locator('#order').isHidden()).toBe(true);
    expect(await text(shopper.page, '#message')).toContain((await storedPlace(shopper.page, 'd1', 'dave')).token);
    await shot(shopper.page, 'd3-page-admitted');
    await eventually('d1 admitted 1, capacity 3/s', async () => {
      const rate = (await row('d1', 'td.rate').textContent()) ?? '';
      return (await row('d1', 'td.admitted').textContent()) === '1' && rate.includes('of 3/s');
    });
    await shot(con, 'd4-console-item-n');

    // Resume: the global N goes back to what it was before the pause; d1 back to the global N.
    await con.click('#pause');
    await eventually('global N back to 7', async () => (await globalN()) === 7);
    await row('d1', '.n-input').fill('');
    await row('d1', 'form[data-action="set-n"] button').click();
    await eventually('d1 uses the global N', async () => (await getItem('d1')).tokenCountToMove === null);

    // Disable (confirmed) and enable an item.
    await row('d1', 'button.toggle').click();
    await con.click('#confirm-ok');
    await eventually('d1 disabled', async () => (await getItem('d1')).waitingQueueEnabled === false);
    await eventually('console shows disabled', async () => (await row('d1', 'td.enabled').textContent()) === 'No');
    expect(await row('d1', 'button.toggle').textContent()).toBe('Enable');
    await row('d1', 'button.toggle').click();
    await eventually('d1 enabled', async () => (await getItem('d1')).waitingQueueEnabled === true);

    // Restock: adds units.
    const stock = (await getItem('d1')).remainCount;
    await row('d1', '.restock-input').fill('42');
    await row('d1', 'form[data-action="restock"] button').click();
    await eventually('d1 restocked', async () => (await getItem('d1')).remainCount === stock + 42);
    await eventually(
      'console shows the stock',
      async () => (await row('d1', 'td.stock').textContent()) === String(stock + 42),
    );
    const d1 = await getItem('d1');
    expect(d1).toMatchObject({ itemName: 'Console D1', waitingQueueEnabled: true, tokenCountToMove: null });

    // Create an item, then edit it.
    await con.fill('#f-id', 'd_new');
    await con.fill('#f-name', 'New drop');
    await con.fill('#f-stock', '5');
    await con.fill('#f-n', '2');
    await con.fill('#f-url', 'https://shop.example/order/d_new');
    await con.click('#item-form button[type="submit"]');
    await eventually('d_new created', async () => (await admin('/waiting-item/d_new')).status === 200);
    expect(await getItem('d_new')).toMatchObject({
      itemId: 'd_new',
      itemName: 'New drop',
      remainCount: 5,
      waitingQueueEnabled: true,
      tokenCountToMove: 2,
      maxActiveUsers: null,
      targetUrl: 'https://shop.example/order/d_new',
    });
    await con.waitForSelector('tr[data-item-id="d_new"]', { timeout: LONG });
    // Clear what the create step left in the form, so that "form filled" waits for Edit's own GET: otherwise, on a
    // loaded machine, that GET could land after the edits below and put the old values back before the submit.
    await con.fill('#f-name', '');
    await con.fill('#f-url', '');
    await row('d_new', 'button.edit').click();
    await eventually('form filled', async () => (await con.inputValue('#f-name')) === 'New drop');
    expect(await con.inputValue('#f-url')).toBe('https://shop.example/order/d_new');
    await con.fill('#f-name', 'New drop (edited)');
    await con.fill('#f-url', '');
    await con.click('#item-form button[type="submit"]');
    await eventually('d_new edited', async () => (await getItem('d_new')).itemName === 'New drop (edited)');
    expect((await getItem('d_new')).targetUrl).toBeUndefined();
    await eventually(
      'console shows the new name',
      async () => (await row('d_new', '.item-name').textContent()) === 'New drop (edited)',
    );
    expect(await text(con, '#error')).toBe('');
    await shot(con, 'd5-console-final');
  });

  test('console: claims made between Edit and Save are not undone (5 units, at most 5 issued); a stale stock set is refused, and the form reloads and says so', async () => {
    await upsertItem('f1', { itemName: 'Coupon F1', remainCount: 5, queueMode: 'DIRECT' });
    let issued = 0;
    const claim = async (userId: string) => {
      const r = await call(`${api.url}/api/v1/item/f1/claims`, { method: 'POST', headers: { 'user-id': userId } });
      if (r.status === 200) issued++;
      return r;
    };

    const { page: con } = await openPage({ mobile: false });
    await con.goto(`${scheduler.url}/admin`);
    await con.waitForFunction(
      () => document.getElementById('auth-state')?.textContent?.includes('Enter the admin token'),
      undefined,
      { timeout: LONG },
    );
    await con.fill('#admin-token', ADMIN_TOKEN);
    await con.click('#token-form button[type="submit"]');
    await con.waitForSelector('tr[data-item-id="f1"]', { timeout: LONG });
    const row = (id: string, cell: string) => con.locator(`tr[data-item-id="${id}"] ${cell}`);

    // The operator opens the item: the form shows stock 5.
    await row('f1', 'button.edit').click();
    await eventually(
      'form filled',
      async () => (await con.inputValue('#f-name')) === 'Coupon F1' && (await con.inputValue('#f-stock')) === '5',
    );
    // Shoppers claim 3 units while the operator edits; the operator renames the item and saves.
    for (const u of ['f_a', 'f_b', 'f_c']) expect((await claim(u)).status).toBe(200);
    await con.fill('#f-name', 'Coupon F1 (renamed)');
    await con.click('#item-form button[type="submit"]');
    await eventually('renamed', async () => (await getItem('f1')).itemName === 'Coupon F1 (renamed)');
    // The claims stay counted: 2 left, and of 6 more shoppers only 2 get one. 5 units, 5 issued.
    expect((await getItem('f1')).remainCount).toBe(2);
    for (let i = 0; i < 6; i++) await claim(`f_late_${i}`);
    expect(issued).toBe(5);
    expect(await env!.client.hlen(keys.claims('f1'))).toBe(5);
    expect((await getItem('f1')).remainCount).toBe(0);
    expect(await text(con, '#error')).toBe('');

    // An explicit stock set from a stale form: restock 3, Edit (stock 3), a shopper claims one, the operator types 10.
    expect((await admin('/waiting-item/f1/restock', { method: 'POST', body: { quantity: 3 } })).status).toBe(200);
    await con.fill('#f-stock', '');
    await row('f1', 'button.edit').click();
    await eventually('form shows stock 3', async () => (await con.inputValue('#f-stock')) === '3');
    expect((await claim('f_after_restock')).status).toBe(200);
    await con.fill('#f-stock', '10');
    await con.click('#item-form button[type="submit"]');
    await con.click('#confirm-ok'); // a stock set asks first
    // Refused (412): nothing written, the form reloads the item (stock 2) and tells the operator.
    await eventually(
      '412 shown and the item reloaded',
      async () =>
        (await text(con, '#error')).includes('changed since Edit') && (await con.inputValue('#f-stock')) === '2',
    );
    expect((await getItem('f1')).remainCount).toBe(2);
    await shot(con, 'f1-console-stale-stock-refused');
    // Now the operator sets it knowingly, under the reloaded ETag: applied.
    await con.fill('#f-stock', '10');
    await con.click('#item-form button[type="submit"]');
    await con.click('#confirm-ok');
    await eventually('stock set to 10', async () => (await getItem('f1')).remainCount === 10);
    expect(issued).toBe(6);
    expect(await env!.client.hlen(keys.claims('f1'))).toBe(6);
  });
});
