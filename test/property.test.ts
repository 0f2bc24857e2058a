import { mkdirSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { ItemStore } from '@waiting-queue/core/item-store';
import { QueueStore } from '@waiting-queue/core/queue-store';
import { type RedisClient } from '@waiting-queue/core/redis';
import type { ServiceProcess } from './helpers/processes';
import { rawRequest, type RawResponse } from './helpers/raw-http';
import { snapshotRedis } from './helpers/redis-snapshot';
import { useStack } from './helpers/stack';

/**
 * Property-based bad input (fast-check) over every endpoint of the api and the admin API: path parameters,
 * headers, query strings and bodies that are invalid by construction. Every answer must be a 4xx FAIL envelope
 * with an errorCode (never a 5xx, never a bare parser error), and Redis must hold exactly the same keys and values
 * afterwards. The number of inputs tried is printed (and kept in test-artifacts/property-count.json).
 */
const INTERNAL = 'property-internal-token';
const ADMIN = 'property-admin-token';
const RUNS = Number(process.env.PROPERTY_RUNS ?? 150);

describe('bad input, property-based', () => {
  const env = useStack({
    name: 'property-test',
    beforeServices: ({ redis }) =>
      new ItemStore(redis).upsert('p1', { itemName: 'p1', remainCount: 10, waitingQueueEnabled: true }),
    services: [
      { name: 'api', env: { INTERNAL_TOKEN: INTERNAL, LOG_LEVEL: 'error' } },
      // A cron that never fires in a test run: nothing but the requests under test could change state.
      {
        name: 'scheduler',
        env: { ADMIN_TOKEN: ADMIN, DEV_MODE: '0', SCHEDULER_CRON: '0 0 0 1 1 *', LOG_LEVEL: 'error' },
      },
    ],
    startTimeoutMs: 60_000,
  });
  let redis: RedisClient;
  let api: ServiceProcess;
  let admin: ServiceProcess;
  let tried = 0;
  let token: string;
  let initial: Awaited<ReturnType<typeof snapshotRedis>>;

  beforeAll(async () => {
    redis = env.redis;
    const queue = new QueueStore(redis);
    [api, admin] = env.services;
    const reg = await rawRequest(api.url, {
      method: 'POST',
      path: '/api/v1/item/p1/waiting-queue',
      headers: { 'user-id': 'holder' },
    });
    token = reg.json.data.waitingQueueToken;
    await rawRequest(api.url, {
      method: 'POST',
      path: '/api/v1/item/p1/waiting-queue',
      headers: { 'user-id': 'second' },
    });
    await queue.admit('p1', { tokenCountToMove: 1, admissionTtlMs: 3_600_000, fence: 1, tickMs: 1000 });
    initial = await snapshotRedis(env.client);
  }, 30_000);

  afterAll(async () => {
    // eslint-disable-next-line no-console
    console.log(`property-based bad input: ${tried} inputs tried`);
    mkdirSync('test-artifacts', { recursive: true });
    writeFileSync('test-artifacts/property-count.json', JSON.stringify({ inputs: tried }));
  });

  /** A 4xx FAIL envelope with an errorCode. */
  const expectClientError = (r: RawResponse, what: string) => {
    tried++;
    const ok =
      r.status >= 400 &&
      r.status < 500 &&
      r.json?.state === 'FAIL' &&
      typeof r.json?.errorCode === 'string' &&
      r.json.errorCode.length > 0;
    if (!ok) throw new Error(`${what}: got ${r.status} ${r.text.slice(0, 300)}`);
  };

  // ---- generators (invalid by construction) ----
  const strangeChar = fc.constantFrom(
    '-',
    '.',
    ' ',
    '/',
    '\\',
    '%',
    '?',
    '#',
    '&',
    '=',
    '+',
    '@',
    'é',
    'ß',
    '한',
    '😀',
    '\u0000',
    '\u0007',
    '\t',
    '\n',
    '\u202e',
    '\ufeff',
    '"',
    "'",
    '<',
    '>',
  );
  /** Never matches [A-Za-z0-9_]{1,64}: empty, too long, or containing a character outside the set. */
  const badId = fc.oneof(
    fc.constant(''),
    fc.stringMatching(/^[A-Za-z0-9_]{65,200}$/),
    fc.tuple(fc.string({ maxLength: 20 }), strangeChar, fc.string({ maxLength: 20 })).map(([a, c, b]) => a + c + b),
    fc.constantFrom('__proto__', 'constructor', 'toString').map((s) => `${s}-x`),
  );
  const segment = (s: string) => {
    try {
      return encodeURIComponent(s);
    } catch {
      return '%E0%80'; // a lone surrogate: send an invalid escape instead
    }
  };
  /** Path segments as sent on the wire: encoded strange ids, and raw malformed escapes. */
  const badSegment = fc.oneof(
    badId.filter((s) => s !== '').map(segment),
    fc.constantFrom('%', '%E0', '%ZZ', '%00', '%2e%2e', '..%2F..', '%C0%AF'),
  );
  /** Header values node:http can send (no control characters) that are not valid ids. Leading and trailing
   * spaces are not used: HTTP strips them (optional whitespace), so ' x' arrives as the valid 'x'. */
  const badHeader = fc.oneof(
    fc.constant(''),
    fc.stringMatching(/^[A-Za-z0-9_]{65,120}$/),
    fc
      .tuple(
        fc.stringMatching(/^[A-Za-z0-9_]{0,10}$/),
        fc.constantFrom('-', '.', 'a b', '/', '%', 'é', '\u00ff', '"', ','),
        fc.stringMatching(/^[A-Za-z0-9_]{0,10}$/),
      )
      .map(([a, c, b]) => a + c + b),
  );
  const badToken = fc.oneof(
    badSegment,
    fc
      .tuple(fc.stringMatching(/^[A-Za-z0-9_]{1,10}$/), fc.stringMatching(/^[A-Za-z0-9_]{1,10}$/), fc.uuid())
      .map(([u, i, id]) => `${u}-${i}-${id.toUpperCase()}x`),
    fc.string({ maxLength: 40 }).map((s) => segment(`holder-p1-${s}`)),
  );
  const contentType = fc.constantFrom(
    'application/json',
    'text/plain',
    'application/x-www-form-urlencoded',
    'application/json; charset=latin1',
    'multipart/form-data; boundary=x',
    'application/xml',
  );
  /** Bodies that no admin route accepts: wrong JSON shapes, malformed JSON, prototype keys, numbers out of range. */
  const badBody = fc.oneof(
    fc.constantFrom(
      '',
      '{',
      '[1,',
      'NaN',
      '{"a":NaN}',
      'undefined',
      '{"__proto__":{"admin":true}}',
      '{"constructor":{"prototype":{}}}',
      'null',
      'true',
      '"text"',
      '\u0000',
    ),
    fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 5 }).map((a) => JSON.stringify(a)),
    fc
      .record(
        {
          itemName: fc.oneof(
            fc.constant(''),
            fc.integer(),
            fc.constant(null),
            fc.string({ minLength: 201, maxLength: 300 }),
          ),
          remainCount: fc.oneof(
            fc.integer({ max: -1 }),
            fc.double({ noInteger: true, noDefaultInfinity: true, noNaN: true }),
            fc.string(),
          ),
          waitingQueueEnabled: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
        },
        { requiredKeys: [] },
      )
      .map((o) => JSON.stringify(o)),
    fc
      .record({
        tokenCountToMove: fc.oneof(
          fc.integer({ max: -1 }),
          fc.double({ noInteger: true, noNaN: true, noDefaultInfinity: true }),
          fc.string(),
          fc.constant(null),
          fc.integer({ min: 1_000_001 }),
        ),
      })
      .map((o) => JSON.stringify(o)),
    fc
      .record(
        {
          searchAll: fc.oneof(fc.string(), fc.integer()),
          itemIdListToSearch: fc.oneof(fc.string(), fc.array(badId, { minLength: 1, maxLength: 3 }), fc.integer()),
        },
        { requiredKeys: [] },
      )
      .filter((o) => Object.keys(o).length > 0)
      .map((o) => JSON.stringify(o)),
    fc
      .constant('x'.repeat(20_000))
      .map((s) => JSON.stringify({ itemName: s, remainCount: 1, waitingQueueEnabled: true })),
  );
  const badQueryNumber = fc.oneof(
    fc.integer({ max: -1 }).map(String),
    fc.double({ noInteger: true }).map(String),
    fc.constantFrom('NaN', 'Infinity', '-0.5', '1e3', ' 5', '0x10', '', '5abc', '99999999', '1,2', '%E0'),
  );
  const adminAuth = { authorization: `Bearer ${ADMIN}` };
  const internalAuth = { authorization: `Bearer ${INTERNAL}` };
  const run = (p: fc.IAsyncProperty<any>) => fc.assert(p, { numRuns: RUNS });

  test('register: bad item ids and bad user-id headers', async () => {
    await run(
      fc.asyncProperty(badSegment, async (seg) =>
        expectClientError(
          await rawRequest(api.url, {
            method: 'POST',
            path: `/api/v1/item/${seg}/waiting-queue`,
            headers: { 'user-id': 'valid_user' },
          }),
          seg,
        ),
      ),
    );
    await run(
      fc.asyncProperty(badHeader, fc.boolean(), async (h, dup) =>
        expectClientError(
          await rawRequest(api.url, {
            method: 'POST',
            path: '/api/v1/item/p1/waiting-queue',
            headers: { 'user-id': dup ? [h, 'valid'] : h },
          }),
          h,
        ),
      ),
    );
    // Any body with a bad user-id: the body must neither crash nor slip a registration through.
    await run(
      fc.asyncProperty(badBody, contentType, badHeader, async (body, ct, h) =>
        expectClientError(
          await rawRequest(api.url, {
            method: 'POST',
            path: '/api/v1/item/p1/waiting-queue',
            headers: { 'user-id': h, 'content-type': ct },
            body,
          }),
          body.slice(0, 50),
        ),
      ),
    );
  });

  test('poll, validate and consume: bad tokens, ids, users and bearers', async () => {
    await run(
      fc.asyncProperty(fc.oneof(badSegment, fc.constant('p1')), badToken, async (item, tok) => {
        expectClientError(
          await rawRequest(api.url, {
            path: `/api/v1/item/${item}/waiting-queue/${tok}`,
            headers: { 'user-id': 'holder' },
          }),
          `poll ${item} ${tok}`,
        );
        expectClientError(
          await rawRequest(api.url, { path: `/internal/v1/item/${item}/waiting-queue/${tok}`, headers: internalAuth }),
          `validate ${tok}`,
        );
        expectClientError(
          await rawRequest(api.url, {
            method: 'POST',
            path: `/internal/v1/item/${item}/waiting-queue/${tok}/consume`,
            headers: internalAuth,
          }),
          `consume ${tok}`,
        );
      }),
    );
    await run(
      fc.asyncProperty(badHeader, async (h) =>
        expectClientError(
          await rawRequest(api.url, { path: `/api/v1/item/p1/waiting-queue/${token}`, headers: { 'user-id': h } }),
          h,
        ),
      ),
    );
    await run(
      fc.asyncProperty(
        fc.oneof(
          fc.constant(''),
          badHeader.map((h) => `Bearer ${h}`),
          // Control characters are what this filter removes, so the pattern names them.
          // eslint-disable-next-line no-control-regex
          fc.string({ maxLength: 30 }).filter((s) => !/[\u0000-\u001f\u007f-\uffff]/.test(s)),
        ),
        async (auth) =>
          expectClientError(
            await rawRequest(api.url, {
              method: 'POST',
              path: `/internal/v1/item/p1/waiting-queue/${token}/consume`,
              headers: { authorization: auth },
            }),
            auth,
          ),
      ),
    );
  });

  test('admin API: bad N, bad count searches, bad items, bad bearers', async () => {
    await run(
      fc.asyncProperty(badQueryNumber, async (q) =>
        expectClientError(
          await rawRequest(admin.url, {
            method: 'PUT',
            path: `/internal/admin/v1/waiting-queue/token-count-to-move?tokenCountToMove=${encodeURIComponent(q).replace('%25E0', '%E0')}`,
            headers: adminAuth,
          }),
          q,
        ),
      ),
    );
    await run(
      fc.asyncProperty(badBody, contentType, async (body, ct) => {
        expectClientError(
          await rawRequest(admin.url, {
            method: 'PUT',
            path: '/internal/admin/v1/waiting-queue/token-count-to-move',
            headers: { ...adminAuth, 'content-type': ct },
            body,
          }),
          `N ${body.slice(0, 50)}`,
        );
        expectClientError(
          await rawRequest(admin.url, {
            method: 'POST',
            path: '/internal/admin/v1/waiting-item/p1/manually',
            headers: { ...adminAuth, 'content-type': ct },
            body,
          }),
          `item ${body.slice(0, 50)}`,
        );
      }),
    );
    await run(
      // (An empty body is a valid default search, so it is not in this set.)
      fc.asyncProperty(
        badBody.filter((b) => b !== '' && (b.includes('searchAll') || b.startsWith('[') || !b.startsWith('{'))),
        async (body) =>
          expectClientError(
            await rawRequest(admin.url, {
              method: 'POST',
              path: '/internal/admin/v1/waiting-queue/token-count',
              headers: { ...adminAuth, 'content-type': 'application/json' },
              body,
            }),
            body.slice(0, 50),
          ),
      ),
    );
    await run(
      fc.asyncProperty(badSegment, async (seg) => {
        expectClientError(
          await rawRequest(admin.url, { path: `/internal/admin/v1/waiting-item/${seg}`, headers: adminAuth }),
          seg,
        );
        const body = JSON.stringify({ itemName: 'x', remainCount: 1, waitingQueueEnabled: true });
        expectClientError(
          await rawRequest(admin.url, {
            method: 'POST',
            path: `/internal/admin/v1/waiting-item/${seg}/manually`,
            headers: { ...adminAuth, 'content-type': 'application/json' },
            body,
          }),
          seg,
        );
      }),
    );
    await run(
      fc.asyncProperty(
        fc.oneof(
          fc.constant(''),
          badHeader.map((h) => `Bearer ${h}`),
          fc.constant(`Bearer ${INTERNAL}`),
          fc.constant(`bearer ${ADMIN}`),
          fc.constant(`Bearer ${ADMIN}x`),
        ),
        async (auth) =>
          expectClientError(
            await rawRequest(admin.url, {
              method: 'PUT',
              path: '/internal/admin/v1/waiting-queue/token-count-to-move?tokenCountToMove=0',
              headers: { authorization: auth },
            }),
            auth,
          ),
      ),
    );
  });

  test('Redis holds the same keys and values after all of it (snapshot taken right after seeding)', async () => {
    const before = initial;
    // One more mixed round, then compare with the state before every property above.
    await run(
      fc.asyncProperty(badSegment, badBody, async (seg, body) => {
        expectClientError(
          await rawRequest(api.url, {
            method: 'POST',
            path: `/api/v1/item/${seg}/waiting-queue`,
            headers: { 'user-id': 'x' },
          }),
          seg,
        );
        expectClientError(
          await rawRequest(admin.url, {
            method: 'POST',
            path: '/internal/admin/v1/waiting-item/p1/manually',
            headers: { ...adminAuth, 'content-type': 'application/json' },
            body,
          }),
          body.slice(0, 50),
        );
      }),
    );
    const after = await snapshotRedis(env.client);
    // Not an empty comparison: the seeded queue and admission are there.
    expect(Object.keys(before).length).toBeGreaterThanOrEqual(4);
    expect(after).toEqual(before);
  });
});
