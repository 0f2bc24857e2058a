import { loadConfig } from '@waiting-queue/shared';

/** The secrets fail-closed start-up asks for outside DEV_MODE. */
const API_SECRETS = {
  INTERNAL_TOKEN: 'internal',
  TOKEN_SECRET: '0123456789abcdef0123456789abcdef',
  ENTRY_PASS_PRIVATE_JWK: '{}',
};

function configError(env: NodeJS.ProcessEnv, role?: 'api' | 'scheduler'): string {
  try {
    loadConfig(env, role);
  } catch (err) {
    expect((err as Error).message).toMatch(/^invalid configuration:\n/);
    return (err as Error).message;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig', () => {
  test('an empty environment gives the defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      API_PORT: 8080,
      ADMIN_PORT: 8081,
      API_HOST: '0.0.0.0',
      ADMIN_HOST: '127.0.0.1',
      DEV_MODE: false,
    });
    expect(c).toMatchObject({
      TOKEN_COUNT_TO_MOVE: 10,
      ENTRY_TTL_SECONDS: 300,
      TRUST_PROXY: 0,
      LOG_LEVEL: 'info',
      LOG_REQUESTS: false,
    });
    expect(c.REDIS_URL).toBeUndefined();
  });

  test('a blank value counts as unset: the default, never 0', () => {
    const c = loadConfig({ API_PORT: '', TOKEN_COUNT_TO_MOVE: '   ', ENTRY_TTL_SECONDS: '\t', REDIS_URL: ' ' });
    expect(c.API_PORT).toBe(8080);
    expect(c.TOKEN_COUNT_TO_MOVE).toBe(10);
    expect(c.ENTRY_TTL_SECONDS).toBe(300);
    expect(c.REDIS_URL).toBeUndefined();
  });

  test('strings are trimmed and numbers parsed', () => {
    const c = loadConfig({
      REDIS_URL: '  redis://h:1  ',
      API_PORT: '9090',
      TOKEN_COUNT_TO_MOVE: '25',
      DEV_MODE: 'true',
      TRUST_PROXY: 'true',
    });
    expect(c).toMatchObject({
      REDIS_URL: 'redis://h:1',
      API_PORT: 9090,
      TOKEN_COUNT_TO_MOVE: 25,
      DEV_MODE: true,
      TRUST_PROXY: 1,
    });
    expect(loadConfig({ DEV_MODE: '0' }).DEV_MODE).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'false' }).TRUST_PROXY).toBe(0);
  });

  test.each(['0', '65536', '-1', '80.5', 'http'])('refuses the port %j, naming the variable', (value) => {
    expect(configError({ ADMIN_PORT: value })).toMatch(/\n {2}ADMIN_PORT: /);
  });

  test('accepts the ports 1 and 65535', () => {
    expect(loadConfig({ API_PORT: '1', ADMIN_PORT: '65535' })).toMatchObject({ API_PORT: 1, ADMIN_PORT: 65_535 });
  });

  test('names every invalid variable, one per line', () => {
    const message = configError({ API_PORT: 'x', ENTRY_TTL_SECONDS: '0', LOG_LEVEL: 'loud' });
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
      expect(loadConfig({ ADMIN_TOKEN: 'a' }, 'scheduler').ADMIN_TOKEN).toBe('a');
    });

    test('a blank secret is a missing secret', () => {
      expect(configError({ ...API_SECRETS, INTERNAL_TOKEN: '  ' }, 'api')).toMatch(/INTERNAL_TOKEN: required/);
    });

    test('DEV_MODE=1 (or true) lets both start without secrets', () => {
      expect(loadConfig({ DEV_MODE: '1' }, 'api').DEV_MODE).toBe(true);
      expect(loadConfig({ DEV_MODE: 'true' }, 'scheduler').DEV_MODE).toBe(true);
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
      expect(c.AUTH_JWT_AUDIENCE).toBe('waiting-queue');
    });

    test('without a role nothing is required', () => {
      expect(() => loadConfig({})).not.toThrow();
    });
  });
});
