import { type Browser, type Page } from 'playwright-core';
import { readOutbox } from '@waiting-queue/core/events';
import { ItemStore } from '@waiting-queue/core/item-store';
import { keys } from '@waiting-queue/core/keys';
import { type RedisClient } from '@waiting-queue/core/redis';
import { launchChromium } from './helpers/browser';
import { type ServiceProcess } from './helpers/processes';
import { useStack } from './helpers/stack';

// Browser globals of the waitForFunction callbacks (they run in chromium; the tests compile without the DOM lib).
declare const document: { getElementById(id: string): { textContent: string | null } | null };

const ADMIN_TOKEN = 'console-retry-admin-token';

jest.setTimeout(120_000);

/**
 * The console as the unlucky operator on a flaky network uses it, in a real chromium against a real scheduler and
 * redis-server: a write whose answer never reaches the browser did happen on the server; the operator sees an error
 * and presses the button again. That retry must carry the first attempt's Idempotency-Key, so the write takes
 * effect once.
 */
describe('console: a write retried after its answer was lost takes effect once', () => {
  const env = useStack({
    name: 'console-retry-test',
    services: [
      { name: 'scheduler', env: { SCHEDULER_CRON: '0 0 0 1 1 *', ADMIN_TOKEN, DEV_MODE: '0', LOG_LEVEL: 'warn' } },
    ],
  });
  let redis: RedisClient;
  let scheduler: ServiceProcess;
  let browser: Browser | undefined;

  beforeAll(async () => {
    redis = env.redis;
    [scheduler] = env.services;
    browser = await launchChromium();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
  });

  test('restock: the answer is lost (the restock happened), the operator restocks again: the stock grows once', async () => {
    const itemId = 'lost1';
    await new ItemStore(redis).upsert(itemId, { itemName: itemId, remainCount: 10, waitingQueueEnabled: true });
    const context = await browser!.newContext();
    const con: Page = await context.newPage();
    try {
      await con.goto(`${scheduler.url}/admin`);
      await con.fill('#admin-token', ADMIN_TOKEN);
      await con.click('#token-form button[type="submit"]');
      const row = (selector: string) => con.locator(`tr[data-item-id="${itemId}"] ${selector}`);
      await row('.restock-input').waitFor({ timeout: 30_000 });

      // The first restock reaches the scheduler and is applied; its answer never reaches the browser.
      const sentKeys: (string | undefined)[] = [];
      let first = true;
      await con.route(`**/internal/admin/v1/waiting-item/${itemId}/restock`, async (route) => {
        sentKeys.push(route.request().headers()['idempotency-key']);
        if (!first) return route.continue();
        first = false;
        await route.fetch();
        await route.abort('connectionreset');
      });
      await row('.restock-input').fill('5');
      await row('form[data-action="restock"] button').click();
      await con.waitForFunction(() => (document.getElementById('error')?.textContent ?? '') !== '', undefined, {
        timeout: 30_000,
      });
      expect(await redis.hget(keys.item(itemId), 'remainCount')).toBe('15');

      // The operator sees the error and restocks again, the same 5 units.
      await row('.restock-input').fill('5');
      await row('form[data-action="restock"] button').click();
      await con.waitForFunction(
        () => (document.getElementById('notice')?.textContent ?? '').includes('restocked +5'),
        undefined,
        { timeout: 30_000 },
      );

      expect(await redis.hget(keys.item(itemId), 'remainCount')).toBe('15');
      expect((await readOutbox(redis, itemId)).filter((e) => e.type === 'item.restocked')).toHaveLength(1);
      expect(sentKeys).toHaveLength(2);
      expect(sentKeys[0]).toBeTruthy();
      expect(sentKeys[1]).toBe(sentKeys[0]);
      expect(await con.locator('#notice').textContent()).toContain('stock 15');

      // A new restock after that answer is a new write: a new key.
      await row('.restock-input').fill('1');
      await row('form[data-action="restock"] button').click();
      await con.waitForFunction(
        () => (document.getElementById('notice')?.textContent ?? '').includes('restocked +1'),
        undefined,
        { timeout: 30_000 },
      );
      expect(sentKeys).toHaveLength(3);
      expect(sentKeys[2]).not.toBe(sentKeys[0]);
      expect(await redis.hget(keys.item(itemId), 'remainCount')).toBe('16');
    } finally {
      await context.close();
    }
  });
});
