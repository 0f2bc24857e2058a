import { IdempotencyKeyReusedError, StoreUnavailableError } from './store-errors';

/**
 * Stable error codes of the public, internal and admin APIs, with the HTTP status each one maps to.
 * The first four are the wire contract's oldest codes, which clients already branch on; keep their statuses.
 */
export const ErrorCodes = {
  INVALID_PARAMETER: 400,
  UNAUTHORIZED: 401,
  TOKEN_MISMATCH: 403,
  NOT_FOUND: 404,
  WAITING_QUEUE_NOT_FOUND: 404,
  WAITING_ITEM_NOT_FOUND: 404,
  ITEM_CANNOT_USE_WAITING_QUEUE: 409,
  /** 409 on consume; the reservation API answers it with 403 (a status override, see {@link WqError}). */
  NOT_ADMITTED: 409,
  /** A TIME_DEAL before its startAt (`data.opensAt`, epoch ms). */
  ITEM_NOT_OPEN: 409,
  /** The item's waiting queue holds maxWaiting users. */
  QUEUE_FULL: 409,
  INSUFFICIENT_STOCK: 409,
  /** The quantity exceeds what maxPerUser still allows this user. */
  LIMIT_EXCEEDED: 409,
  SOLD_OUT: 409,
  ALREADY_CLAIMED: 409,
  /** Claims on an item whose queueMode is not DIRECT. */
  ITEM_NOT_DIRECT: 409,
  RESERVATION_NOT_FOUND: 404,
  /** Confirm or cancel of a reservation that is no longer PENDING (`data.status`). */
  RESERVATION_NOT_PENDING: 409,
  RESERVATION_EXPIRED: 410,
  /** If-Match does not match the item's ETag, or a stock set on an existing item comes without If-Match. */
  PRECONDITION_FAILED: 412,
  PAYLOAD_TOO_LARGE: 413,
  /** The Idempotency-Key was used for another request (another route, body, parameters or caller). */
  IDEMPOTENCY_KEY_REUSED: 422,
  UNSUPPORTED_MEDIA_TYPE: 415,
  TOO_MANY_REQUESTS: 429,
  UNKNOWN: 500,
  SERVICE_UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/**
 * Codes that some routes answer with another status than {@link ErrorCodes} gives (one code, two contracts):
 * NOT_ADMITTED is 409 on consume and 403 on reservations. Only these pairs are allowed.
 */
export const ErrorCodeAlternateStatus: Partial<Record<ErrorCode, readonly number[]>> = { NOT_ADMITTED: [403] };

/** What a {@link WqError} carries besides its code and message. */
export interface WqErrorOptions {
  /** Response headers to add, e.g. `Retry-After` (seconds). Default none. */
  headers?: Record<string, string>;
  /** The envelope's `data` (e.g. `{itemId, opensAt}`). Default null. */
  data?: Record<string, unknown> | null;
  /** HTTP status when the route answers the code with another one than {@link ErrorCodes} gives; only the pairs of {@link ErrorCodeAlternateStatus}. */
  status?: number;
}

/**
 * An error that the HTTP layer turns into the envelope `{state:"FAIL", errorCode, errorMessage, data}` with the
 * code's status, or with `options.status` when given (one code, two contracts: NOT_ADMITTED is 409 on consume, 403
 * on reservations). `headers` are added to the response (e.g. `Retry-After`).
 *
 * It carries no stack trace: it is an expected answer (bad input, not admitted, sold out), not a bug, and capturing
 * the stack was about a tenth of the CPU of a 4xx answer on the fast path (measured with --cpu-prof).
 */
export class WqError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly data: Record<string, unknown> | null;
  constructor(
    readonly errorCode: ErrorCode,
    message: string,
    options: WqErrorOptions = {},
  ) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.name = 'WqError';
    this.headers = options.headers ?? {};
    this.data = options.data ?? null;
    this.status = options.status ?? ErrorCodes[errorCode];
  }
}

/**
 * Replies of a Redis Cluster (or replica) that mean "not here, not now", never "wrong": the command did not run
 * on the node that answered (MOVED/ASK: the slot lives elsewhere; CLUSTERDOWN/TRYAGAIN: the slot is being failed
 * over or migrated; LOADING: the node is loading its data; MASTERDOWN/READONLY: a replica answered, its master is
 * gone or it was a master a moment ago; NOREPLICAS: min-replicas-to-write is not met). With auto-pipelining,
 * ioredis hands a batch's MOVED/ASK replies to the caller as they are when the batch mixes slots.
 */
const TRANSIENT_REPLY = /^(MOVED|ASK|CLUSTERDOWN|TRYAGAIN|LOADING|MASTERDOWN|READONLY|NOREPLICAS)\b/;

/**
 * True when `err` comes from an unreachable, not-ready or failing-over Redis: ioredis offline / connection /
 * timeout errors and the transient cluster replies of {@link TRANSIENT_REPLY}. Such an error becomes 503
 * `SERVICE_UNAVAILABLE` with `Retry-After` (see {@link toWqError}), logged at warn.
 */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const msg = err.message;
  return (
    TRANSIENT_REPLY.test(msg) ||
    msg.includes("Stream isn't writeable") ||
    msg.includes('Connection is closed') ||
    msg.includes('ECONNREFUSED') ||
    msg.includes('ECONNRESET') ||
    msg.includes('ETIMEDOUT') ||
    msg.includes('EPIPE') ||
    msg.includes('Reached the max retries per request limit') ||
    msg.includes('LOADING') ||
    msg.includes('CLUSTERDOWN') ||
    msg.includes('TRYAGAIN') ||
    msg.includes("Cluster isn't ready") ||
    msg.includes('None of startup nodes is available') ||
    msg.includes('Too many Cluster redirections') ||
    msg.includes('Failed to refresh slots cache') ||
    msg.includes('Command timed out') ||
    err.name === 'MaxRetriesPerRequestError'
  );
}

/**
 * Maps any error to a {@link WqError}: ours pass through; the stores' errors get their code (an Idempotency-Key
 * reused: 422 `IDEMPOTENCY_KEY_REUSED`; a store that cannot answer for certain: 503 `SERVICE_UNAVAILABLE` with
 * `Retry-After: 1`, its message kept); Redis outages become 503 `SERVICE_UNAVAILABLE` with `Retry-After: 1`;
 * anything else becomes 500 `UNKNOWN` (a bug: it is logged by the caller).
 */
export function toWqError(err: unknown): WqError {
  if (err instanceof WqError) return err;
  if (err instanceof IdempotencyKeyReusedError) return new WqError('IDEMPOTENCY_KEY_REUSED', err.message);
  if (err instanceof StoreUnavailableError)
    return new WqError('SERVICE_UNAVAILABLE', err.message, { headers: { 'Retry-After': '1' } });
  if (isRedisUnavailable(err)) {
    return new WqError('SERVICE_UNAVAILABLE', 'the waiting room store is unavailable, retry shortly', {
      headers: { 'Retry-After': '1' },
    });
  }
  return new WqError('UNKNOWN', 'internal error');
}
