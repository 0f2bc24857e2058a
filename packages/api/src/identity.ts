import type { IncomingHttpHeaders } from 'node:http';
import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { WqError } from '@waiting-queue/shared';

/** The header that carries the shopper's id, set by the trusted gateway (the original service's contract). */
export const USER_ID_HEADER = 'user-id';

/** Where the shopper's userId comes from: the gateway's `user-id` header, or a verified bearer JWT's `sub`. */
export interface Identity {
  /**
   * The request's userId (unvalidated: the caller checks its form).
   * @throws WqError 401 `UNAUTHORIZED` in JWT mode when the bearer token is missing, invalid or expired.
   */
  userId(headers: IncomingHttpHeaders): Promise<unknown> | unknown;
}

/** Header mode: trusts `user-id`, as the original service did behind its gateway. */
export const headerIdentity: Identity = { userId: (h) => h[USER_ID_HEADER] };

/**
 * JWT mode (jose): `Authorization: Bearer <jwt>` verified with an HS256 `secret` or a remote `jwksUrl`; the userId
 * is the token's `sub`. The `user-id` header is ignored in this mode, so a client cannot claim another id.
 */
export function jwtIdentity(o: { secret?: string; jwksUrl?: string; issuer?: string; audience?: string }): Identity {
  const key: Uint8Array | JWTVerifyGetKey = o.secret ? new TextEncoder().encode(o.secret) : createRemoteJWKSet(new URL(o.jwksUrl!));
  return {
    async userId(h) {
      const auth = h.authorization;
      if (!auth || !auth.startsWith('Bearer ')) throw new WqError('UNAUTHORIZED', 'a bearer token is required');
      try {
        const { payload } = await jwtVerify(auth.slice(7), key as Uint8Array, { issuer: o.issuer, audience: o.audience });
        return payload.sub;
      } catch {
        throw new WqError('UNAUTHORIZED', 'the bearer token is invalid or expired');
      }
    },
  };
}
