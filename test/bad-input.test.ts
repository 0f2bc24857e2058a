import { ItemStore } from '@waiting-queue/core/item-store';
import { keys } from '@waiting-queue/core/keys';
import { QueueStore } from '@waiting-queue/core/queue-store';
import { type RedisClient } from '@waiting-queue/core/redis';
import type { ServiceProcess } from './helpers/processes';
import { rawRequest, type RawRequestInit, type RawResponse } from './helpers/raw-http';
import { snapshotRedis, type RedisSnapshot } from './helpers/redis-snapshot';
import { useStack } from './helpers/stack';
import { expectSuccess, register } from './helpers/waiting-room-client';

/**
 * Malformed input over every endpoint of the api and the admin API, sent raw (node:http: no path
 * normalisation, duplicate headers, any body). Every answer must be a 4xx FAIL envelope with an errorCode, never
 * a 5xx, and Redis must hold exactly what it held before the batch.
 */
interface Case extends RawRequestInit {
  name: string;
  target: 'api' | 'admin';
  /** The status this case must get, when one is specific; otherwise any 4xx. */
  status?: number;
}

const ITEM = 'bi_item';
const USER = 'bi_user';
const A = '/internal/admin/v1';
/** Filled in beforeAll: a real token of USER on ITEM (admitted). */
const real = { token: 'set-in-beforeAll' };

const BAD_IDS: Record<string, string> = {
  dash: 'a-b',
  'unicode (é, percent-encoded)': '%C3%A9t%C3%A9',
  emoji: '%F0%9F%98%80',
  '65 characters': 'a'.repeat(65),
  'dot-dot': '..',
  'encoded traversal': '..%2F..%2Finternal',
  'percent garbage %E0': '%E0',
  'lone percent': '%',
  'bad hex %ZZ': '%ZZ',
  NUL: '%00',
  space: 'a%20b',
  'encoded slash': 'a%2Fb',
};

const BAD_TOKENS: Record<string, () => string> = {
  'no separators': () => 'garbage',
  'uppercase uuid': () => real.token.replace(/-([0-9a-f-]{36})$/, (m) => m.toUpperCase()),
  'uuid v1': () => `${USER}-${ITEM}-a8098c1a-f86e-11da-bd1a-00112444be1e`,
  'short uuid': () => real.token.slice(0, -1),
  'trailing junk': () => `${real.token}x`,
  '300 characters': () => 'a'.repeat(300),
  'unicode user': () => `%C3%A9-${ITEM}-${real.token.slice(-36)}`,
  'percent garbage %E0': () => `${real.token}%E0`,
  'dot-dot': () => '..',
  'empty user part': () => `-${ITEM}-${real.token.slice(-36)}`,
};

const BAD_USER_HEADERS: Record<string, string | string[] | undefined> = {
  missing: undefined,
  empty: '',
  dash: 'a-b',
  '65 characters': 'u'.repeat(65),
  'latin-1 é': 'caf\u00e9',
  'duplicate header': [USER, 'other_user'],
  'duplicate header, same value': [USER, USER],
  spaces: 'a b',
};

const MALFORMED_JSON = ['{', '{"a":', 'nul', "{'a':1}", '{"a":1,}', '[1,2', '"\\u00"', '{"a":1}}'];

