import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { v4 as uuidv4 } from 'uuid';
import { z } from 'zod';
import { WqError } from './errors';
import { packPlaceUuid, PLACE_MAC_BYTES, unpackPlaceUuid } from './place-token';

/**
 * The characters of an id (userId or itemId), unanchored: 1-64 of `[A-Za-z0-9_]`; `-` is reserved as the token
 * separator. The one source of the id rule: {@link ID_PATTERN}, the token and reservation-id patterns, the zod
 * schemas, the OpenAPI document and the page's `<input pattern>` are built from it.
 */
export const ID_CHARS = '[A-Za-z0-9_]{1,64}';
/** The unanchored uuid v4 of a token (lower-case hex, as `uuid` formats it). */
export const UUID_V4_CHARS = '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}';
/** userId and itemId: {@link ID_CHARS}, anchored. */
export const ID_PATTERN = new RegExp(`^${ID_CHARS}$`);
/** A waiting queue token `<userId>-<itemId>-<uuid v4>`, anchored. */
export const TOKEN_PATTERN = new RegExp(`^${ID_CHARS}-${ID_CHARS}-${UUID_V4_CHARS}$`);
/** A reservation id `<itemId>.<n>` (n: 1-16 digits, no leading zero), anchored. */
export const RESERVATION_ID_PATTERN = new RegExp(`^${ID_CHARS}\\.[1-9][0-9]{0,15}$`);
/** What the error messages and the document say of an id. */
export const ID_RULE = `1-64 characters of [A-Za-z0-9_]`;
const UUID_V4 = new RegExp(`^${UUID_V4_CHARS}$`);
/** zod schema of an id (userId or itemId): a string matching {@link ID_PATTERN}; zod's default message on failure. */
export const idSchema = z.string().regex(ID_PATTERN);

/**
 * Checks an id (userId or itemId) and returns it.
 * @throws WqError 400 `INVALID_PARAMETER` naming `what` when it is missing or not {@link ID_PATTERN}.
 */
export function requireId(value: unknown, what: 'userId' | 'itemId'): string {
  if (typeof value !== 'string' || !ID_PATTERN.test(value)) {
    throw new WqError('INVALID_PARAMETER', `${what} must be ${ID_RULE}`);
  }
  return value;
}

/** The parts of a waiting queue token `<userId>-<itemId>-<uuid v4>`. */
export interface ParsedToken {
  userId: string;
  itemId: string;
  uuid: string;
}

/**
 * Parses a token `<userId>-<itemId>-<uuid v4>` (the wire format).
 * @throws WqError 400 `INVALID_PARAMETER` when it is not of that form.
 */
export function parseToken(token: unknown): ParsedToken {
  if (typeof token === 'string' && token.length <= 64 + 1 + 64 + 1 + 36) {
    const first = token.indexOf('-');
    const second = first < 0 ? -1 : token.indexOf('-', first + 1);
    if (second > 0) {
      const userId = token.slice(0, first);
      const itemId = token.slice(first + 1, second);
      const uuid = token.slice(second + 1);
      if (ID_PATTERN.test(userId) && ID_PATTERN.test(itemId) && UUID_V4.test(uuid)) return { userId, itemId, uuid };
    }
  }
  throw new WqError('INVALID_PARAMETER', 'waitingQueueToken must be <userId>-<itemId>-<uuid v4>');
}

/**
 * Issues and checks the tokens of places in a queue, so that the waiting queue stores only `userId -> place` (about
 * 100 B per waiting user) and an api process knows a token's place without reading Redis.
 *
 * A token's uuid carries its place number and a 64-bit MAC (the first 8 bytes of HMAC-SHA256(secret,
 * `place-token \n itemId \n userId \n place`)), laid out as a RFC 9562 version-4 UUID by place-token.ts. To anyone
 * without the secret it cannot be forged; to us it is checkable from the token alone. The idea is the
 * stateless-token pattern of signed cookies / SYN cookies. Registering again after the place is gone (consumed or
 * expired) gives a new place, hence a new token.
 *
 * Tokens of the earlier format (uuid = the first 16 bytes of HMAC-SHA256(secret, `itemId \n userId \n seq`) as a
 * v4 UUID, without the place in clear) are still accepted by {@link matches}: their place has to be read from Redis.
 */
