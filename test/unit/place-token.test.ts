import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { v4 as uuidv4 } from 'uuid';
import { TokenCodec, parseToken } from '@waiting-queue/core/ids';
import { LANE_SPAN, MAX_LANES } from '@waiting-queue/core/lua-constants';
import { PLACE_TOKEN_TAG, packPlaceUuid, unpackPlaceUuid } from '@waiting-queue/core/place-token';

const SECRET = '0123456789abcdef0123456789abcdef';
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const id = fc.stringMatching(/^[A-Za-z0-9_]{1,64}$/);
/** Every place number the scripts hand out: lane r owns (-r * LANE_SPAN, (1 - r) * LANE_SPAN]. */
const lanePlace = fc
  .tuple(fc.integer({ min: 0, max: MAX_LANES - 1 }), fc.integer({ min: 1, max: LANE_SPAN }))
  .map(([r, n]) => n - r * LANE_SPAN);
const anyPlace = fc.oneof(lanePlace, fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }));
const mac8 = fc.uint8Array({ minLength: 8, maxLength: 8 });

/** The uuid bits that are not version or variant, as indices 0..127 from the most significant bit. */
const FREE_BITS = Array.from({ length: 128 }, (_, i) => i).filter((i) => !(i >= 48 && i < 52) && i !== 64 && i !== 65);