function cases(): Case[] {
  const out: Case[] = [];
  const tok = () => real.token;
  const itemRoutes: {
    label: string;
    target: 'api' | 'admin';
    method: string;
    path: (id: string) => string;
    headers?: Record<string, string>;
  }[] = [
    {
      label: 'register',
      target: 'api',
      method: 'POST',
      path: (id) => `/api/v1/item/${id}/waiting-queue`,
      headers: { 'user-id': USER },
    },
    {
      label: 'poll',
      target: 'api',
      method: 'GET',
      path: (id) => `/api/v1/item/${id}/waiting-queue/${tok()}`,
      headers: { 'user-id': USER },
    },
    { label: 'validate', target: 'api', method: 'GET', path: (id) => `/internal/v1/item/${id}/waiting-queue/${tok()}` },
    {
      label: 'consume',
      target: 'api',
      method: 'POST',
      path: (id) => `/internal/v1/item/${id}/waiting-queue/${tok()}/consume`,
    },
    { label: 'upsert item', target: 'admin', method: 'POST', path: (id) => `${A}/waiting-item/${id}/manually` },
    { label: 'get item', target: 'admin', method: 'GET', path: (id) => `${A}/waiting-item/${id}` },
  ];
  const validItem = JSON.stringify({ itemName: 'x', remainCount: 1, waitingQueueEnabled: true });
  for (const r of itemRoutes) {
    for (const [what, id] of Object.entries(BAD_IDS)) {
      const body = r.label === 'upsert item' ? validItem : undefined;
      out.push({
        name: `${r.label}: itemId ${what}`,
        target: r.target,
        method: r.method,
        get path() {
          return r.path(id);
        },
        headers: { ...(r.headers ?? {}), ...(body ? { 'content-type': 'application/json' } : {}) },
        body,
      });
    }
    out.push({
      name: `${r.label}: empty itemId`,
      target: r.target,
      method: r.method,
      get path() {
        return r.path('');
      },
      headers: r.headers,
    });
  }
  // Bad tokens on every token route.
  const tokenRoutes: {
    label: string;
    method: string;
    path: (t: string) => string;
    headers?: Record<string, string>;
  }[] = [
    {
      label: 'poll',
      method: 'GET',
      path: (t) => `/api/v1/item/${ITEM}/waiting-queue/${t}`,
      headers: { 'user-id': USER },
    },
    { label: 'validate', method: 'GET', path: (t) => `/internal/v1/item/${ITEM}/waiting-queue/${t}` },
    { label: 'consume', method: 'POST', path: (t) => `/internal/v1/item/${ITEM}/waiting-queue/${t}/consume` },
  ];
  for (const r of tokenRoutes) {
    for (const [what, t] of Object.entries(BAD_TOKENS)) {
      out.push({
        name: `${r.label}: token ${what}`,
        target: 'api',
        method: r.method,
        get path() {
          return r.path(t());
        },
        headers: r.headers,
      });
    }
    out.push({
      name: `${r.label}: token of another item`,
      target: 'api',
      method: r.method,
      get path() {
        return r.path(tok()).replace(`/item/${ITEM}/`, '/item/bi_other/');
      },
      headers: r.headers,
      status: 403,
    });
  }
  // The user-id header of the public routes.
  for (const [what, value] of Object.entries(BAD_USER_HEADERS)) {
    const headers: Record<string, string | string[]> = value === undefined ? {} : { 'user-id': value };
    out.push({
      name: `register: user-id ${what}`,
      target: 'api',
      method: 'POST',
      path: `/api/v1/item/${ITEM}/waiting-queue`,
      headers,
      status: 400,
    });
    out.push({
      name: `poll: user-id ${what}`,
      target: 'api',
      method: 'GET',
      get path() {
        return `/api/v1/item/${ITEM}/waiting-queue/${tok()}`;
      },
      headers,
      status: 400,
    });
  }
  // Bodies: every route that parses JSON rejects malformed JSON, primitives, and oversize bodies.
  const bodyRoutes: {
    label: string;
    target: 'api' | 'admin';
    method: string;
    path: () => string;
    headers?: Record<string, string>;
  }[] = [
    {
      label: 'register',
      target: 'api',
      method: 'POST',
      path: () => `/api/v1/item/${ITEM}/waiting-queue`,
      headers: { 'user-id': 'body_user' },
    },
    {
      label: 'poll (GET with a body)',
      target: 'api',
      method: 'GET',
      path: () => `/api/v1/item/${ITEM}/waiting-queue/${tok()}`,
      headers: { 'user-id': USER },
    },
    {
      label: 'validate (GET with a body)',
      target: 'api',
      method: 'GET',
      path: () => `/internal/v1/item/${ITEM}/waiting-queue/${tok()}`,
    },
    {
      label: 'consume',
      target: 'api',
      method: 'POST',
      path: () => `/internal/v1/item/${ITEM}/waiting-queue/${tok()}/consume`,
    },
    { label: 'PUT N', target: 'admin', method: 'PUT', path: () => `${A}/waiting-queue/token-count-to-move` },
    { label: 'POST token-count', target: 'admin', method: 'POST', path: () => `${A}/waiting-queue/token-count` },
    { label: 'upsert item', target: 'admin', method: 'POST', path: () => `${A}/waiting-item/bi_new/manually` },
  ];
  const big = JSON.stringify({ itemName: 'x'.repeat(17 * 1024), remainCount: 1, waitingQueueEnabled: true });
  for (const r of bodyRoutes) {
    const json = { ...(r.headers ?? {}), 'content-type': 'application/json' };
    for (const body of MALFORMED_JSON) {
      out.push({
        name: `${r.label}: malformed JSON ${body}`,
        target: r.target,
        method: r.method,
        get path() {
          return r.path();
        },
        headers: json,
        body,
        status: 400,
      });
    }
    for (const body of ['5', '"text"', 'null', 'true']) {
      out.push({
        name: `${r.label}: JSON primitive ${body}`,
        target: r.target,
        method: r.method,
        get path() {
          return r.path();
        },
        headers: json,
        body,
        status: 400,
      });
    }
    out.push({
      name: `${r.label}: body over 16 KiB`,
      target: r.target,
      method: r.method,
      get path() {
        return r.path();
      },
      headers: json,
      body: big,
      status: 413,
    });
    out.push({
      name: `${r.label}: chunked body over 16 KiB`,
      target: r.target,
      method: r.method,
      get path() {
        return r.path();
      },
      headers: json,
      body: big,
      chunked: true,
      status: 413,
    });
    out.push({
      name: `${r.label}: unsupported charset`,
      target: r.target,
      method: r.method,
      get path() {
        return r.path();
      },
      headers: { ...json, 'content-type': 'application/json; charset=latin9' },
      body: '{}',
      status: 415,
    });
    out.push({
      name: `${r.label}: gzip content-encoding with a plain body`,
      target: r.target,
      method: r.method,
      get path() {
        return r.path();
      },
      headers: { ...json, 'content-encoding': 'gzip' },
      body: '{}',
      status: 400,
    });
  }
  // Admin bodies of the wrong shape: arrays where objects belong, prototype keys, wrong content types, bad queries.
  const adminShapes: [string, string, string, string][] = [
    ['PUT N', 'PUT', `${A}/waiting-queue/token-count-to-move`, '[5]'],
    ['PUT N', 'PUT', `${A}/waiting-queue/token-count-to-move`, '[{"tokenCountToMove":5}]'],
    ['PUT N', 'PUT', `${A}/waiting-queue/token-count-to-move`, '{"__proto__":{"tokenCountToMove":5}}'],
    ['PUT N', 'PUT', `${A}/waiting-queue/token-count-to-move`, '{"constructor":{"prototype":{"tokenCountToMove":5}}}'],
    ['PUT N', 'PUT', `${A}/waiting-queue/token-count-to-move`, '{"tokenCountToMove":5,"__proto__":{"x":1}}'],
    ['PUT N', 'PUT', `${A}/waiting-queue/token-count-to-move`, '{"tokenCountToMove":"5"}'],
    ['PUT N', 'PUT', `${A}/waiting-queue/token-count-to-move`, '{"tokenCountToMove":1e400}'],
    ['POST token-count', 'POST', `${A}/waiting-queue/token-count`, '[]'],
    ['POST token-count', 'POST', `${A}/waiting-queue/token-count`, '[{"searchAll":true}]'],
    ['POST token-count', 'POST', `${A}/waiting-queue/token-count`, '{"__proto__":{"searchAll":true}}'],
    ['POST token-count', 'POST', `${A}/waiting-queue/token-count`, '{"itemIdListToSearch":{"0":"bi_item"}}'],
    ['POST token-count', 'POST', `${A}/waiting-queue/token-count`, '{"itemIdListToSearch":["../x"]}'],
    ['upsert item', 'POST', `${A}/waiting-item/bi_new/manually`, '[]'],
    [
      'upsert item',
      'POST',
      `${A}/waiting-item/bi_new/manually`,
      '[{"itemName":"x","remainCount":1,"waitingQueueEnabled":true}]',
    ],
    [
      'upsert item',
      'POST',
      `${A}/waiting-item/bi_new/manually`,
      '{"itemName":"x","remainCount":1,"waitingQueueEnabled":true,"__proto__":{"admin":true}}',
    ],
    [
      'upsert item',
      'POST',
      `${A}/waiting-item/bi_new/manually`,
      '{"__proto__":{"itemName":"x","remainCount":1,"waitingQueueEnabled":true}}',
    ],
    [
      'upsert item',
      'POST',
      `${A}/waiting-item/bi_new/manually`,
      '{"itemName":"x","remainCount":1,"waitingQueueEnabled":true,"constructor":{}}',
    ],
    [
      'upsert item',
      'POST',
      `${A}/waiting-item/bi_new/manually`,
      '{"itemName":{"toString":"x"},"remainCount":1,"waitingQueueEnabled":true}',
    ],
    [
      'upsert item',
      'POST',
      `${A}/waiting-item/bi_new/manually`,
      '{"itemName":"x","remainCount":1e400,"waitingQueueEnabled":true}',
    ],
    [
      'upsert item',
      'POST',
      `${A}/waiting-item/bi_new/manually`,
      '{"itemName":"x","remainCount":-1,"waitingQueueEnabled":true}',
    ],
  ];
  for (const [label, method, path, body] of adminShapes) {
    out.push({
      name: `${label}: body ${body}`,
      target: 'admin',
      method,
      path,
      headers: { 'content-type': 'application/json' },
      body,
      status: 400,
    });
  }
  const wrongTypes: [string, string][] = [
    ['text/plain', '{"x":1}'],
    ['application/x-www-form-urlencoded', 'x=1'],
    ['multipart/form-data; boundary=xyz', '--xyz\r\nContent-Disposition: form-data; name="x"\r\n\r\n1\r\n--xyz--\r\n'],
    ['application/xml', '<x>1</x>'],
  ];
  const adminBodies: [string, string, string, string][] = [
    ['PUT N', 'PUT', `${A}/waiting-queue/token-count-to-move`, '{"tokenCountToMove":5}'],
    ['POST token-count', 'POST', `${A}/waiting-queue/token-count`, '{"searchAll":true}'],
    [
      'upsert item',
      'POST',
      `${A}/waiting-item/bi_new/manually`,
      '{"itemName":"x","remainCount":1,"waitingQueueEnabled":true}',
    ],
  ];
  for (const [label, method, path, json] of adminBodies) {
    for (const [type, body] of wrongTypes) {
      out.push({
        name: `${label}: content-type ${type}`,
        target: 'admin',
        method,
        path,
        headers: { 'content-type': type },
        body: type === 'text/plain' ? json : body,
        status: 400,
      });
    }
    out.push({
      name: `${label}: JSON body without content-type`,
      target: 'admin',
      method,
      path,
      body: json,
      status: 400,
    });
    // node:http keeps the first Content-Type of duplicates.
    out.push({
      name: `${label}: duplicate content-type (text/plain first)`,
      target: 'admin',
      method,
      path,
      headers: { 'content-type': ['text/plain', 'application/json'] },
      body: json,
      status: 400,
    });
  }
  for (const q of ['-1', '1.5', 'abc', '', '%E0', '%', '1&tokenCountToMove=2', '99999999', '1%00', '__proto__']) {
    out.push({
      name: `PUT N: query tokenCountToMove=${q}`,
      target: 'admin',
      method: 'PUT',
      path: `${A}/waiting-queue/token-count-to-move?tokenCountToMove=${q}`,
      status: 400,
    });
  }
  out.push({
    name: 'PUT N: query __proto__[tokenCountToMove]=5',
    target: 'admin',
    method: 'PUT',
    path: `${A}/waiting-queue/token-count-to-move?__proto__[tokenCountToMove]=5`,
    status: 400,
  });
  // Unknown routes and methods, traversal out of the API prefixes.
  const unknown: [Case['target'], string, string][] = [
    ['api', 'DELETE', `/api/v1/item/${ITEM}/waiting-queue`],
    ['api', 'PUT', `/api/v1/item/${ITEM}/waiting-queue`],
    ['api', 'GET', `/api/v1/item/${ITEM}/waiting-queue`],
    ['api', 'GET', '/api/v1/item/../../internal/admin/v1/waiting-queue/token-count'],
    ['api', 'GET', `/api/v1/item/${ITEM}/waiting-queue/a/b`],
    ['api', 'GET', '/%E0'],
    ['api', 'GET', '/api/v2/item/x/waiting-queue'],
    ['admin', 'DELETE', `${A}/waiting-item/${ITEM}`],
    ['admin', 'POST', `${A}/waiting-queue/token-count-to-move`],
    ['admin', 'GET', `${A}/../../etc/passwd`],
    ['admin', 'GET', `${A}/waiting-item/%E0/manually`],
    ['admin', 'GET', '/internal/admin/v2/waiting-queue/token-count'],
  ];
  for (const [target, method, path] of unknown)
    out.push({ name: `${target}: ${method} ${path}`, target, method, path });
  // Ids that look like JavaScript object internals are plain ids: reads of them find nothing.
  out.push({
    name: 'register: item __proto__',
    target: 'api',
    method: 'POST',
    path: '/api/v1/item/__proto__/waiting-queue',
    headers: { 'user-id': 'constructor' },
    status: 409,
  });
  out.push({
    name: 'get item: __proto__',
    target: 'admin',
    method: 'GET',
    path: `${A}/waiting-item/__proto__`,
    status: 404,
  });
  out.push({
    name: 'get item: constructor',
    target: 'admin',
    method: 'GET',
    path: `${A}/waiting-item/constructor`,
    status: 404,
  });
  return out;
}

