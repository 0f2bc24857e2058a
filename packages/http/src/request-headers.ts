import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { WqError } from '@waiting-queue/core/errors';
import type { IdempotentRequest } from '@waiting-queue/core/idempotency';
import type { ItemIfMatch } from '@waiting-queue/core/item-store';

/**
 * Parsers of the request headers that carry domain facts into the stores: Idempotency-Key and an item's If-Match.
 * HTTP side: a malformed header is a {@link WqError} with its envelope code.
 */

/** The Idempotency-Key header (lower case, as node:http gives it); idempotency.ts records what it names. */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';

const KEY_SYNTAX = /^[\x20-\x7e]{1,255}$/;

/**
 * The request's Idempotency-Key with its fingerprint, or undefined when it carries none.
 * @param headers the request's headers.
 * @param parts what identifies the request: the operation name, its path parameters, its (parsed) body and the
 *   caller's identity; JSON-serialised in order, then hashed.
 * A repeated header reaches us joined by ", " (node:http) and is taken as one key: its retry sends the same.
 * @throws WqError 400 `INVALID_PARAMETER` when the header is not 1-255 printable ASCII characters.
 */
export function idempotentRequest(headers: IncomingHttpHeaders, parts: unknown[]): IdempotentRequest | undefined {
  const raw = headers[IDEMPOTENCY_KEY_HEADER];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !KEY_SYNTAX.test(raw)) {
    throw new WqError('INVALID_PARAMETER', 'Idempotency-Key must be 1-255 printable ASCII characters');
  }
  return { key: raw, fingerprint: createHash('sha256').update(JSON.stringify(parts)).digest('hex') };
}

/**
 * Parses an `If-Match` header: `*` or one strong ETag of ours (`"<version>.<remainCount>"`).
 * @returns undefined when the header is absent or blank.
 * @throws WqError 412 `PRECONDITION_FAILED` for anything else (a weak or foreign ETag, a list): it can never match.
 */
export function parseItemIfMatch(header: string | undefined): ItemIfMatch | undefined {
  const v = header?.trim();
  if (!v) return undefined;
  if (v === '*') return '*';
  const m = /^"(\d{1,16})\.(\d{1,16})"$/.exec(v);
  if (!m)
    throw new WqError(
      'PRECONDITION_FAILED',
      'If-Match must be * or one ETag of this item as GET returns it, e.g. "3.42"',
    );
  return { version: Number(m[1]), remainCount: Number(m[2]) };
}
