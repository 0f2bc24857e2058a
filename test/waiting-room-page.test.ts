import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { launchChromium } from './helpers/browser';
import { call, type ServiceProcess } from './helpers/processes';
import { testRedis } from './helpers/redis';
import { startServices } from './helpers/services';

/**
 * The shopper's waiting-room page in a real browser (Debian's chromium through playwright-core, no browser
 * download) against real api and scheduler processes on a redis-server of this file: every state of the page
 * checked by axe-core at 360 px and at 1280 px wide, nothing wider than a 360 px screen, the page used by keyboard
 * alone, and a network that drops (retries with backoff and jitter, the token kept). The 360 px screenshot of the
 * waiting state goes to docs/waiting-room.png (shown in the README); the others to test-artifacts/page/ (ignored).
 */

// The page's globals in waitForFunction callbacks (they run in chromium; the tests compile without the DOM lib).
declare const window: { __retries: number[] };

const ROOT = join(__dirname, '..');
const ARTIFACTS = join(ROOT, 'test-artifacts', 'page');
const DOCS_SCREENSHOT = join(ROOT, 'docs', 'waiting-room.png');
const ADMIN_TOKEN = 'page-test-admin-token';
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const PHONE = { width: 360, height: 740 };
const DESKTOP = { width: 1280, height: 900 };
const LONG = 60_000;

jest.setTimeout(240_000);

/** One axe finding, as the test reports it. */
interface Violation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

