/**
 * Stable error codes of the public, internal and admin APIs, with the HTTP status each one maps to.
 * The first four come from the original Spring service; the rest are ours.
 */
export const ErrorCodes = {
  INVALID_PARAMETER: 400,
  UNAUTHORIZED: 401,
  TOKEN_MISMATCH: 403,
  NOT_FOUND: 404,
  WAITING_QUEUE_NOT_FOUND: 404,
  WAITING_ITEM_NOT_FOUND: 404,
  ITEM_CANNOT_USE_WAITING_QUEUE: 409,
  NOT_ADMITTED: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  TOO_MANY_REQUESTS: 429,
  UNKNOWN: 500,
  SERVICE_UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/**
 * An error that the HTTP layer turns into the envelope `{state:"FAIL", errorCode, errorMessage, data}` with the
 * code's status. `headers` are added to the response (e.g. `Retry-After`).
 */
export class WqError extends Error {
  readonly status: number;
  constructor(
    readonly errorCode: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly data: Record<string, unknown> | null = null,
  ) {
    super(message);
    this.name = 'WqError';
    this.status = ErrorCodes[errorCode];
  }
}

/** True when `err` comes from an unreachable or not-ready Redis (ioredis offline / connection errors). */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const msg = err.message;
  return (
    msg.includes("Stream isn't writeable") ||
    msg.includes('Connection is closed') ||
    msg.includes('ECONNREFUSED') ||
    msg.includes('ECONNRESET') ||
    msg.includes('Reached the max retries per request limit') ||
    msg.includes('LOADING') ||
    msg.includes('CLUSTERDOWN') ||
    msg.includes('TRYAGAIN') ||
    msg.includes('Cluster isn\'t ready') ||
    msg.includes('None of startup nodes is available') ||
    msg.includes('Command timed out') ||
    err.name === 'MaxRetriesPerRequestError'
  );
}

/**
 * Maps any error to a {@link WqError}: ours pass through, Redis outages become 503 `SERVICE_UNAVAILABLE` with
 * `Retry-After: 1`, anything else becomes 500 `UNKNOWN` (a bug: it is logged by the caller).
 */
export function toWqError(err: unknown): WqError {
  if (err instanceof WqError) return err;
  if (isRedisUnavailable(err)) {
    return new WqError('SERVICE_UNAVAILABLE', 'the waiting room store is unavailable, retry shortly', {
      'Retry-After': '1',
    });
  }
  return new WqError('UNKNOWN', 'internal error');
}
