import fc from 'fast-check';
import { WqError } from '@waiting-queue/core/errors';
import { ID_PATTERN, TokenCodec, parseToken, requireId } from '@waiting-queue/core/ids';

const SECRET = '0123456789abcdef0123456789abcdef';
const id = fc.stringMatching(/^[A-Za-z0-9_]{1,64}$/);
const seq = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER });
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function invalidParameter(fn: () => unknown): WqError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(WqError);
    expect((err as WqError).errorCode).toBe('INVALID_PARAMETER');
    expect((err as WqError).status).toBe(400);
    return err as WqError;
  }
  throw new Error('expected a WqError INVALID_PARAMETER');
}

describe('requireId', () => {
  test('returns an id of 1-64 characters of [A-Za-z0-9_]', () => {
    expect(requireId('a', 'userId')).toBe('a');
    expect(requireId('Item_42', 'itemId')).toBe('Item_42');
    expect(requireId('x'.repeat(64), 'itemId')).toBe('x'.repeat(64));
  });

  test.each([
    ['', 'empty'],
    ['x'.repeat(65), '65 characters'],
    ['a-b', 'the token separator'],
    ['a b', 'a space'],
    ['é', 'non-ASCII'],
    ['a\n', 'a trailing newline'],
  ])('refuses %j (%s), naming the field', (value) => {
    expect(invalidParameter(() => requireId(value, 'itemId')).message).toMatch(/^itemId /);
    expect(invalidParameter(() => requireId(value, 'userId')).message).toMatch(/^userId /);
  });

  test('refuses what is not a string', () => {
    for (const value of [undefined, null, 42, ['a'], { a: 1 }]) invalidParameter(() => requireId(value, 'userId'));
  });

  test('property: accepts exactly what ID_PATTERN accepts', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 70 }), (s) => {
        if (ID_PATTERN.test(s)) expect(requireId(s, 'userId')).toBe(s);
        else invalidParameter(() => requireId(s, 'userId'));
      }),
    );
  });
});

describe('parseToken', () => {
  const uuid = '3b241101-e2bb-4255-8caf-4136c566a962';

  test('splits <userId>-<itemId>-<uuid v4>', () => {
    expect(parseToken(`alice-item_1-${uuid}`)).toEqual({ userId: 'alice', itemId: 'item_1', uuid });
  });

  test.each([
    ['no uuid', 'alice-item_1'],
    ['an empty userId', `-item_1-${uuid}`],
    ['an empty itemId', `alice--${uuid}`],
    ['a uuid of version 1', 'alice-item_1-3b241101-e2bb-1255-8caf-4136c566a962'],
    ['an upper-case uuid', `alice-item_1-${uuid.toUpperCase()}`],
    ['a uuid with a wrong variant', 'alice-item_1-3b241101-e2bb-4255-7caf-4136c566a962'],
    ['a userId of 65 characters', `${'u'.repeat(65)}-item_1-${uuid}`],
    ['trailing text', `alice-item_1-${uuid}x`],
    ['a space', `alice -item_1-${uuid}`],
  ])('refuses a token with %s', (_what, token) => {
    expect(invalidParameter(() => parseToken(token)).message).toMatch(/waitingQueueToken/);
  });

  test('refuses what is not a string', () => {
    for (const value of [undefined, null, 1, {}]) invalidParameter(() => parseToken(value));
  });

  test('property: a token of any valid userId and itemId parses back to its parts', () => {
    fc.assert(
      fc.property(id, id, fc.uuid({ version: 4 }), (userId, itemId, u) => {
        expect(parseToken(`${userId}-${itemId}-${u}`)).toEqual({ userId, itemId, uuid: u });
      }),
    );
  });

  test('property: parsing never throws anything but INVALID_PARAMETER', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        try {
          const parsed = parseToken(s);
          expect(`${parsed.userId}-${parsed.itemId}-${parsed.uuid}`).toBe(s);
        } catch (err) {
          expect((err as WqError).errorCode).toBe('INVALID_PARAMETER');
        }
      }),
    );
  });
});

describe('TokenCodec', () => {
  test('refuses a secret shorter than 16 bytes, current or previous', () => {
    expect(() => new TokenCodec('short')).toThrow(/at least 16 bytes/);
    expect(() => new TokenCodec(SECRET, ['short'])).toThrow(/at least 16 bytes/);
    expect(() => new TokenCodec(Buffer.alloc(15))).toThrow(/at least 16 bytes/);
    expect(() => new TokenCodec(Buffer.alloc(16))).not.toThrow();
  });

  test('generateSecret gives 32 random bytes as 64 hex characters', () => {
    const a = TokenCodec.generateSecret();
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(TokenCodec.generateSecret()).not.toBe(a);
  });

  test('property: a token it issues parses, is a uuid v4, and matches its place only', () => {
    const codec = new TokenCodec(SECRET);
    fc.assert(
      fc.property(id, id, seq, (itemId, userId, n) => {
        const token = codec.tokenFor(itemId, userId, n);
        const parsed = parseToken(token);
        expect(parsed).toEqual({ userId, itemId, uuid: codec.uuidFor(itemId, userId, n) });
        expect(parsed.uuid).toMatch(UUID_V4);
        expect(codec.matches(parsed, n)).toBe(true);
        expect(codec.matches(parsed, String(n))).toBe(true);
        expect(codec.matches(parsed, n + 1)).toBe(false);
        const otherUser = userId === 'z' ? 'y' : 'z';
        expect(codec.matches({ ...parsed, userId: otherUser }, n)).toBe(false);
      }),
    );
  });

  test('is deterministic per secret: the same secret gives the same uuid, another secret another one', () => {
    const a = new TokenCodec(SECRET);
    const b = new TokenCodec(SECRET);
    const other = new TokenCodec('fedcba9876543210fedcba9876543210');
    expect(a.uuidFor('item', 'alice', 7)).toBe(b.uuidFor('item', 'alice', 7));
    expect(other.uuidFor('item', 'alice', 7)).not.toBe(a.uuidFor('item', 'alice', 7));
    // The fields are separated, so that moving a character from one id to the other gives another uuid.
    expect(a.uuidFor('ab', 'c', 1)).not.toBe(a.uuidFor('a', 'bc', 1));
  });

  test('after a rotation, tokens of a previous secret still match; tokens of an unknown secret do not', () => {
    const old = new TokenCodec('old-secret-0123456789');
    const rotated = new TokenCodec(SECRET, ['old-secret-0123456789']);
    const stranger = new TokenCodec('unknown-secret-0123456789');
    const oldToken = parseToken(old.tokenFor('item', 'alice', 3));
    expect(rotated.matches(oldToken, 3)).toBe(true);
    expect(new TokenCodec(SECRET).matches(oldToken, 3)).toBe(false);
    expect(rotated.matches(parseToken(stranger.tokenFor('item', 'alice', 3)), 3)).toBe(false);
    // New tokens are issued with the current secret.
    expect(rotated.tokenFor('item', 'alice', 3)).toBe(new TokenCodec(SECRET).tokenFor('item', 'alice', 3));
  });
});
