import { createLocalJWKSet, jwtVerify, SignJWT, type JSONWebKeySet } from 'jose';
import { ItemStore } from '@waiting-queue/core/item-store';
import { QueueStore } from '@waiting-queue/core/queue-store';
import { type RedisClient } from '@waiting-queue/core/redis';
import { call, type ServiceProcess } from './helpers/processes';
import { useStack } from './helpers/stack';

/**
 * Security on real processes: registration rate limits (429 + Retry-After), JWT identity mode, and the
 * signed entry pass verified offline against the api's JWKS.
 */
describe('security', () => {
  const JWT_SECRET = 'security-test-secret-0123456789abcdef';
  const env = useStack({
    name: 'security-test',
    beforeServices: async ({ redis }) => {
      const items = new ItemStore(redis);
      for (const id of ['sec1', 'sec2', 'sec3'])
        await items.upsert(id, { itemName: id, remainCount: 100, waitingQueueEnabled: true });
    },
    services: [
      {
        name: 'api',
        env: {
          RATE_LIMIT_USER_POINTS: '3',
          RATE_LIMIT_USER_SECONDS: '30',
          RATE_LIMIT_IP_POINTS: '8',
          RATE_LIMIT_IP_SECONDS: '30',
          TRUST_PROXY: '1',
        },
      },
      { name: 'api', env: { AUTH_JWT_SECRET: JWT_SECRET } },
    ],
    startTimeoutMs: 60_000,
  });
  let redis: RedisClient;
  let queue: QueueStore;
  let limited: ServiceProcess;
  let jwtApi: ServiceProcess;
  let fence = 1;
  const admit = (itemId: string) =>
    queue.admit(itemId, { tokenCountToMove: 100, admissionTtlMs: 60_000, fence: fence++, tickMs: 1000 });

  beforeAll(() => {
    redis = env.redis;
    queue = new QueueStore(redis);
    [limited, jwtApi] = env.services;
  });

  const registerAs = (api: ServiceProcess, itemId: string, headers: Record<string, string>) =>
    call(`${api.url}/api/v1/item/${itemId}/waiting-queue`, { method: 'POST', headers });

  test('per-user limit: the 4th registration of one user within the window is 429 with Retry-After', async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await registerAs(limited, 'sec1', { 'user-id': 'hammer', 'x-forwarded-for': '10.0.0.1' })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const r = await registerAs(limited, 'sec1', { 'user-id': 'hammer', 'x-forwarded-for': '10.0.0.1' });
    expect(r.status).toBe(429);
    expect(r.body.errorCode).toBe('TOO_MANY_REQUESTS');
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Another user is not limited by the first one's count.
    expect((await registerAs(limited, 'sec1', { 'user-id': 'calm', 'x-forwarded-for': '10.0.0.2' })).status).toBe(200);
  });

  test('per-IP limit: many users from one IP are limited, another IP is not', async () => {
    const statuses = [];
    for (let i = 0; i < 10; i++)
      statuses.push(
        (await registerAs(limited, 'sec2', { 'user-id': `ipuser${i}`, 'x-forwarded-for': '10.9.9.9' })).status,
      );
    expect(statuses.slice(0, 8).every((s) => s === 200)).toBe(true);
    expect(statuses.slice(8)).toEqual([429, 429]);
    expect((await registerAs(limited, 'sec2', { 'user-id': 'elsewhere', 'x-forwarded-for': '10.8.8.8' })).status).toBe(
      200,
    );
  });

  test('JWT identity mode: the userId is the verified sub; no, bad or expired tokens are 401; the header is ignored', async () => {
    const key = new TextEncoder().encode(JWT_SECRET);
    const good = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('jwtuser')
      .setExpirationTime('5m')
      .sign(key);
    const expired = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('jwtuser')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(key);
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('jwtuser')
      .sign(new TextEncoder().encode('another-secret-0123456789abcdef0'));

    const ok = await registerAs(jwtApi, 'sec3', { authorization: `Bearer ${good}`, 'user-id': 'somebody_else' });
    expect(ok.status).toBe(200);
    expect(ok.body.data.waitingQueueToken.startsWith('jwtuser-sec3-')).toBe(true);
    const refused: Record<string, string>[] = [
      {},
      { 'user-id': 'jwtuser' },
      { authorization: `Bearer ${expired}` },
      { authorization: `Bearer ${forged}` },
      { authorization: 'Basic abc' },
    ];
    for (const headers of refused) {
      const r = await registerAs(jwtApi, 'sec3', headers);
      expect(r.status).toBe(401);
      expect(r.body.errorCode).toBe('UNAUTHORIZED');
    }
    const token = ok.body.data.waitingQueueToken;
    const polled = await call(`${jwtApi.url}/api/v1/item/sec3/waiting-queue/${token}`, {
      headers: { authorization: `Bearer ${good}` },
    });
    expect(polled.status).toBe(200);
    const otherSub = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('intruder')
      .setExpirationTime('5m')
      .sign(key);
    const stolen = await call(`${jwtApi.url}/api/v1/item/sec3/waiting-queue/${token}`, {
      headers: { authorization: `Bearer ${otherSub}` },
    });
    expect(stolen.status).toBe(403);
  });

  test('entry pass: admitted polls carry an ES256 JWT that verifies offline against /.well-known/jwks.json', async () => {
    const reg = await registerAs(limited, 'sec1', { 'user-id': 'passuser', 'x-forwarded-for': '10.0.0.3' });
    expect(reg.body.data.entryPass).toBeNull();
    const token = reg.body.data.waitingQueueToken;
    await admit('sec1');
    const polled = await call(`${limited.url}/api/v1/item/sec1/waiting-queue/${token}`, {
      headers: { 'user-id': 'passuser' },
    });
    expect(polled.body.data.canOrder).toBe(true);
    const pass = polled.body.data.entryPass as string;
    expect(typeof pass).toBe('string');

    // Both api processes share one signing key (kept in Redis), so either one's JWKS verifies the pass.
    for (const api of [limited, jwtApi]) {
      const jwks = (await (await fetch(`${api.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
      const { payload, protectedHeader } = await jwtVerify(pass, createLocalJWKSet(jwks), {
        issuer: 'waiting-queue',
        audience: 'sec1',
      });
      expect(protectedHeader.alg).toBe('ES256');
      expect(payload).toMatchObject({ sub: 'passuser', aud: 'sec1', jti: token });
      expect(payload.exp! * 1000).toBeLessThanOrEqual(polled.body.data.admissionExpiresAt);
      expect(payload.exp! * 1000).toBeGreaterThan(Date.now());
    }
    // A pass for another item does not verify with that item as audience.
    const jwks = (await (await fetch(`${limited.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
    await expect(jwtVerify(pass, createLocalJWKSet(jwks), { audience: 'sec2' })).rejects.toThrow();
    // The internal consume still enforces one use.
    expect(
      (await call(`${limited.url}/internal/v1/item/sec1/waiting-queue/${token}/consume`, { method: 'POST' })).status,
    ).toBe(200);
    expect(
      (await call(`${limited.url}/internal/v1/item/sec1/waiting-queue/${token}/consume`, { method: 'POST' })).status,
    ).toBe(409);
  });
});
