import type { IncomingHttpHeaders } from 'node:http';
import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { WqError } from '@waiting-queue/core/errors';
import { LANE_PATTERN } from '@waiting-queue/core/item-store';

/** The header that carries the shopper's id, set by the trusted gateway (a wire name). */
export const USER_ID_HEADER = 'user-id';
/** Header with the shopper's priority lane (e.g. `vip`), honoured only in header mode, where the gateway sets it. */
export const USER_TIER_HEADER = 'user-tier';

/** Who the shopper is: the userId and the priority lane, both unvalidated (the caller checks their form). */
export interface Shopper {
  userId: unknown;
  /** The lane name, or undefined for the item's last lane. */
  lane: unknown;
}

/** Where the shopper's userId and lane come from: the gateway's headers, or a verified bearer JWT. */
export interface Identity {
  /**
   * The request's userId (unvalidated: the caller checks its form), or a promise of it (JWT mode verifies first).
   * @throws WqError 401 `UNAUTHORIZED` in JWT mode when the bearer token is missing, invalid or expired.
   */
  userId(headers: IncomingHttpHeaders): unknown;
  /**
   * The request's userId and priority lane, from one verification.
   * @throws WqError 401 `UNAUTHORIZED` in JWT mode when the bearer token is missing, invalid or expired.
   */
  shopper(headers: IncomingHttpHeaders): Promise<Shopper> | Shopper;
  /**
   * The request's userId when it is known without waiting (header mode), unvalidated; absent where it needs a
   * verification first (JWT mode): then only {@link userId} gives it.
   */
  userIdNow?(headers: IncomingHttpHeaders): unknown;
}

/**
 * Header mode: trusts `user-id` and `user-tier`, which the trusted gateway in front of the api must set or strip on
 * every request.
 */
export const headerIdentity: Identity = {
  userId: (h) => h[USER_ID_HEADER],
  userIdNow: (h) => h[USER_ID_HEADER],
  shopper: (h) => ({ userId: h[USER_ID_HEADER], lane: h[USER_TIER_HEADER] }),
};

/** Algorithms JWT mode accepts: HS256 with a shared secret; the usual asymmetric ones with a JWKS. */
export const JWT_SECRET_ALGORITHMS = ['HS256'];
export const JWKS_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];

/** What {@link jwtIdentity} verifies with. */
export interface JwtIdentityOptions {
  /** HS256 shared secret (AUTH_JWT_SECRET)… */
  secret?: string;
  /** …or the identity provider's JWKS URL (AUTH_JWKS_URL; then `audience` is required by the configuration). */
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
  /** The claim whose string value is the priority lane (AUTH_JWT_LANE_CLAIM, default `tier`). */
  laneClaim?: string;
}

/**
 * JWT mode (jose): `Authorization: Bearer <jwt>` verified with an HS256 `secret` or a remote `jwksUrl`, with the
 * algorithms pinned (no `none`, no HS/RS confusion), `exp` required, and issuer and audience checked when set. The
 * userId is the token's `sub` and the lane its `laneClaim`; the `user-id` and `user-tier` headers are ignored, so
 * a client can claim neither another id nor a better lane.
 */
export function jwtIdentity(o: JwtIdentityOptions): Identity {
  const key: Uint8Array | JWTVerifyGetKey = o.secret
    ? new TextEncoder().encode(o.secret)
    : createRemoteJWKSet(new URL(o.jwksUrl!));
  const algorithms = o.secret ? JWT_SECRET_ALGORITHMS : JWKS_ALGORITHMS;
  const laneClaim = o.laneClaim ?? 'tier';
  const verify = async (h: IncomingHttpHeaders): Promise<JWTPayload> => {
    const auth = h.authorization;
    if (!auth || !auth.startsWith('Bearer ')) throw new WqError('UNAUTHORIZED', 'a bearer token is required');
    try {
      const { payload } = await jwtVerify(auth.slice(7), key as Uint8Array, {
        algorithms,
        requiredClaims: ['exp'],
        issuer: o.issuer,
        audience: o.audience,
      });
      return payload;
    } catch {
      throw new WqError('UNAUTHORIZED', 'the bearer token is invalid or expired');
    }
  };
  return {
    async userId(h) {
      return (await verify(h)).sub;
    },
    async shopper(h) {
      const payload = await verify(h);
      const lane = payload[laneClaim];
      // A claim that is not a lane name (a list of roles, `gold-plus`) names no lane: the last lane, as without the
      // claim or with an unknown lane. Not a 400: the shopper cannot change what the identity provider signed.
      return { userId: payload.sub, lane: typeof lane === 'string' && LANE_PATTERN.test(lane) ? lane : undefined };
    },
  };
}
