import { ErrorCodes, WqError, isRedisUnavailable, toWqError } from '@waiting-queue/core/errors';

const redisOutages = [
  'MOVED 3999 127.0.0.1:6381',
  'ASK 3999 127.0.0.1:6381',
  'CLUSTERDOWN The cluster is down',
  'TRYAGAIN Multiple keys request during rehashing of slot',
  'LOADING Redis is loading the dataset in memory',
  'MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to no',
  "READONLY You can't write against a read only replica.",
  'NOREPLICAS Not enough good replicas to write.',
  "Stream isn't writeable and enableOfflineQueue options is false",
  'Connection is closed.',
  'connect ECONNREFUSED 127.0.0.1:6379',
  'read ECONNRESET',
  'connect ETIMEDOUT',
  'write EPIPE',
  'Reached the max retries per request limit (which is 20). Refer to "maxRetriesPerRequest" option for details.',
  "Cluster isn't ready and enableOfflineQueue options is false",
  'None of startup nodes is available',
  'Too many Cluster redirections. Last error: Error: MOVED 1 127.0.0.1:1',
  'Failed to refresh slots cache.',
  'Command timed out',
];

describe('isRedisUnavailable', () => {
  test.each(redisOutages)('an outage: %s', (message) => {
    expect(isRedisUnavailable(new Error(message))).toBe(true);
  });

  test('ioredis MaxRetriesPerRequestError counts by its name whatever its message', () => {
    const err = new Error('gave up');
    err.name = 'MaxRetriesPerRequestError';
    expect(isRedisUnavailable(err)).toBe(true);
  });

  test.each([
    "ERR wrong number of arguments for 'evalsha' command",
    'WRONGTYPE Operation against a key holding the wrong kind of value',
    'NOSCRIPT No matching script. Please use EVAL.',
    "Cannot read properties of undefined (reading 'x')",
    // A transient reply word counts at the start of the reply only, not inside another message.
    'ERR Error running script: ASKED for nothing',
  ])('not an outage: %s', (message) => {
    expect(isRedisUnavailable(new Error(message))).toBe(false);
  });

  test('anything that is not an Error is not an outage, even with an outage message', () => {
    expect(isRedisUnavailable('ECONNREFUSED')).toBe(false);
    expect(isRedisUnavailable({ message: 'Connection is closed.' })).toBe(false);
    expect(isRedisUnavailable(undefined)).toBe(false);
    expect(isRedisUnavailable(null)).toBe(false);
  });
});

describe('toWqError', () => {
  test('passes a WqError through as it is', () => {
    const err = new WqError('SOLD_OUT', 'sold out', { data: { remainCount: 0 } });
    expect(toWqError(err)).toBe(err);
  });

  test('turns a Redis outage into 503 SERVICE_UNAVAILABLE with Retry-After: 1', () => {
    const err = toWqError(new Error('connect ECONNREFUSED 127.0.0.1:6379'));
    expect(err).toBeInstanceOf(WqError);
    expect(err.errorCode).toBe('SERVICE_UNAVAILABLE');
    expect(err.status).toBe(503);
    expect(err.headers).toEqual({ 'Retry-After': '1' });
  });

  test('turns anything else into 500 UNKNOWN without leaking its message', () => {
    for (const input of [new TypeError('x is not a function'), 'boom', 42, null]) {
      const err = toWqError(input);
      expect(err.errorCode).toBe('UNKNOWN');
      expect(err.status).toBe(500);
      expect(err.message).toBe('internal error');
    }
  });
});

describe('WqError', () => {
  test("takes its status from the code's table, unless a status is given", () => {
    expect(new WqError('NOT_ADMITTED', 'm').status).toBe(ErrorCodes.NOT_ADMITTED);
    expect(new WqError('NOT_ADMITTED', 'm', { status: 403 }).status).toBe(403);
    expect(new WqError('INVALID_PARAMETER', 'm').status).toBe(400);
  });

  test('carries no stack frames, and leaves Error.stackTraceLimit as it found it', () => {
    const before = Error.stackTraceLimit;
    const err = new WqError('INVALID_PARAMETER', 'bad');
    expect(Error.stackTraceLimit).toBe(before);
    expect(err.stack ?? '').not.toMatch(/\n\s+at /);
    expect(new Error('x').stack).toMatch(/\n\s+at /);
  });

  test('every code maps to a 4xx or 5xx status', () => {
    for (const status of Object.values(ErrorCodes)) {
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(600);
    }
  });
});
