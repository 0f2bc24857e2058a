import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK, type KeyLike } from 'jose';
import { keys } from '@waiting-queue/core/keys';
import { type RedisClient } from '@waiting-queue/core/redis';

/** Redis key of the generated signing key (when ENTRY_PASS_PRIVATE_JWK is not configured). */
export const ENTRY_PASS_KEY = keys.entryPassKey;
export const ENTRY_PASS_ALG = 'ES256';
export const ENTRY_PASS_ISSUER = 'waiting-queue';

/** What an entry pass says: the admission of `sub` (userId) to `aud` (itemId), by token `jti`, until `exp`. */
export interface EntryPassClaims {
  itemId: string;
  userId: string;
  token: string;
  /** Admission expiry, epoch ms. */
  expiresAtMs: number;
}

/** Where an {@link EntryPassIssuer} gets its keys. */
export interface EntryPassIssuerOptions {
  /** Holds the key generated in development (no `configured`), shared by all api processes. */
  redis: RedisClient;
  /** ENTRY_PASS_PRIVATE_JWK: the signing key, a private EC P-256 JWK as JSON; absent: DEV_MODE's generated key. */
  configured?: string;
  /** ENTRY_PASS_PUBLIC_JWKS: public keys of earlier signing keys (a JWK Set or a JSON array of JWKs). */
  olderPublic?: string;
}

/**
 * Signs entry passes: short-lived JWTs (ES256) that an order service can verify offline against the api's
 * `/.well-known/jwks.json`, as AWS's Virtual Waiting Room does with its signed admission. The pass lives as long as
 * the admission (`exp` = admission expiry); the internal consume still enforces one use per token.
 */
export class EntryPassIssuer {
  private readonly cache = new Map<string, string>();

  private constructor(
    private readonly privateKey: KeyLike | Uint8Array,
    private readonly publicJwk: JWK,
    private readonly olderPublicJwks: JWK[],
  ) {}

  /**
   * Loads the signing key: `configured` (a private EC P-256 JWK as JSON), else one generated once and shared by all
   * api processes through Redis (SET NX), so every process signs with the same key (DEV_MODE only: outside it,
   * the configuration requires ENTRY_PASS_PRIVATE_JWK).
   * `olderPublic` (ENTRY_PASS_PUBLIC_JWKS) is published with the current key so that passes signed before a rotation
   * keep verifying.
   * @throws when `configured` is not a usable P-256 private JWK, or `olderPublic` is not a list of public EC P-256 JWKs.
   */
  static async create({ redis, configured, olderPublic }: EntryPassIssuerOptions): Promise<EntryPassIssuer> {
    let json = configured;
    if (!json) {
      const { privateKey } = await generateKeyPair(ENTRY_PASS_ALG, { extractable: true });
      await redis.set(ENTRY_PASS_KEY, JSON.stringify(await exportJWK(privateKey)), 'NX');
      json = (await redis.get(ENTRY_PASS_KEY)) ?? undefined;
      if (!json) throw new Error('entry pass key missing from Redis');
    }
    const jwk = JSON.parse(json) as JWK;
    if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || !jwk.d)
      throw new Error('ENTRY_PASS_PRIVATE_JWK must be a private EC P-256 JWK');
    const privateKey = await importJWK(jwk, ENTRY_PASS_ALG);
    const { d: _d, ...pub } = jwk;
    const kid = await calculateJwkThumbprint(pub);
    const current: JWK = { ...pub, kid, alg: ENTRY_PASS_ALG, use: 'sig' };
    const older = await EntryPassIssuer.parsePublicJwks(olderPublic);
    return new EntryPassIssuer(
      privateKey,
      current,
      older.filter((k) => k.kid !== kid),
    );
  }

  /**
   * The public JWKs of ENTRY_PASS_PUBLIC_JWKS, each with its RFC 7638 thumbprint as `kid` (as the signing key).
   * @throws Error when the value is not JSON, not a list, or holds a key that is not a public EC P-256 JWK.
   */
  private static async parsePublicJwks(value: string | undefined): Promise<JWK[]> {
    if (value === undefined) return [];
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      throw new Error('ENTRY_PASS_PUBLIC_JWKS must be JSON: a JWK Set {"keys":[...]} or an array of JWKs');
    }
    const list = Array.isArray(parsed) ? parsed : (parsed as { keys?: unknown })?.keys;
    if (!Array.isArray(list))
      throw new Error('ENTRY_PASS_PUBLIC_JWKS must be a JWK Set {"keys":[...]} or an array of JWKs');
    const keys: JWK[] = [];
    for (const raw of list as JWK[]) {
      if (
        raw?.kty !== 'EC' ||
        raw.crv !== 'P-256' ||
        typeof raw.x !== 'string' ||
        typeof raw.y !== 'string' ||
        raw.d !== undefined
      ) {
        throw new Error(
          'ENTRY_PASS_PUBLIC_JWKS: every key must be a public EC P-256 JWK (kty EC, crv P-256, x, y, no d)',
        );
      }
      const pub: JWK = { kty: raw.kty, crv: raw.crv, x: raw.x, y: raw.y };
      await importJWK(pub, ENTRY_PASS_ALG); // throws on a point that is not on the curve
      // The kid is the thumbprint, as for the signing key, so a key keeps its kid when it moves here.
      keys.push({ ...pub, kid: await calculateJwkThumbprint(pub), alg: ENTRY_PASS_ALG, use: 'sig' });
    }
    return keys;
  }

  /** The public key set to serve at `/.well-known/jwks.json`: the signing key first, then the older ones. */
  jwks(): { keys: JWK[] } {
    return { keys: [this.publicJwk, ...this.olderPublicJwks] };
  }

  /** A signed pass `{iss, sub: userId, aud: itemId, jti: token, iat, exp}`; the same string for the same admission. */
  async issue(c: EntryPassClaims): Promise<string> {
    const cacheKey = `${c.token}|${c.expiresAtMs}`;
    const hit = this.cache.get(cacheKey);
    if (hit) return hit;
    const jwt = await new SignJWT({})
      .setProtectedHeader({ alg: ENTRY_PASS_ALG, kid: this.publicJwk.kid, typ: 'JWT' })
      .setIssuer(ENTRY_PASS_ISSUER)
      .setSubject(c.userId)
      .setAudience(c.itemId)
      .setJti(c.token)
      .setIssuedAt()
      .setExpirationTime(Math.floor(c.expiresAtMs / 1000))
      .sign(this.privateKey);
    if (this.cache.size >= 10_000) this.cache.clear();
    this.cache.set(cacheKey, jwt);
    return jwt;
  }
}