describe('waiting-room page: accessibility, small screens, keyboard and a dropping network, in chromium', () => {
  let env: Awaited<ReturnType<typeof testRedis>> | undefined;
  let api: ServiceProcess;
  let scheduler: ServiceProcess;
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];

  const admin = (path: string, init: { method?: string; body?: unknown } = {}) =>
    call(`${scheduler.url}/internal/admin/v1${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });

  async function createItem(itemId: string, body: Record<string, unknown>): Promise<void> {
    const r = await admin(`/waiting-item/${itemId}/manually`, {
      method: 'POST',
      body: { waitingQueueEnabled: true, itemName: `Item ${itemId}`, remainCount: 50, ...body },
    });
    expect(r.status).toBe(200);
  }

  async function register(itemId: string, userId: string): Promise<void> {
    const r = await call(`${api.url}/api/v1/item/${itemId}/waiting-queue`, {
      method: 'POST',
      headers: { 'user-id': userId },
    });
    expect(r.status).toBe(200);
  }

  /** A fresh context (own localStorage) of `viewport`, the shopper `userId` given by the gateway's cookie. */
  async function openPage(
    viewport: { width: number; height: number },
    userId?: string,
    colorScheme: 'light' | 'dark' = 'light',
  ): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser!.newContext({
      locale: 'en-US',
      viewport,
      colorScheme,
      deviceScaleFactor: viewport.width < 500 ? 2 : 1,
      isMobile: viewport.width < 500,
      hasTouch: viewport.width < 500,
    });
    contexts.push(context);
    if (userId) await context.addCookies([{ name: 'user-id', value: userId, url: api.url }]);
    return { context, page: await context.newPage() };
  }

  const waitState = (page: Page, state: string, timeout = LONG) =>
    page.waitForSelector(`main[data-state="${state}"]`, { timeout });
  const text = async (page: Page, selector: string) => ((await page.locator(selector).textContent()) ?? '').trim();
  const focusedId = (page: Page) =>
    page.evaluate('document.activeElement && document.activeElement.id') as Promise<string | null>;
  const storedPlace = (page: Page, key: string) =>
    page.evaluate(`JSON.parse(localStorage.getItem(${JSON.stringify(key)}) || 'null')`) as Promise<{
      token: string;
    } | null>;

  /**
   * Runs axe-core (WCAG 2.x A/AA and best practices) on the page as it is and returns its serious and critical
   * violations. axe is evaluated through the DevTools protocol, which the page's CSP (script-src 'self') does not
   * govern, so the page is checked under its real CSP.
   */
  async function seriousViolations(page: Page): Promise<Violation[]> {
    await page.evaluate(AXE_SOURCE);
    const all =
      (await page.evaluate(`axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] } })
      .then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')) })))`)) as Violation[];
    return all.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  }

  /** Nothing wider than the viewport: the page never scrolls sideways. */
  const overflow = (page: Page) =>
    page.evaluate('({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth })') as Promise<{
      scrollWidth: number;
      innerWidth: number;
    }>;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    mkdirSync(join(ROOT, 'docs'), { recursive: true });
    env = await testRedis();
    [api, scheduler] = await startServices([
      { name: 'api', env: { REDIS_URL: env.url } },
      {
        name: 'scheduler',
        env: {
          REDIS_URL: env.url,
          SCHEDULER_CRON: '* * * * * *',
          TOKEN_COUNT_TO_MOVE: '0',
          ADMIN_TOKEN,
          DEV_MODE: '0',
        },
      },
    ]);
    browser = await launchChromium();

    // One item per state of the page.
    await createItem('pw', { itemName: 'Sneakers “Aurora” limited edition, size 42', tokenCountToMove: 1 }); // waiting
    for (let i = 0; i < 300; i++) await register('pw', `pw_ahead_${i}`);
    await createItem('pp', { itemName: 'Paused item', tokenCountToMove: 0 }); // paused
    await createItem('pa', {
      itemName: 'Admitted item',
      tokenCountToMove: 100,
      targetUrl: 'https://shop.example/order/pa',
    }); // admitted
    await createItem('ps', { itemName: 'Sold-out item', remainCount: 0 }); // sold out
    await createItem('pn', {
      itemName: 'Time deal',
      type: 'TIME_DEAL',
      startAt: Date.now() + 3_600_000,
      tokenCountToMove: 0,
    }); // not open yet
    await createItem('pf', { itemName: 'Full item', maxWaiting: 1, tokenCountToMove: 0 }); // queue full
    await register('pf', 'pf_first');
    await createItem('pd', { itemName: 'Disabled item', waitingQueueEnabled: false }); // disabled
  }, 180_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await Promise.all([api?.stop(), scheduler?.stop()]);
    await env?.stop();
  });

  /** Each state: its item, the `data-state` the page shows, and what the headline says. */
  const STATES: {
    name: string;
    itemId: string;
    state: string;
    headline: string;
    prepare?: (page: Page, context: BrowserContext) => Promise<void>;
  }[] = [
    { name: 'waiting', itemId: 'pw', state: 'waiting', headline: 'You are in the queue' },
    { name: 'paused', itemId: 'pp', state: 'paused', headline: 'Admission is paused' },
    { name: 'admitted', itemId: 'pa', state: 'admitted', headline: 'It is your turn!' },
    { name: 'sold out', itemId: 'ps', state: 'sold-out', headline: 'Sold out' },
    { name: 'not open yet', itemId: 'pn', state: 'closed', headline: 'Not open yet' },
    { name: 'queue full', itemId: 'pf', state: 'error', headline: 'The waiting room is full' },
    { name: 'disabled', itemId: 'pd', state: 'closed', headline: 'Not open yet' },
    {
      name: 'error (network down)',
      itemId: 'pp',
      state: 'error',
      headline: 'You are offline',
      prepare: async (page, context) => {
        await waitState(page, 'paused');
        await context.setOffline(true);
      },
    },
  ];

  const LAYOUTS = [
    { viewport: PHONE, scheme: 'light' },
    { viewport: DESKTOP, scheme: 'light' },
    { viewport: PHONE, scheme: 'dark' }, // the dark colours' contrast
  ] as const;
  for (const { viewport, scheme } of LAYOUTS) {
    test.each(STATES.map((s) => [s.name, s] as const))(
      `axe finds no serious or critical violation at ${viewport.width} px (${scheme}), and nothing overflows: %s`,
      async (_name, s) => {
        const user = `u_${viewport.width}_${scheme}_${s.name.replace(/\W+/g, '_')}`;
        const { context, page } = await openPage(viewport, user, scheme);
        const problems: string[] = [];
        page.on('pageerror', (e) => problems.push(e.message));
        await page.route('https://shop.example/**', (route) =>
          route.fulfill({ status: 200, contentType: 'text/html', body: '<h1>Order</h1>' }),
        );
        await page.goto(`${api.url}/waiting-room/${s.itemId}`);
        await s.prepare?.(page, context);
        await waitState(page, s.state);
        expect(await text(page, '#headline')).toBe(s.headline);
        if (s.state === 'admitted') await page.locator('#order').waitFor({ state: 'visible' });

        const violations = await seriousViolations(page);
        expect(violations).toEqual([]);
        const o = await overflow(page);
        expect(o.scrollWidth).toBeLessThanOrEqual(o.innerWidth);
        expect(problems).toEqual([]);
        const file = `${viewport.width}-${scheme}-${s.name.replace(/\W+/g, '-')}.png`;
        await page.screenshot({ path: join(ARTIFACTS, file), fullPage: true });
        if (viewport === PHONE && scheme === 'light' && s.name === 'waiting')
          await page.screenshot({ path: DOCS_SCREENSHOT, fullPage: true });
        await context.setOffline(false);
      },
    );
  }

  test('the rank is announced politely (aria-live) and the state is a status region', async () => {
    const { page } = await openPage(PHONE, 'u_live');
    await page.goto(`${api.url}/waiting-room/pw`);
    await waitState(page, 'waiting');
    expect(await page.locator('#state').getAttribute('aria-live')).toBe('polite');
    expect(await page.locator('#state').getAttribute('role')).toBe('status');
    // The rank and wait live in a polite region, so screen readers hear a new rank without being interrupted.
    const region = page.locator('.stats');
    expect(await region.getAttribute('aria-live')).toBe('polite');
    expect(await region.locator('#rank').count()).toBe(1);
    expect(await page.locator('[aria-live="assertive"]').count()).toBe(0);
    // Control: the axe check above does see a serious problem when there is one (a button without a name).
    await page.evaluate(`document.querySelector('.actions').appendChild(document.createElement('button'))`);
    expect((await seriousViolations(page)).map((v) => v.id)).toContain('button-name');
  });

  test('everything works by keyboard: type a user id and press Enter, switch user, check again, and follow the order link', async () => {
    await createItem('pk', {
      itemName: 'Keyboard item',
      tokenCountToMove: 0,
      targetUrl: 'https://shop.example/order/pk',
    });
    const { page } = await openPage(DESKTOP);
    const shop: string[] = [];
    await page.route('https://shop.example/**', (route) => {
      shop.push(route.request().url());
      return route.fulfill({ status: 200, contentType: 'text/html', body: '<h1>Order</h1>' });
    });
    await page.goto(`${api.url}/waiting-room/pk`);
    // No gateway user id: the form asks for one, with the focus in its field.
    await waitState(page, 'choose-user');
    expect(await focusedId(page)).toBe('user-id');
    await page.keyboard.type('kate');
    await page.keyboard.press('Enter');
    await waitState(page, 'paused');
    expect(await text(page, '#rank')).toBe('#1');

    // Tab reaches "Use another user id"; Enter on it brings the form back with the focus in the field.
    const tabTo = async (id: string) => {
      for (let i = 0; i < 12; i++) {
        await page.keyboard.press('Tab');
        if ((await focusedId(page)) === id) return;
      }
      throw new Error(`Tab never reached #${id}`);
    };
    await tabTo('switch-user');
    await page.keyboard.press('Enter');
    await waitState(page, 'choose-user');
    expect(await focusedId(page)).toBe('user-id');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('kim');
    await page.keyboard.press('Enter');
    await waitState(page, 'paused');
    expect(await text(page, '#detail-user')).toBe('kim');

    // The details open by keyboard (summary: Tab, then Enter).
    await page.locator('#detail-user').evaluate('(el) => el.blur && el.blur()');
    const summaryFocused = async () =>
      page.evaluate("document.activeElement && document.activeElement.tagName === 'SUMMARY'");
    for (let i = 0; i < 12 && !(await summaryFocused()); i++) await page.keyboard.press('Tab');
    expect(await summaryFocused()).toBe(true);
    await page.keyboard.press('Enter');
    expect(await page.locator('details').getAttribute('open')).not.toBeNull();

    // A disabled item: "Check again" is reachable by Tab, and Enter asks the server again.
    await createItem('pk2', {
      itemName: 'Keyboard item 2',
      waitingQueueEnabled: false,
      targetUrl: 'https://shop.example/order/pk2',
    });
    await page.goto(`${api.url}/waiting-room/pk2`);
    await waitState(page, 'closed');
    expect(await focusedId(page)).toBe('headline');
    await admin('/waiting-item/pk2/manually', {
      method: 'POST',
      body: { itemName: 'Keyboard item 2', waitingQueueEnabled: true, tokenCountToMove: 100 },
    });
    await tabTo('retry');
    await page.keyboard.press('Enter');
    // Admitted: the focus is on the order link, and Enter follows it with the token.
    await waitState(page, 'admitted');
    await page.locator('#order').waitFor({ state: 'visible' });
    expect(await focusedId(page)).toBe('order');
    await page.keyboard.press('Enter');
    await page.waitForURL(/shop\.example/);
    expect(new URL(shop[0]).searchParams.get('waitingQueueToken')).toMatch(/^kim-pk2-/);
  });

  test('the network drops: the page says so, retries with backoff and jitter, keeps the token, and goes on when it is back', async () => {
    await createItem('po', { itemName: 'Offline item', tokenCountToMove: 0 });
    const { context, page } = await openPage(PHONE, 'olga');
    const posts: string[] = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.url().includes('/waiting-queue')) posts.push(r.url());
    });
    await page.goto(`${api.url}/waiting-room/po`);
    await waitState(page, 'paused');
    const place = await storedPlace(page, 'wq:po:olga');
    expect(place?.token).toMatch(/^olga-po-/);
    const rank = await text(page, '#rank');

    await context.setOffline(true);
    await waitState(page, 'error', 15_000);
    expect(await text(page, '#headline')).toBe('You are offline');
    expect(await text(page, '#message')).toMatch(/Retrying in \d+ s.*you keep your place/);
    await page.screenshot({ path: join(ARTIFACTS, 'offline.png'), fullPage: true });

    // Each retry's delay (data-retry-ms, recorded as the page sets it) lies in its backoff band: between half and
    // all of 2^n s for the n-th failure in a row.
    await page.evaluate(`window.__retries = [Number(document.querySelector('main').getAttribute('data-retry-ms'))];
      new MutationObserver(() => window.__retries.push(Number(document.querySelector('main').getAttribute('data-retry-ms'))))
        .observe(document.querySelector('main'), { attributes: true, attributeFilter: ['data-retry-ms'] });`);
    await page.waitForFunction(() => window.__retries.length >= 3, undefined, { timeout: 20_000 });
    const delays = ((await page.evaluate('window.__retries')) as number[]).slice(0, 3);
    expect(delays).toHaveLength(3);
    delays.forEach((ms, i) => {
      const cap = 1000 * 2 ** (i + 1);
      expect(ms).toBeGreaterThanOrEqual(cap / 2);
      expect(ms).toBeLessThanOrEqual(cap);
    });
    // Jitter: the delays are not the bare powers of two.
    expect(delays.some((ms, i) => ms !== 1000 * 2 ** (i + 1))).toBe(true);
    // The token survives the outage, in the page and in localStorage; nothing registered again.
    expect((await storedPlace(page, 'wq:po:olga'))?.token).toBe(place!.token);
    expect(await text(page, '#detail-token')).toBe(place!.token);

    await context.setOffline(false);
    await waitState(page, 'paused', 15_000);
    expect(await text(page, '#rank')).toBe(rank);
    expect((await storedPlace(page, 'wq:po:olga'))?.token).toBe(place!.token);
    expect(posts).toHaveLength(1);
    expect(await page.locator('main').getAttribute('data-retry-ms')).toBeNull();
  });
});
