import { ItemStore } from '@waiting-queue/core/item-store';
import { keys } from '@waiting-queue/core/keys';
import { QueueStore } from '@waiting-queue/core/queue-store';
import { type RedisClient } from '@waiting-queue/core/redis';
import { call, type ServiceProcess } from './helpers/processes';
import { register } from './helpers/queue';
import { useStack } from './helpers/stack';
import { ADMIN, bearer, expectFailure, expectSuccess, sleep, type Reply } from './helpers/waiting-room-client';

/**
 * The admin API of a real scheduler process with ADMIN_TOKEN set. Its cron fires once a year, so no tick
 * changes the queues while the tests read them; admissions are made with the scheduler's own Lua script.
 */
const ADMIN_TOKEN = 'admin-test-token';

describe('admin API (scheduler process, ADMIN_TOKEN set)', () => {
  const env = useStack({
    name: 'admin-test',
    services: [{ name: 'scheduler', env: { ADMIN_TOKEN, TOKEN_COUNT_TO_MOVE: '7', SCHEDULER_CRON: '0 0 0 1 1 *' } }],
    startTimeoutMs: 60_000,
  });
  let redis: RedisClient;
  let items: ItemStore;
  let queue: QueueStore;
  let scheduler: ServiceProcess | undefined;
  let fence = 1;

  /** An admin API call with the right bearer; `body` is sent as JSON. */
  const admin = (
    path: string,
    init: { method?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
  ): Promise<Reply> =>
    call(`${scheduler!.url}${ADMIN}${path}`, { ...init, headers: { ...bearer(ADMIN_TOKEN), ...(init.headers ?? {}) } });
  /** An upsert under If-Match with the ETag of a GET just before (how a stock set on an existing item goes). */
  const upsertMatched = async (itemId: string, body: unknown): Promise<Reply> => {
    const etag = (await admin(`/waiting-item/${itemId}`)).headers.get('etag');
    expect(etag).toMatch(/^"\d+\.\d+"$/);
    return admin(`/waiting-item/${itemId}/manually`, { method: 'POST', body, headers: { 'if-match': etag! } });
  };
  const nPath = '/waiting-queue/token-count-to-move';
  const storedN = () => redis.get(keys.tokenCountToMove);

  beforeAll(() => {
    redis = env.redis;
    items = new ItemStore(redis);
    queue = new QueueStore(redis);
    [scheduler] = env.services;
  });

  test('ADMIN_TOKEN: no or a wrong bearer is 401 on every admin route; the right one is 200', async () => {
    const routes: [string, string, unknown?][] = [
      ['GET', nPath],
      ['PUT', `${nPath}?tokenCountToMove=99`],
      ['PUT', nPath, { tokenCountToMove: 99 }],
      ['GET', '/waiting-queue/token-count'],
      ['POST', '/waiting-queue/token-count', { searchAll: true }],
      ['POST', '/waiting-item/auth_item/manually', { itemName: 'x', remainCount: 1, waitingQueueEnabled: true }],
      ['GET', '/waiting-item/auth_item'],
    ];
    for (const [method, path, body] of routes) {
      for (const authorization of [
        undefined,
        'Bearer wrong',
        `Bearer ${ADMIN_TOKEN}x`,
        `Bearer  ${ADMIN_TOKEN}`,
        `bearer ${ADMIN_TOKEN}`,
        `Basic ${ADMIN_TOKEN}`,
        ADMIN_TOKEN,
      ]) {
        const r = await call(`${scheduler!.url}${ADMIN}${path}`, {
          method,
          body,
          headers: authorization === undefined ? {} : { authorization },
        });
        expect({ method, path, authorization, status: r.status, errorCode: r.body.errorCode }).toEqual({
          method,
          path,
          authorization,
          status: 401,
          errorCode: 'UNAUTHORIZED',
        });
        expectFailure(r, 401, 'UNAUTHORIZED');
        expect(r.headers.get('www-authenticate')).toMatch(/^Bearer /);
      }
    }
    // Nothing the refused calls carried reached Redis.
    expect(await storedN()).toBe('7');
    expect(await redis.exists(keys.item('auth_item'))).toBe(0);
    expect(expectSuccess(await admin(nPath))).toEqual({ tokenCountToMove: 7 });
  });

  test('token-count-to-move: GET the stored N; PUT by query or JSON body; invalid values are 400 and change nothing', async () => {
    expect(expectSuccess(await admin(nPath))).toEqual({ tokenCountToMove: 7 });
    expect(expectSuccess(await admin(`${nPath}?tokenCountToMove=12`, { method: 'PUT' }))).toEqual({
      tokenCountToMove: 12,
    });
    expect(expectSuccess(await admin(nPath))).toEqual({ tokenCountToMove: 12 });
    expect(await storedN()).toBe('12');
    expect(expectSuccess(await admin(nPath, { method: 'PUT', body: { tokenCountToMove: 0 } }))).toEqual({
      tokenCountToMove: 0,
    });
    expect(expectSuccess(await admin(nPath))).toEqual({ tokenCountToMove: 0 });
    expect(expectSuccess(await admin(nPath, { method: 'PUT', body: { tokenCountToMove: 25 } }))).toEqual({
      tokenCountToMove: 25,
    });
    expect(await storedN()).toBe('25');

    const badQueries = ['-1', '1.5', 'abc', '', '1e3', '0x10', '%2B5', '%205', '10000000', '1&tokenCountToMove=2'];
    for (const q of badQueries) {
      const r = await admin(`${nPath}?tokenCountToMove=${q}`, { method: 'PUT' });
      expectFailure(r, 400, 'INVALID_PARAMETER');
    }
    const badBodies: unknown[] = [
      { tokenCountToMove: -1 },
      { tokenCountToMove: 1.5 },
      { tokenCountToMove: '5' },
      { tokenCountToMove: null },
      { tokenCountToMove: true },
      { tokenCountToMove: 1_000_001 },
      { tokenCountToMove: 5, extra: 1 },
      {},
      [5],
    ];
    for (const body of badBodies) expectFailure(await admin(nPath, { method: 'PUT', body }), 400, 'INVALID_PARAMETER');
    // No body at all.
    expectFailure(await admin(nPath, { method: 'PUT' }), 400, 'INVALID_PARAMETER');
    expect(await storedN()).toBe('25');
    expect(expectSuccess(await admin(nPath))).toEqual({ tokenCountToMove: 25 });
  });

  test('token-count: GET and POST (searchAll true/false, itemIdListToSearch) report waiting and unexpired entered counts', async () => {
    for (const id of ['c1', 'c2', 'c3'])
      await items.upsert(id, { itemName: id, remainCount: 10, waitingQueueEnabled: true });
    for (const u of ['a', 'b', 'c', 'd', 'e']) await register(queue, 'c1', u);
    await register(queue, 'c2', 'a');
    await register(queue, 'c3', 'a');
    await queue.admit('c1', { tokenCountToMove: 2, admissionTtlMs: 600_000, fence: fence++, tickMs: 1000 });
    // c3's admission expires at once: it is still in the entry set but no longer counts as entered.
    await queue.admit('c3', { tokenCountToMove: 1, admissionTtlMs: 1, fence: fence++, tickMs: 1000 });
    await sleep(20);
    expect(await redis.zcard(keys.admitted('c3'))).toBe(1);

    const all = [
      { itemId: 'c1', waitingTokenCount: 3, enteredTokenCount: 2 },
      { itemId: 'c2', waitingTokenCount: 1, enteredTokenCount: 0 },
      { itemId: 'c3', waitingTokenCount: 0, enteredTokenCount: 0 },
    ];
    const listed = (r: Reply) => {
      const data = expectSuccess(r);
      expect(Object.keys(data)).toEqual(['currentWaitingQueueList']);
      return (data.currentWaitingQueueList as { itemId: string }[]).filter(
        (x) => /^c\d$/.test(x.itemId) || x.itemId === 'unknown_item',
      );
    };
    expect(listed(await admin('/waiting-queue/token-count'))).toEqual(all);
    expect(listed(await admin('/waiting-queue/token-count', { method: 'POST', body: { searchAll: true } }))).toEqual(
      all,
    );
    expect(
      listed(
        await admin('/waiting-queue/token-count', {
          method: 'POST',
          body: { searchAll: true, itemIdListToSearch: ['c2'] },
        }),
      ),
    ).toEqual(all);
    expect(
      expectSuccess(
        await admin('/waiting-queue/token-count', {
          method: 'POST',
          body: { searchAll: false, itemIdListToSearch: ['c2'] },
        }),
      ),
    ).toEqual({
      currentWaitingQueueList: [all[1]],
    });
    expect(
      expectSuccess(
        await admin('/waiting-queue/token-count', {
          method: 'POST',
          body: { itemIdListToSearch: ['c1', 'c1', 'unknown_item'] },
        }),
      ),
    ).toEqual({
      currentWaitingQueueList: [all[0], { itemId: 'unknown_item', waitingTokenCount: 0, enteredTokenCount: 0 }],
    });
    expect(
      expectSuccess(await admin('/waiting-queue/token-count', { method: 'POST', body: { searchAll: false } })),
    ).toEqual({ currentWaitingQueueList: [] });

    const badBodies: unknown[] = [
      { searchAll: 'yes' },
      { searchAll: 1 },
      { itemIdListToSearch: 'c1' },
      { itemIdListToSearch: ['bad-id'] },
      { itemIdListToSearch: [1] },
      { itemIdListToSearch: ['a'.repeat(65)] },
      { searchAll: true, extra: true },
    ];
    for (const body of badBodies)
      expectFailure(await admin('/waiting-queue/token-count', { method: 'POST', body }), 400, 'INVALID_PARAMETER');
  });

  test('waiting item: upsert then GET; optional fields kept, set and cleared; unknown item 404; queue state survives an update', async () => {
    const path = '/waiting-item/shoes/manually';
    const created = expectSuccess(
      await admin(path, { method: 'POST', body: { itemName: 'Shoes', remainCount: 5, waitingQueueEnabled: true } }),
    );
    const expected = {
      itemId: 'shoes',
      itemName: 'Shoes',
      remainCount: 5,
      waitingQueueEnabled: true,
      tokenCountToMove: null,
      maxActiveUsers: null,
    };
    expect(created).toEqual(expected);
    expect(expectSuccess(await admin('/waiting-item/shoes'))).toEqual(expected);
    expect(await redis.sismember(keys.itemRegistry, 'shoes')).toBe(1);

    await register(queue, 'shoes', 'buyer');
    const withOverrides = {
      itemName: 'Shoes 2',
      remainCount: 4,
      waitingQueueEnabled: false,
      tokenCountToMove: 4,
      maxActiveUsers: 10,
    };
    expect(expectSuccess(await upsertMatched('shoes', withOverrides))).toEqual({ itemId: 'shoes', ...withOverrides });
    // Absent optional fields are kept; null clears them.
    expect(
      expectSuccess(await upsertMatched('shoes', { itemName: 'Shoes 3', remainCount: 0, waitingQueueEnabled: true })),
    ).toMatchObject({
      itemName: 'Shoes 3',
      remainCount: 0,
      tokenCountToMove: 4,
      maxActiveUsers: 10,
    });
    expect(
      expectSuccess(
        await upsertMatched('shoes', {
          itemName: 'Shoes 4',
          remainCount: 3,
          waitingQueueEnabled: true,
          tokenCountToMove: null,
          maxActiveUsers: null,
        }),
      ),
    ).toEqual({
      ...expected,
      itemName: 'Shoes 4',
      remainCount: 3,
    });
    expect(expectSuccess(await admin('/waiting-item/shoes'))).toEqual({
      ...expected,
      itemName: 'Shoes 4',
      remainCount: 3,
    });
    // The queue and its sequence outlive the updates.
    expect(await redis.zrange(keys.waiting('shoes'), 0, -1)).toEqual(['buyer']);
    expect(await redis.hget(keys.item('shoes'), 'seq')).toBe('1');

    const unknown = await admin('/waiting-item/never_created');
    expectFailure(unknown, 404, 'WAITING_ITEM_NOT_FOUND');
    expect(unknown.body.data).toBeNull();
  });

  test('waiting item upsert with an invalid body is 400 INVALID_PARAMETER and writes nothing', async () => {
    const valid = { itemName: 'Bag', remainCount: 3, waitingQueueEnabled: true };
    const bad: [string, unknown][] = [
      ['missing itemName', { remainCount: 3, waitingQueueEnabled: true }],
      ['missing remainCount', { itemName: 'Bag', waitingQueueEnabled: true }],
      ['missing waitingQueueEnabled', { itemName: 'Bag', remainCount: 3 }],
      ['empty object', {}],
      ['itemName number', { ...valid, itemName: 5 }],
      ['itemName empty', { ...valid, itemName: '' }],
      ['itemName 201 chars', { ...valid, itemName: 'x'.repeat(201) }],
      ['remainCount -1', { ...valid, remainCount: -1 }],
      ['remainCount 1.5', { ...valid, remainCount: 1.5 }],
      ['remainCount string', { ...valid, remainCount: '3' }],
      ['remainCount null', { ...valid, remainCount: null }],
      ['waitingQueueEnabled string', { ...valid, waitingQueueEnabled: 'true' }],
      ['waitingQueueEnabled 1', { ...valid, waitingQueueEnabled: 1 }],
      ['tokenCountToMove -1', { ...valid, tokenCountToMove: -1 }],
      ['tokenCountToMove string', { ...valid, tokenCountToMove: '4' }],
      ['maxActiveUsers 0', { ...valid, maxActiveUsers: 0 }],
      ['extra field', { ...valid, color: 'red' }],
      ['array', [valid]],
      ['null', null],
    ];
    for (const [what, body] of bad) {
      const r = await admin('/waiting-item/bag/manually', { method: 'POST', body });
      expect({ what, status: r.status, errorCode: r.body.errorCode }).toEqual({
        what,
        status: 400,
        errorCode: 'INVALID_PARAMETER',
      });
    }
    expectFailure(await admin('/waiting-item/bag/manually', { method: 'POST' }), 400, 'INVALID_PARAMETER');
    expectFailure(
      await admin('/waiting-item/bad-id/manually', { method: 'POST', body: valid }),
      400,
      'INVALID_PARAMETER',
    );
    expect(await redis.exists(keys.item('bag'))).toBe(0);
    expect(await redis.sismember(keys.itemRegistry, 'bag')).toBe(0);
    expectFailure(await admin('/waiting-item/bag'), 404, 'WAITING_ITEM_NOT_FOUND');
  });
  test('an update may leave remainCount out: the stored stock is kept, so stock taken meanwhile is not written back', async () => {
    const path = '/waiting-item/stockkeep/manually';
    // Creating without remainCount is refused and writes nothing.
    expectFailure(
      await admin(path, { method: 'POST', body: { itemName: 'x', waitingQueueEnabled: true } }),
      400,
      'INVALID_PARAMETER',
    );
    expect(await redis.exists(keys.item('stockkeep'))).toBe(0);
    expect(await redis.sismember(keys.itemRegistry, 'stockkeep')).toBe(0);

    expectSuccess(
      await admin(path, { method: 'POST', body: { itemName: 'Keep', remainCount: 10, waitingQueueEnabled: true } }),
    );
    // Stock changes behind the operator's back (as a reservation's Lua script would do it).
    await redis.hincrby(keys.item('stockkeep'), 'remainCount', -3);
    const updated = expectSuccess(
      await admin(path, { method: 'POST', body: { itemName: 'Keep 2', waitingQueueEnabled: false } }),
    );
    expect(updated).toMatchObject({ itemName: 'Keep 2', waitingQueueEnabled: false, remainCount: 7 });
    // Given explicitly, it is set, under If-Match (see the ETag test).
    expect(
      expectSuccess(await upsertMatched('stockkeep', { itemName: 'Keep 2', remainCount: 2, waitingQueueEnabled: true }))
        .remainCount,
    ).toBe(2);
  });

  test('ETag and If-Match: a stale ETag is 412 PRECONDITION_FAILED and writes nothing; a stock set needs If-Match; a settings edit is not refused because shoppers bought', async () => {
    const path = '/waiting-item/etag_item/manually';
    const created = await admin(path, {
      method: 'POST',
      body: { itemName: 'Etag', remainCount: 5, waitingQueueEnabled: true },
    });
    expectSuccess(created);
    const etag0 = created.headers.get('etag')!;
    expect(etag0).toMatch(/^"\d+\.5"$/);
    const got = await admin('/waiting-item/etag_item');
    expect(got.headers.get('etag')).toBe(etag0);
    const before = await redis.hgetall(keys.item('etag_item'));

    // Two units claimed after the operator's GET (as the claim script does it).
    await redis.hincrby(keys.item('etag_item'), 'remainCount', -2);
    const afterClaims = await redis.hgetall(keys.item('etag_item'));
    // A blind stock set on an existing item: refused, whatever figure it carries.
    const blind = await admin(path, {
      method: 'POST',
      body: { itemName: 'Etag', remainCount: 5, waitingQueueEnabled: true },
    });
    expectFailure(blind, 412, 'PRECONDITION_FAILED');
    expect(blind.body.errorMessage).toMatch(/If-Match/);
    // A stock set under the ETag read before the claims: refused; nothing written.
    expectFailure(
      await admin(path, {
        method: 'POST',
        body: { itemName: 'Etag', remainCount: 5, waitingQueueEnabled: true },
        headers: { 'if-match': etag0 },
      }),
      412,
      'PRECONDITION_FAILED',
    );
    // `*` says only "it exists": not enough to set the stock. Weak, foreign and listed ETags never match.
    for (const ifMatch of ['*', `W/${etag0}`, '"abc"', `${etag0}, "1.1"`]) {
      const r = await admin(path, {
        method: 'POST',
        body: { itemName: 'Etag', remainCount: 9, waitingQueueEnabled: true },
        headers: { 'if-match': ifMatch },
      });
      expect({ ifMatch, status: r.status, errorCode: r.body.errorCode }).toEqual({
        ifMatch,
        status: 412,
        errorCode: 'PRECONDITION_FAILED',
      });
    }
    expect(await redis.hgetall(keys.item('etag_item'))).toEqual(afterClaims);
    expect(afterClaims.version).toBe(before.version);

    // A settings edit under the same ETag (no remainCount) is not refused by the claims: only the settings are compared.
    const renamed = await admin(path, {
      method: 'POST',
      body: { itemName: 'Etag 2', waitingQueueEnabled: true },
      headers: { 'if-match': etag0 },
    });
    expect(expectSuccess(renamed)).toMatchObject({ itemName: 'Etag 2', remainCount: 3 });
    const etag1 = renamed.headers.get('etag')!;
    expect(etag1).toMatch(/^"\d+\.3"$/);
    expect(etag1).not.toBe(etag0);
    // The old ETag is now stale for settings too: a concurrent editor's Save is refused.
    expectFailure(
      await admin(path, {
        method: 'POST',
        body: { itemName: 'Etag lost', waitingQueueEnabled: false },
        headers: { 'if-match': etag0 },
      }),
      412,
      'PRECONDITION_FAILED',
    );
    expect((await items.get('etag_item'))!.itemName).toBe('Etag 2');
    // With the current ETag an explicit stock set is applied.
    const set = await admin(path, {
      method: 'POST',
      body: { itemName: 'Etag 2', remainCount: 8, waitingQueueEnabled: true },
      headers: { 'if-match': etag1 },
    });
    expect(expectSuccess(set).remainCount).toBe(8);
    expect(set.headers.get('etag')).toMatch(/^"\d+\.8"$/);
    // If-Match on an item that does not exist: 412, nothing created.
    expectFailure(
      await admin('/waiting-item/etag_none/manually', {
        method: 'POST',
        body: { itemName: 'x', remainCount: 1, waitingQueueEnabled: true },
        headers: { 'if-match': '*' },
      }),
      412,
      'PRECONDITION_FAILED',
    );
    expect(await redis.exists(keys.item('etag_none'))).toBe(0);
    expect(await redis.sismember(keys.itemRegistry, 'etag_none')).toBe(0);
  });
});
