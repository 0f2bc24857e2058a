import { availableParallelism } from 'node:os';
import { loadConfig } from '@waiting-queue/core/config';

/** The secrets fail-closed start-up asks for outside DEV_MODE. */
const API_SECRETS = {
  INTERNAL_TOKEN: 'internal',
  TOKEN_SECRET: '0123456789abcdef0123456789abcdef',
  ENTRY_PASS_PRIVATE_JWK: '{}',
};

/** A scheduler's environment that passes the fail-closed rules, for the tests of variables both services read. */
const SCHEDULER = { ADMIN_TOKEN: 'admin' };

function configError(env: NodeJS.ProcessEnv, role: 'api' | 'scheduler' = 'scheduler'): string {
  try {
    loadConfig(env, role);
  } catch (err) {
    expect((err as Error).message).toMatch(/^invalid configuration:\n/);
    return (err as Error).message;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig', () => {
  test('an environment with only the secrets gives the defaults', () => {
    const api = loadConfig({ ...API_SECRETS }, 'api');
    expect(api).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      devMode: false,
      trustProxy: 0,
      logLevel: 'info',
      logRequests: false,
    });
    expect(api.redis.url).toBeUndefined();
    const scheduler = loadConfig({ ...SCHEDULER }, 'scheduler');
    expect(scheduler).toMatchObject({
      port: 8081,
      host: '127.0.0.1',
      devMode: false,
      tokenCountToMove: 10,
      admissionTtlMs: 300_000,
    });
  });

  test('a blank value counts as unset: the default, never 0', () => {
    const api = loadConfig({ ...API_SECRETS, API_PORT: '', REDIS_URL: ' ' }, 'api');
    expect(api.port).toBe(8080);
    expect(api.redis.url).toBeUndefined();
    const c = loadConfig({ ...SCHEDULER, TOKEN_COUNT_TO_MOVE: '   ', ENTRY_TTL_SECONDS: '\t' }, 'scheduler');
    expect(c.tokenCountToMove).toBe(10);
    expect(c.admissionTtlMs).toBe(300_000);
  });

  test('strings are trimmed and numbers parsed', () => {
    const api = loadConfig(
      { ...API_SECRETS, REDIS_URL: '  redis://h:1  ', API_PORT: '9090', DEV_MODE: 'true', TRUST_PROXY: 'true' },
      'api',
    );
    expect(api).toMatchObject({ port: 9090, devMode: true, trustProxy: 1 });
    expect(api.redis.url).toBe('redis://h:1');
    expect(loadConfig({ ...SCHEDULER, TOKEN_COUNT_TO_MOVE: '25' }, 'scheduler').tokenCountToMove).toBe(25);
    expect(loadConfig({ ...SCHEDULER, DEV_MODE: '0' }, 'scheduler').devMode).toBe(false);
    expect(loadConfig({ ...API_SECRETS, TRUST_PROXY: 'false' }, 'api').trustProxy).toBe(0);
  });

  test.each(['0', '65536', '-1', '80.5', 'http'])('refuses the port %j, naming the variable', (value) => {
    expect(configError({ ...SCHEDULER, ADMIN_PORT: value })).toMatch(/\n {2}ADMIN_PORT: /);
  });

  test('accepts the ports 1 and 65535', () => {
    expect(loadConfig({ ...API_SECRETS, API_PORT: '1' }, 'api').port).toBe(1);
    expect(loadConfig({ ...SCHEDULER, ADMIN_PORT: '65535' }, 'scheduler').port).toBe(65_535);
  });

  test('API_WORKERS: default (and blank) the number of cores; 1..N; 0 and non-integers refused, naming it', () => {
    expect(loadConfig({ ...API_SECRETS }, 'api').workers).toBe(availableParallelism());
    expect(loadConfig({ ...API_SECRETS, API_WORKERS: ' ' }, 'api').workers).toBe(availableParallelism());
    expect(loadConfig({ ...API_SECRETS, API_WORKERS: '1' }, 'api').workers).toBe(1);
    expect(loadConfig({ ...API_SECRETS, API_WORKERS: '8' }, 'api').workers).toBe(8);
    for (const value of ['0', '-2', '1.5', 'many'])
      expect(configError({ ...API_SECRETS, API_WORKERS: value }, 'api')).toMatch(/\n {2}API_WORKERS: /);
  });

  test('names every invalid variable, one per line', () => {
    const message = configError({ ...SCHEDULER, API_PORT: 'x', ENTRY_TTL_SECONDS: '0', LOG_LEVEL: 'loud' });
    const lines = message.split('\n').slice(1);
    expect(lines).toHaveLength(3);
    expect(message).toMatch(/API_PORT: /);
    expect(message).toMatch(/ENTRY_TTL_SECONDS: /);
    expect(message).toMatch(/LOG_LEVEL: /);
  });

  describe('fail-closed start-up', () => {
    test('the api refuses to start without its three secrets outside DEV_MODE, and says why for each', () => {
      const message = configError({}, 'api');
      expect(message).toMatch(/INTERNAL_TOKEN: required unless DEV_MODE=1 \(without it .+\)/);
      expect(message).toMatch(/TOKEN_SECRET: required unless DEV_MODE=1 \(without it .+\)/);
      expect(message).toMatch(/ENTRY_PASS_PRIVATE_JWK: required unless DEV_MODE=1 \(without it .+\)/);
      expect(message).not.toMatch(/ADMIN_TOKEN/);
    });

    test('the scheduler refuses to start without ADMIN_TOKEN outside DEV_MODE, and asks nothing of the api', () => {
      const message = configError({}, 'scheduler');
      expect(message).toMatch(/ADMIN_TOKEN: required unless DEV_MODE=1/);
      expect(message).not.toMatch(/INTERNAL_TOKEN|TOKEN_SECRET|ENTRY_PASS_PRIVATE_JWK/);
      expect(loadConfig({ ADMIN_TOKEN: 'a' }, 'scheduler').adminToken).toBe('a');
    });

    test('a blank secret is a missing secret', () => {
      expect(configError({ ...API_SECRETS, INTERNAL_TOKEN: '  ' }, 'api')).toMatch(/INTERNAL_TOKEN: required/);
    });

    test('DEV_MODE=1 (or true) lets both start without secrets', () => {
      expect(loadConfig({ DEV_MODE: '1' }, 'api').devMode).toBe(true);
      expect(loadConfig({ DEV_MODE: 'true' }, 'scheduler').devMode).toBe(true);
      expect(configError({ DEV_MODE: '0' }, 'scheduler')).toMatch(/ADMIN_TOKEN: required/);
    });

    test('the missing secrets are listed together with the invalid variables', () => {
      const message = configError({ API_PORT: '0' }, 'scheduler');
      expect(message).toMatch(/API_PORT: /);
      expect(message).toMatch(/ADMIN_TOKEN: required/);
    });

    test('with AUTH_JWKS_URL the api needs AUTH_JWT_AUDIENCE, even in DEV_MODE', () => {
      expect(configError({ ...API_SECRETS, AUTH_JWKS_URL: 'https://idp.example/jwks' }, 'api')).toMatch(
        /AUTH_JWT_AUDIENCE: required with AUTH_JWKS_URL/,
      );
      expect(configError({ DEV_MODE: '1', AUTH_JWKS_URL: 'https://idp.example/jwks' }, 'api')).toMatch(
        /AUTH_JWT_AUDIENCE: required/,
      );
      const c = loadConfig(
        { ...API_SECRETS, AUTH_JWKS_URL: 'https://idp.example/jwks', AUTH_JWT_AUDIENCE: 'waiting-queue' },
        'api',
      );
      expect(c.jwt?.audience).toBe('waiting-queue');
    });

    test('each service needs only its own secrets: the api starts without ADMIN_TOKEN', () => {
      expect(() => loadConfig({ ...API_SECRETS }, 'api')).not.toThrow();
    });
  });
});
