import { loadConfig, redisTarget } from '@waiting-queue/core/config';

/**
 * The per-service configuration schemas, without processes: the environment's seconds become milliseconds, comma
 * lists become arrays, flags booleans, a blank variable is unset, and the DEV_MODE secret rules and the JWKS
 * audience rule are checked along with every invalid variable (fail-closed.test.ts checks the same on real
 * processes).
 */

const API_SECRETS = { INTERNAL_TOKEN: 'i', TOKEN_SECRET: 't', ENTRY_PASS_PRIVATE_JWK: '{}' };

/** The message of the error loadConfig throws. */
function errorOf(load: () => unknown): string {
  try {
    load();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('loadConfig did not throw');
}

describe('configuration schemas', () => {
  test('the scheduler: defaults, seconds as milliseconds, the broker list split and trimmed', () => {
    const c = loadConfig(
      { ADMIN_TOKEN: 'a', ENTRY_TTL_SECONDS: '5', KAFKA_BROKERS: ' k1:9092, ,k2:9092 ', ABANDON_AFTER_SECONDS: '30' },
      'scheduler',
    );
    expect(c.admissionTtlMs).toBe(5000);
    expect(c.abandonAfterMs).toBe(30_000);
    expect(c.reservationRetentionMs).toBe(86_400_000);
    expect(c.idempotency).toEqual({ ttlMs: 86_400_000, maxKeys: 100_000 });
    expect(c.kafka.brokers).toEqual(['k1:9092', 'k2:9092']);
    expect(c.tokenCountToMove).toBe(10);
    expect({ host: c.host, port: c.port, cron: c.cron }).toEqual({
      host: '127.0.0.1',
      port: 8081,
      cron: '* * * * * *',
    });
    expect(c.devMode).toBe(false);
  });

  test('the api: previous secrets as a list, reservation TTL in ms, rate limits, JWT mode only with a secret or JWKS', () => {
    const header = loadConfig(
      { ...API_SECRETS, TOKEN_SECRET_PREVIOUS: 'old1, old2', RESERVATION_TTL_SECONDS: '60', TRUST_PROXY: 'true' },
      'api',
    );
    expect(header.previousTokenSecrets).toEqual(['old1', 'old2']);
    expect(header.reservationTtlMs).toBe(60_000);
    expect(header.rateLimit).toEqual({
      user: { points: 0, durationSeconds: 10 },
      ip: { points: 0, durationSeconds: 1 },
    });
    expect(header.trustProxy).toBe(1);
    expect(header.jwt).toBeUndefined();
    const jwt = loadConfig({ ...API_SECRETS, AUTH_JWT_SECRET: 's', AUTH_JWT_LANE_CLAIM: 'plan' }, 'api');
    expect(jwt.jwt).toEqual({ secret: 's', laneClaim: 'plan' });
  });

  test('a blank variable is unset: its default, or missing', () => {
    const c = loadConfig(
      { DEV_MODE: '1', TOKEN_COUNT_TO_MOVE: ' ', REDIS_URL: '', REDIS_CLUSTER_NODES: '  ' },
      'scheduler',
    );
    expect(c.tokenCountToMove).toBe(10);
    expect(c.redis).toEqual({ url: undefined, clusterNodes: [], commandTimeoutMs: 5000 });
    expect(errorOf(() => loadConfig({ ...API_SECRETS, TOKEN_SECRET: '   ' }, 'api'))).toContain(
      'TOKEN_SECRET: required unless DEV_MODE=1',
    );
  });

  test('one error names every missing secret, the JWKS audience rule and every invalid variable', () => {
    const message = errorOf(() =>
      loadConfig({ AUTH_JWKS_URL: 'https://idp/jwks', API_PORT: '0', ENTRY_TTL_SECONDS: '0' }, 'api'),
    );
    for (const name of ['INTERNAL_TOKEN', 'TOKEN_SECRET', 'ENTRY_PASS_PRIVATE_JWK'])
      expect(message).toContain(`${name}: required unless DEV_MODE=1`);
    expect(message).toContain('AUTH_JWT_AUDIENCE: required with AUTH_JWKS_URL');
    expect(message).toContain('API_PORT: Number must be greater than or equal to 1');
    expect(message).toContain('ENTRY_TTL_SECONDS: Number must be greater than or equal to 1');
    expect(errorOf(() => loadConfig({}, 'scheduler'))).toContain('ADMIN_TOKEN: required unless DEV_MODE=1');
  });

  test('DEV_MODE lifts the secret rules, not the audience rule', () => {
    expect(loadConfig({ DEV_MODE: 'true' }, 'api').devMode).toBe(true);
    expect(loadConfig({ DEV_MODE: '1' }, 'scheduler').adminToken).toBeUndefined();
    expect(errorOf(() => loadConfig({ DEV_MODE: '1', AUTH_JWKS_URL: 'https://idp/jwks' }, 'api'))).toContain(
      'AUTH_JWT_AUDIENCE: required with AUTH_JWKS_URL',
    );
  });

  test('redisTarget reads only the Redis variables of an environment', () => {
    expect(redisTarget({ REDIS_CLUSTER_NODES: 'a:1,b:2', LOG_LEVEL: 'nonsense' })).toEqual({
      url: undefined,
      clusterNodes: ['a:1', 'b:2'],
      commandTimeoutMs: 5000,
    });
    expect(redisTarget({ REDIS_COMMAND_TIMEOUT_MS: '250' }).commandTimeoutMs).toBe(250);
    expect(() => redisTarget({ REDIS_COMMAND_TIMEOUT_MS: '50' })).toThrow();
  });

  test('group commit: on within one turn by default, a window of 0..2 ms, GROUP_COMMIT=0 turns it off', () => {
    expect(loadConfig(API_SECRETS, 'api').groupCommit).toEqual({ windowMs: 0 });
    expect(loadConfig({ ...API_SECRETS, GROUP_COMMIT_WINDOW_MS: '1.5' }, 'api').groupCommit).toEqual({ windowMs: 1.5 });
    expect(loadConfig({ ...API_SECRETS, GROUP_COMMIT: '0' }, 'api').groupCommit).toBe(false);
    expect(errorOf(() => loadConfig({ ...API_SECRETS, GROUP_COMMIT_WINDOW_MS: '3' }, 'api'))).toContain(
      'GROUP_COMMIT_WINDOW_MS',
    );
  });
});