describe('malformed input over every endpoint', () => {
  // The scheduler's cron fires once a year: nothing but the requests below could change Redis.
  const env = useStack({
    name: 'bad-input-test',
    services: [
      { name: 'api', env: { LOG_LEVEL: 'warn' } },
      { name: 'scheduler', env: { SCHEDULER_CRON: '0 0 0 1 1 *', LOG_LEVEL: 'warn' } },
    ],
  });
  let redis: RedisClient;
  let services: ServiceProcess[] = [];
  let before: RedisSnapshot;
  const all = cases();

  beforeAll(async () => {
    redis = env.redis;
    services = env.services;
    const items = new ItemStore(redis);
    const queue = new QueueStore(redis);
    for (const id of [ITEM, 'bi_other'])
      await items.upsert(id, { itemName: id, remainCount: 10, waitingQueueEnabled: true });
    real.token = expectSuccess(await register(services[0].url, ITEM, USER)).waitingQueueToken;
    for (const u of ['w1', 'w2']) expectSuccess(await register(services[0].url, ITEM, u));
    await queue.admit(ITEM, { tokenCountToMove: 1, admissionTtlMs: 3_600_000, fence: 1, tickMs: 1000 });
    expectSuccess(await register(services[0].url, 'bi_other', USER));
    before = await snapshotRedis(env.client);
  }, 30_000);

  const baseUrl = (c: Case) => (c.target === 'api' ? services[0].url : services[1].url);

  test.each(all.map((c) => [c.name, c] as const))('%s → 4xx FAIL envelope with an errorCode', async (_name, c) => {
    const r: RawResponse = await rawRequest(baseUrl(c), c);
    const got = { status: r.status, errorCode: r.json?.errorCode ?? null };
    expect(got.status).toBeGreaterThanOrEqual(400);
    expect(got.status).toBeLessThan(500);
    if (c.status !== undefined) expect(got.status).toBe(c.status);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    expect(r.json).not.toBeNull();
    expect(Object.keys(r.json).sort()).toEqual(['data', 'errorCode', 'errorMessage', 'state']);
    expect(r.json.state).toBe('FAIL');
    expect(typeof r.json.errorCode).toBe('string');
    expect(r.json.errorCode.length).toBeGreaterThan(0);
    expect(typeof r.json.errorMessage).toBe('string');
    expect(r.json.data === null || typeof r.json.data === 'object').toBe(true);
  });

  test('Redis holds the same keys and values after the malformed batch', async () => {
    const after = await snapshotRedis(env.client);
    expect(after).toEqual(before);
    // The snapshot covers the seeded queues, so the comparison is not vacuous.
    expect(Object.keys(before)).toEqual(
      expect.arrayContaining([...keys.queue(ITEM), keys.itemRegistry, keys.tokenCountToMove, keys.tokenSecret]),
    );
    expect(before[keys.admitted(ITEM)].value).toHaveLength(1);
    expect(before[keys.waiting(ITEM)].value).toHaveLength(2);
  });
});