export class TokenCodec {
  private readonly secret: Buffer;
  private readonly previous: Buffer[];

  /**
   * @param secret at least 16 bytes; every api process of one deployment must use the same one. New tokens use it.
   * @param previous earlier secrets (TOKEN_SECRET_PREVIOUS), accepted by {@link matches} and {@link placeOf} only, so
   *   that tokens issued before a rotation keep working until their places are gone.
   * @throws Error when a secret is shorter than 16 bytes.
   */
  constructor(secret: string | Buffer, previous: ReadonlyArray<string | Buffer> = []) {
    const bytes = (s: string | Buffer) => {
      const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
      if (b.length < 16) throw new Error('token secret must be at least 16 bytes');
      return b;
    };
    this.secret = bytes(secret);
    this.previous = previous.map(bytes);
  }

  /** A fresh 32-byte secret, hex-encoded (64 characters). */
  static generateSecret(): string {
    return randomBytes(32).toString('hex');
  }

  /**
   * The uuid v4 of the place `seq` of `userId` in `itemId`'s queue.
   * @param seq the place number: a safe integer, or its decimal string as Redis returns it.
   * @throws RangeError when `seq` is not a safe integer.
   */
  uuidFor(itemId: string, userId: string, seq: number | string): string {
    const place = Number(seq);
    return packPlaceUuid(place, TokenCodec.placeMac(this.secret, itemId, userId, place));
  }

  /** The full token `<userId>-<itemId>-<uuid>`. @throws RangeError as {@link uuidFor}. */
  tokenFor(itemId: string, userId: string, seq: number | string): string {
    return `${userId}-${itemId}-${this.uuidFor(itemId, userId, seq)}`;
  }

  /**
   * The place a token carries, checked against its MAC (current secret, then the previous ones) without Redis.
   * @returns the place number, or undefined when the token carries no place (earlier format) or its MAC does not
   *   match (forged, or of an unknown secret). Whether the place is still held is for the queue to say.
   */
  placeOf(parsed: ParsedToken): number | undefined {
    const unpacked = unpackPlaceUuid(parsed.uuid);
    if (!unpacked) return undefined;
    for (const secret of [this.secret, ...this.previous]) {
      const expected = TokenCodec.placeMac(secret, parsed.itemId, parsed.userId, unpacked.place);
      if (timingSafeEqual(expected.subarray(0, PLACE_MAC_BYTES), unpacked.mac)) return unpacked.place;
    }
    return undefined;
  }

  /**
   * True when `uuid` is the one issued for that place: a place-carrying uuid whose place is `seq` and whose MAC
   * matches, or a uuid of the earlier format made for `seq` (compared in constant time); by the current secret or
   * one of the previous ones.
   */
  matches(parsed: ParsedToken, seq: number | string): boolean {
    const place = this.placeOf(parsed);
    if (place !== undefined) return place === Number(seq);
    if (this.matchesEarlier(parsed, seq, this.secret)) return true;
    for (const secret of this.previous) if (this.matchesEarlier(parsed, seq, secret)) return true;
    return false;
  }

  private static placeMac(secret: Buffer, itemId: string, userId: string, place: number): Buffer {
    return createHmac('sha256', secret).update(`place-token\n${itemId}\n${userId}\n${place}`).digest();
  }

  private matchesEarlier(parsed: ParsedToken, seq: number | string, secret: Buffer): boolean {
    const digest = createHmac('sha256', secret).update(`${parsed.itemId}\n${parsed.userId}\n${seq}`).digest();
    const expected = uuidv4({ random: digest.subarray(0, 16) });
    // Both strings are 36 ASCII characters, so a plain comparison leaks only timing on a public-format value;
    // still, compare without early exit.
    let diff = expected.length ^ parsed.uuid.length;
    for (let i = 0; i < expected.length; i++) diff |= expected.charCodeAt(i) ^ parsed.uuid.charCodeAt(i);
    return diff === 0;
  }
}