function flipBit(uuid: string, bit: number): string {
  const hex = uuid.replace(/-/g, '').split('');
  const nibble = bit >> 2;
  hex[nibble] = (parseInt(hex[nibble], 16) ^ (8 >> (bit & 3))).toString(16);
  const h = hex.join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** A token of the earlier format, computed here independently of the codec. */
function earlierToken(secret: string, itemId: string, userId: string, seq: number): string {
  const digest = createHmac('sha256', secret).update(`${itemId}\n${userId}\n${seq}`).digest();
  return `${userId}-${itemId}-${uuidv4({ random: digest.subarray(0, 16) })}`;
}

describe('place-token layout', () => {
  test('property: pack then unpack gives the place and MAC back, as a lower-case uuid v4', () => {
    fc.assert(
      fc.property(anyPlace, mac8, (place, mac) => {
        const uuid = packPlaceUuid(place, mac);
        expect(uuid).toMatch(UUID_V4);
        expect(uuid[14]).toBe('4');
        expect('89ab').toContain(uuid[19]);
        const back = unpackPlaceUuid(uuid);
        expect(back).toEqual({ place, mac: Buffer.from(mac) });
      }),
    );
  });

  test('122 free bits: 4 tag, 54 place, 64 MAC; the tag marks the format', () => {
    expect(FREE_BITS).toHaveLength(122);
    const uuid = packPlaceUuid(0, Buffer.alloc(8));
    expect(uuid).toBe(`${PLACE_TOKEN_TAG.toString(16)}0000000-0000-4000-8000-000000000000`);
    // Every free bit set in the MAC and place shows in the uuid, none in the version or variant bits.
    const full = packPlaceUuid(Number.MIN_SAFE_INTEGER, Buffer.alloc(8, 0xff));
    expect(full).toMatch(UUID_V4);
    expect(unpackPlaceUuid(full)).toEqual({ place: Number.MIN_SAFE_INTEGER, mac: Buffer.alloc(8, 0xff) });
    // A uuid with another tag is of another format.
    expect(unpackPlaceUuid(flipBit(uuid, 0))).toBeUndefined();
    expect(unpackPlaceUuid('3b241101-e2bb-4255-8caf-4136c566a962')).toBeUndefined();
  });

  test('refuses a place that is not a safe integer, and a short MAC', () => {
    expect(() => packPlaceUuid(2 ** 53, Buffer.alloc(8))).toThrow(RangeError);
    expect(() => packPlaceUuid(1.5, Buffer.alloc(8))).toThrow(RangeError);
    expect(() => packPlaceUuid(Number.NaN, Buffer.alloc(8))).toThrow(RangeError);
    expect(() => packPlaceUuid(1, Buffer.alloc(7))).toThrow(RangeError);
  });
});

describe('TokenCodec with places', () => {
  const codec = new TokenCodec(SECRET);

  test('property: a token carries its place, of any lane, readable without Redis', () => {
    fc.assert(
      fc.property(id, id, lanePlace, (itemId, userId, place) => {
        const token = codec.tokenFor(itemId, userId, place);
        const parsed = parseToken(token);
        expect(parsed.uuid).toMatch(UUID_V4);
        expect(codec.placeOf(parsed)).toBe(place);
        expect(codec.matches(parsed, place)).toBe(true);
        expect(codec.matches(parsed, String(place))).toBe(true);
        expect(codec.matches(parsed, place + 1)).toBe(false);
        expect(codec.matches(parsed, place - LANE_SPAN)).toBe(false);
      }),
    );
  });

  test('property: flipping any free bit of the uuid makes it unknown', () => {
    fc.assert(
      fc.property(id, id, lanePlace, fc.constantFrom(...FREE_BITS), (itemId, userId, place, bit) => {
        const parsed = parseToken(codec.tokenFor(itemId, userId, place));
        const tampered = { ...parsed, uuid: flipBit(parsed.uuid, bit) };
        expect(tampered.uuid).toMatch(UUID_V4);
        expect(codec.placeOf(tampered)).toBeUndefined();
        expect(codec.matches(tampered, place)).toBe(false);
      }),
    );
  });

  test('property: the MAC binds item and user; a place moved to another token is refused', () => {
    fc.assert(
      fc.property(id, id, lanePlace, lanePlace, (itemId, userId, place, other) => {
        fc.pre(place !== other);
        const parsed = parseToken(codec.tokenFor(itemId, userId, place));
        const otherUser = userId === 'z' ? 'y' : 'z';
        const otherItem = itemId === 'z' ? 'y' : 'z';
        expect(codec.placeOf({ ...parsed, userId: otherUser })).toBeUndefined();
        expect(codec.placeOf({ ...parsed, itemId: otherItem })).toBeUndefined();
        // The place field of another token, with this token's MAC.
        const forged = unpackPlaceUuid(parsed.uuid)!;
        const swapped = { ...parsed, uuid: packPlaceUuid(other, forged.mac) };
        expect(codec.placeOf(swapped)).toBeUndefined();
      }),
    );
  });

  test('a token of an unknown secret carries no place for us; one of a previous secret does', () => {
    const old = new TokenCodec('old-secret-0123456789');
    const rotated = new TokenCodec(SECRET, ['old-secret-0123456789']);
    const oldToken = parseToken(old.tokenFor('item', 'alice', -3));
    expect(rotated.placeOf(oldToken)).toBe(-3);
    expect(rotated.matches(oldToken, -3)).toBe(true);
    expect(codec.placeOf(oldToken)).toBeUndefined();
    expect(codec.matches(oldToken, -3)).toBe(false);
  });

  test('property: tokens of the earlier format are still accepted for their place, and carry none', () => {
    fc.assert(
      fc.property(id, id, lanePlace, (itemId, userId, place) => {
        const parsed = parseToken(earlierToken(SECRET, itemId, userId, place));
        expect(codec.placeOf(parsed)).toBeUndefined();
        expect(codec.matches(parsed, place)).toBe(true);
        expect(codec.matches(parsed, String(place))).toBe(true);
        expect(codec.matches(parsed, place + 1)).toBe(false);
      }),
    );
  });

  test('earlier-format tokens of a previous secret are accepted, of an unknown one refused', () => {
    const rotated = new TokenCodec(SECRET, ['old-secret-0123456789']);
    expect(rotated.matches(parseToken(earlierToken('old-secret-0123456789', 'item', 'bob', 9)), 9)).toBe(true);
    expect(rotated.matches(parseToken(earlierToken('unknown-secret-0123456789', 'item', 'bob', 9)), 9)).toBe(false);
  });
});
