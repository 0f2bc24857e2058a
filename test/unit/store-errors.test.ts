import { toWqError, WqError } from '@waiting-queue/core/errors';
import { IdempotencyKeyReusedError, StoreUnavailableError } from '@waiting-queue/core/store-errors';
import { parseItemIfMatch } from '@waiting-queue/http/request-headers';

/** The stores throw domain errors; the HTTP layer's toWqError gives each its envelope code, status and headers. */
describe('store errors at the HTTP boundary', () => {
  test('a reused Idempotency-Key is 422 IDEMPOTENCY_KEY_REUSED', () => {
    const wq = toWqError(new IdempotencyKeyReusedError());
    expect({ code: wq.errorCode, status: wq.status, message: wq.message }).toEqual({
      code: 'IDEMPOTENCY_KEY_REUSED',
      status: 422,
      message: 'this Idempotency-Key was used for another request',
    });
  });

  test('a store that cannot answer for certain is 503 SERVICE_UNAVAILABLE with Retry-After, its message kept', () => {
    const wq = toWqError(new StoreUnavailableError('the change was acknowledged by 0 of 1 replicas in time'));
    expect({ code: wq.errorCode, status: wq.status, headers: wq.headers, message: wq.message }).toEqual({
      code: 'SERVICE_UNAVAILABLE',
      status: 503,
      headers: { 'Retry-After': '1' },
      message: 'the change was acknowledged by 0 of 1 replicas in time',
    });
  });

  test('If-Match: * or one ETag of ours; anything else is 412 PRECONDITION_FAILED', () => {
    expect(parseItemIfMatch(undefined)).toBeUndefined();
    expect(parseItemIfMatch(' * ')).toBe('*');
    expect(parseItemIfMatch('"3.42"')).toEqual({ version: 3, remainCount: 42 });
    let thrown: unknown;
    try {
      parseItemIfMatch('W/"3.42"');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(WqError);
    expect((thrown as WqError).status).toBe(412);
  });
});
