/**
 * The bit layout of a token uuid that carries its place. Pure: no secret, no Redis; {@link TokenCodec} (ids.ts)
 * computes and checks the MAC.
 *
 * A uuid v4 has 122 free bits (RFC 9562: 4 version bits `0100` at bits 48-51, 2 variant bits `10` at bits 64-65).
 * They hold, most significant first:
 *
 * | bits | what |
 * |---|---|
 * | 4  | format tag {@link PLACE_TOKEN_TAG}: a uuid of another layout has it by chance once in 16, then fails the MAC |
 * | 54 | the place number, zigzag-encoded (0, -1, 1, -2, ... -> 0, 1, 2, 3, ...): every safe integer fits, and the |
 * |    | place number carries its lane (lua/includes/lanes.lua: lane r owns (-r * LANE_SPAN, (1 - r) * LANE_SPAN]) |
 * | 64 | a MAC over item, user and place (the first 8 bytes of an HMAC-SHA256) |
 *
 * The place number is readable by anyone holding the token (it is the shopper's own place); the MAC makes it
 * unforgeable.
 */

/** The format tag of a place-carrying uuid (4 bits). */
export const PLACE_TOKEN_TAG = 0xb;
/** Bytes of MAC a place-carrying uuid holds (64 bits). */
export const PLACE_MAC_BYTES = 8;

const MASK_62 = (1n << 62n) - 1n;
const MASK_12 = (1n << 12n) - 1n;
const MASK_54 = (1n << 54n) - 1n;
const MASK_64 = (1n << 64n) - 1n;

function zigzag(place: number): bigint {
  const n = BigInt(place);
  return n >= 0n ? n << 1n : (-n << 1n) - 1n;
}

function unzigzag(z: bigint): number {
  return Number(z & 1n ? -((z + 1n) >> 1n) : z >> 1n);
}

/** True when `place` is a number the layout holds: a safe integer. */
export function isEncodablePlace(place: number): boolean {
  return Number.isSafeInteger(place);
}

/**
 * Packs a place and its MAC into a lower-case uuid v4 string (36 characters).
 * @param place a safe integer (the place number, negative in a higher lane).
 * @param mac at least {@link PLACE_MAC_BYTES} bytes; the first 8 are used.
 * @throws RangeError when `place` is not a safe integer or `mac` is shorter than 8 bytes.
 */
export function packPlaceUuid(place: number, mac: Uint8Array): string {
  if (!isEncodablePlace(place)) throw new RangeError('a token place must be a safe integer');
  if (mac.length < PLACE_MAC_BYTES) throw new RangeError(`a token MAC must be at least ${PLACE_MAC_BYTES} bytes`);
  const macBits = Buffer.from(mac.subarray(0, PLACE_MAC_BYTES)).readBigUInt64BE(0);
  const payload = (BigInt(PLACE_TOKEN_TAG) << 118n) | (zigzag(place) << 64n) | macBits;
  const uuid =
    ((payload >> 74n) << 80n) | (4n << 76n) | (((payload >> 62n) & MASK_12) << 64n) | (2n << 62n) | (payload & MASK_62);
  const hex = uuid.toString(16).padStart(32, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Unpacks a uuid v4 string that {@link packPlaceUuid} could have made.
 * @param uuid a lower-case uuid v4 (as parseToken checks it).
 * @returns the place and the 8 MAC bytes, or undefined when the format tag is not {@link PLACE_TOKEN_TAG} (a uuid
 *   of another format). The MAC is not checked here.
 */
export function unpackPlaceUuid(uuid: string): { place: number; mac: Buffer } | undefined {
  const value = BigInt(`0x${uuid.replace(/-/g, '')}`);
  const payload = ((value >> 80n) << 74n) | (((value >> 64n) & MASK_12) << 62n) | (value & MASK_62);
  if (payload >> 118n !== BigInt(PLACE_TOKEN_TAG)) return undefined;
  const mac = Buffer.alloc(PLACE_MAC_BYTES);
  mac.writeBigUInt64BE(payload & MASK_64, 0);
  return { place: unzigzag((payload >> 64n) & MASK_54), mac };
}
