import { SignJWT } from 'jose';
import { ItemStore } from '@waiting-queue/core/item-store';
import { connectRedis, type RedisClient } from '@waiting-queue/core/redis';
import { call, startService, type ServiceProcess } from './helpers/processes';
import { scrape } from './helpers/prometheus';
import { testRedis } from './helpers/redis';
import { startServices } from './helpers/services';
import { waitFor } from './helpers/waiting-room-client';

/**
 * "Identity never comes from what the client may set", on real processes and a real
 * redis-server: in JWT mode the lane comes from a verified claim, tokens need `exp` and a pinned algorithm, and a
 * JWKS needs an audience; the per-IP limit counts trusted proxy hops from the right of X-Forwarded-For; metric labels
 * are route templates whatever case the client types; a 503's log line holds no token.
 */
describe('identity at the edges (real processes)', () => {
  let env: Awaited<ReturnType<typeof testRedis>>;
  let down: Awaited<ReturnType<typeof testRedis>>;
  let redis: RedisClient;
  let jwtApi: ServiceProcess;
  let proxiedApi: ServiceProcess;
  let loneApi: ServiceProcess;
  const JWT_SECRET = 'identity-edges-secret-0123456789abcdef';
  const key = new TextEncoder().encode(JWT_SECRET);
  /** An HS256 token for `sub` with `claims`, valid 5 minutes. */
  const jwt = (sub: string, claims: Record<string, unknown> = {}) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('5m').sign(key);

  beforeAll(async () => {
    [env, down] = await Promise.all([testRedis(), testRedis()]);
    redis = await connectRedis({ url: env.url }, 'identity-edges-test');
    const items = new ItemStore(redis);
    await items.upsert('laned', {
      itemName: 'laned',
      remainCount: 100,
      waitingQueueEnabled: true,
      lanes: ['vip', 'regular'],
    });
    await items.upsert('plain', { itemName: 'plain', remainCount: 100, waitingQueueEnabled: true });
    [jwtApi, proxiedApi, loneApi] = await startServices([
      { name: 'api', env: { REDIS_URL: env.url, AUTH_JWT_SECRET: JWT_SECRET } },
      {
        name: 'api',
        env: { REDIS_URL: env.url, TRUST_PROXY: '1', RATE_LIMIT_IP_POINTS: '1', RATE_LIMIT_IP_SECONDS: '60' },
      },
      { name: 'api', env: { REDIS_URL: down.url } },
    ]);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([jwtApi?.stop(), proxiedApi?.stop(), loneApi?.stop()]);
    redis?.disconnect();
    await Promise.all([env?.stop(), down?.stop()]);
  });

  const registerAt = (api: ServiceProcess, itemId: string, headers: Record<string, string>) =>
    call(`${api.url}/api/v1/item/${itemId}/waiting-queue`, { method: 'POST', headers });

  test('JWT mode: the lane comes from the verified `tier` claim; a `user-tier: vip` header does not jump the queue', async () => {
    const ranks: Record<string, number> = {};
    for (const user of ['first', 'second'])
      ranks[user] = (
        await registerAt(jwtApi, 'laned', { authorization: `Bearer ${await jwt(user)}` })
      ).body.data.waitingQueueRank;
    // Third to register, with the header but no claim: behind the first two, as the last lane.
    const cheat = await registerAt(jwtApi, 'laned', {
      authorization: `Bearer ${await jwt('cheat')}`,
      'user-tier': 'vip',
    });
    expect(cheat.status).toBe(200);
    ranks.cheat = cheat.body.data.waitingQueueRank;
    // Fourth, with the claim: ahead of everyone.
    const vip = await registerAt(jwtApi, 'laned', {
      authorization: `Bearer ${await jwt('member', { tier: 'vip' })}`,
      'user-tier': 'regular',
    });
    ranks.member = vip.body.data.waitingQueueRank;
    expect(ranks).toEqual({ first: 1, second: 2, cheat: 3, member: 1 });
  });

  test('JWT mode: a lane claim that is no lane name (e.g. `gold-plus`) registers in the last lane, as an unknown lane does, not 400', async () => {
    // The shopper cannot change what the identity provider puts in the claim: a 400 would lock them out for good.
    for (const tier of ['gold-plus', 'Gold Member', 'x'.repeat(40)]) {
      for (const itemId of ['plain', 'laned']) {
        const r = await registerAt(jwtApi, itemId, {
          authorization: `Bearer ${await jwt(`odd_${tier.length}_${itemId}`, { tier })}`,
        });
        expect({ tier, itemId, status: r.status, errorCode: r.body.errorCode }).toEqual({
          tier,
          itemId,
          status: 200,
          errorCode: null,
        });
      }
    }
    // On the laned item they queue behind a vip who registers after them.
    const vip = await registerAt(jwtApi, 'laned', {
      authorization: `Bearer ${await jwt('late_vip', { tier: 'vip' })}`,
    });
    const odd = await call(`${jwtApi.url}/api/v1/item/laned/waiting-queue`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await jwt('odd_9_laned', { tier: 'gold-plus' })}` },
    });
    expect(odd.body.data.waitingQueueRank).toBeGreaterThan(vip.body.data.waitingQueueRank);
  });

  test('JWT mode: a token without exp, or signed with another algorithm than HS256, is 401', async () => {
    const noExp = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('forever').sign(key);
    const hs512 = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS512' })
      .setSubject('otheralg')
      .setExpirationTime('5m')
      .sign(key);
    for (const token of [noExp, hs512]) {
      const r = await registerAt(jwtApi, 'plain', { authorization: `Bearer ${token}` });
      expect({ status: r.status, errorCode: r.body.errorCode }).toEqual({ status: 401, errorCode: 'UNAUTHORIZED' });
    }
    // The control: the same user with exp and HS256 is served.
    expect((await registerAt(jwtApi, 'plain', { authorization: `Bearer ${await jwt('forever')}` })).status).toBe(200);
  });

  test('JWT mode with AUTH_JWKS_URL refuses to start without AUTH_JWT_AUDIENCE, naming it', async () => {
    const outcome = await startService(
      'api',
      { REDIS_URL: env.url, AUTH_JWKS_URL: 'http://127.0.0.1:9/jwks.json' },
      20_000,
    ).then(
      async (p) => {
        await p.stop();
        return 'started';
      },
      (err: Error) => err.message,
    );
    expect(outcome).toContain('AUTH_JWT_AUDIENCE: required with AUTH_JWKS_URL');
  }, 30_000);

  test('TRUST_PROXY=1: the per-IP limit takes the right-most X-Forwarded-For entry, so spoofed entries to its left change nothing', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      // The client wrote `203.0.113.i`; our one proxy appended the address it saw, 198.51.100.7.
      const r = await registerAt(proxiedApi, 'plain', {
        'user-id': `spoof${i}`,
        'x-forwarded-for': `203.0.113.${i}, 198.51.100.7`,
      });
      statuses.push(r.status);
    }
    expect(statuses).toEqual([200, 429, 429, 429]);
    // Another client behind the same proxy is counted on its own.
    expect(
      (await registerAt(proxiedApi, 'plain', { 'user-id': 'honest', 'x-forwarded-for': '198.51.100.8' })).status,
    ).toBe(200);
  });

  test('metrics: 300 case variants of an asset path and of the internal mount add no label values: labels are route templates', async () => {
    const labels = async () => {
      const m = await scrape(proxiedApi.url);
      return new Set(
        m.samples.filter((s) => s.name === 'http_request_duration_seconds_count').map((s) => s.labels.route),
      );
    };
    const variant = (path: string, i: number) =>
      path.replace(/[a-z]/g, (c, at: number) => ((i >> (at % 9)) & 1 ? c.toUpperCase() : c));
    // One request of each kind first, so that their templates exist before the variants (a variant of the file
    // name is not found: `unmatched`, one fixed label).
    await fetch(`${proxiedApi.url}/waiting-room-assets/waiting-room.css`);
    await fetch(`${proxiedApi.url}/internal/v1/reservations/1.1`);
    await fetch(`${proxiedApi.url}/nowhere`);
    await scrape(proxiedApi.url);
    const before = await labels();
    const sizeBefore = (await scrape(proxiedApi.url)).text.length;
    for (let i = 1; i <= 300; i++) {
      await fetch(`${proxiedApi.url}${variant('/waiting-room-assets/waiting-room.css', i)}`);
      await fetch(`${proxiedApi.url}${variant('/internal/v1/reservations/1.1', i)}`);
    }
    const after = await labels();
    expect([...after].filter((l) => !before.has(l))).toEqual([]);
    expect([...after].filter((l) => /assets/i.test(l))).toEqual(['/waiting-room-assets/*']);
    // Counts grow, series do not: a few bytes of new counts, not hundreds of series.
    expect((await scrape(proxiedApi.url)).text.length - sizeBefore).toBeLessThan(2000);
  }, 60_000);

  test('logs: the 503 of a poll with Redis down logs the route template and the request id, never the token', async () => {
    await down.server.stop();
    const token = 'tokenowner-plain-3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f';
    const r = await waitFor(
      'a 503',
      async () => {
        const reply = await call(`${loneApi.url}/api/v1/item/plain/waiting-queue/${token}`, {
          headers: { 'user-id': 'tokenowner', 'x-request-id': 'edge-503' },
        });
        return reply.status === 503 ? reply : undefined;
      },
      15_000,
      200,
    );
    expect(r.body.errorCode).toBe('SERVICE_UNAVAILABLE');
    const line = await waitFor('the 503 warning line', async () =>
      loneApi
        .output()
        .split('\n')
        .filter((l) => l.includes('"edge-503"'))
        .map((l) => JSON.parse(l))
        .find((l) => l.msg === 'SERVICE_UNAVAILABLE'),
    );
    expect(line).toMatchObject({ reqId: 'edge-503', route: '/api/v1/item/:itemId/waiting-queue/:waitingQueueToken' });
    expect(loneApi.output()).not.toContain('3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f');
  }, 30_000);
});
