/**
 * Idempotent writes (IETF httpapi draft "The Idempotency-Key HTTP Header Field"): every non-idempotent write
 * (consume, reserve, confirm, cancel, claim, restock, item upsert, the N change) may carry a key; the write's Lua
 * script records its reply under the key in the same atomic step as the change (lua/includes/idempotency.lua), so a
 * retry with the same key gets the first answer and changes nothing. Without a key a write behaves as it always did.
 * The header itself is read on the HTTP side (request-headers.ts).
 */
import { IdempotencyKeyReusedError } from './store-errors';
import type { RedisClient } from './redis';
import { callScript } from './scripts';

/** How long records live and how many one item (or the global N) keeps. */
export interface IdempotencyLimits {
  /** Lifetime of a record, milliseconds (IDEMPOTENCY_TTL_SECONDS x 1000). */
  ttlMs: number;
  /** Most records per item; beyond it the oldest go first (IDEMPOTENCY_MAX_KEYS). */
  maxKeys: number;
}

/** Defaults: 24 h, 100 000 records per item. */
export const DEFAULT_IDEMPOTENCY_LIMITS: IdempotencyLimits = { ttlMs: 86_400_000, maxKeys: 100_000 };

/** An Idempotency-Key and the fingerprint of the request that carries it. */
export interface IdempotentRequest {
  key: string;
  /** SHA-256 (hex) of what makes the request this request: operation, parameters, body, caller. */
  fingerprint: string;
}

/**
 * The four trailing ARGV of a write script (includes/idempotency.lua): key ('' for none), fingerprint, TTL ms,
 * most records.
 */
export function idempotencyArgs(req: IdempotentRequest | undefined, limits: IdempotencyLimits): (string | number)[] {
  return req === undefined ? ['', '', 0, 0] : [req.key, req.fingerprint, limits.ttlMs, limits.maxKeys];
}

/**
 * Runs a write script whose last two keys are `idemKeys` and whose last four ARGV are {@link idempotencyArgs}.
 * @returns the script's reply: the recorded one when `req`'s key has a record.
 * @throws IdempotencyKeyReusedError when the key was recorded for another request; the script's or the
 *   connection's errors as callScript.
 */
export async function callIdempotent<T>(
  redis: RedisClient,
  command: string,
  keys: string[],
  args: (string | number)[],
  idemKeys: [string, string],
  req: IdempotentRequest | undefined,
  limits: IdempotencyLimits,
): Promise<T> {
  const reply = await callScript<T>(redis, command, [...keys, ...idemKeys], [...args, ...idempotencyArgs(req, limits)]);
  if (Array.isArray(reply) && reply.length === 1 && reply[0] === 'IDEMPOTENCY_KEY_REUSED')
    throw new IdempotencyKeyReusedError();
  return reply;
}

/**
 * The reply recorded for `req`'s key, without changing anything: for writes whose checks before their script
 * would refuse the retry of a change that already happened (consume and reserve check the admission first).
 * @returns undefined when `req` is undefined or its key has no live record.
 * @throws IdempotencyKeyReusedError when the key was recorded for another request.
 */
export async function recordedReply<T>(
  redis: RedisClient,
  idemKeys: [string, string],
  req: IdempotentRequest | undefined,
): Promise<T | undefined> {
  if (req === undefined) return undefined;
  const raw = await callScript<[string, string?]>(redis, 'wq_idempotency_lookup', idemKeys, [req.key, req.fingerprint]);
  if (raw[0] === 'REUSED') throw new IdempotencyKeyReusedError();
  return raw[0] === 'REPLAY' ? (JSON.parse(String(raw[1])) as T) : undefined;
}
