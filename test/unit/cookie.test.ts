import fc from 'fast-check';
import { cookieValue, pageUserId } from '../../packages/api/src/page';

describe('cookieValue', () => {
  test('finds a cookie among others, trimming the spaces around it', () => {
    expect(cookieValue('a=1; user-id=alice; b=2', 'user-id')).toBe('alice');
    expect(cookieValue('user-id=alice', 'user-id')).toBe('alice');
    expect(cookieValue('  user-id =  alice  ;x=y', 'user-id')).toBe('alice');
  });

  test('decodes a percent-encoded value, and gives undefined for a malformed one', () => {
    expect(cookieValue('name=a%20b%3Bc', 'name')).toBe('a b;c');
    expect(cookieValue('name=%E0%A4%A', 'name')).toBeUndefined();
  });

  test('the first cookie of that name wins; a value may hold "="', () => {
    expect(cookieValue('k=first; k=second', 'k')).toBe('first');
    expect(cookieValue('k=a=b', 'k')).toBe('a=b');
  });

  test('undefined when absent, when the header is missing or empty, and for a name that only ends or starts alike', () => {
    expect(cookieValue(undefined, 'k')).toBeUndefined();
    expect(cookieValue('', 'k')).toBeUndefined();
    expect(cookieValue('kk=1; xk=2; k', 'k')).toBeUndefined();
    expect(cookieValue('k2=1', 'k')).toBeUndefined();
  });

  test('an empty value is an empty string, not undefined', () => {
    expect(cookieValue('k=; j=1', 'k')).toBe('');
  });

  test('property: a value written with encodeURIComponent is read back exactly (spaces too), wherever it stands among other cookies', () => {
    const name = fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/);
    fc.assert(
      fc.property(
        name,
        fc.string({ unit: 'binary' }),
        fc.array(fc.tuple(name, fc.string()), { maxLength: 5 }),
        fc.nat(),
        (k, v, others, at) => {
          const rest = others.filter(([n]) => n !== k).map(([n, w]) => `${n}=${encodeURIComponent(w)}`);
          rest.splice(at % (rest.length + 1), 0, `${k}=${encodeURIComponent(v)}`);
          expect(cookieValue(rest.join('; '), k)).toBe(v);
        },
      ),
    );
  });
});

describe('pageUserId', () => {
  test('the user-id header wins over the cookie', () => {
    expect(pageUserId({ 'user-id': 'alice', cookie: 'user-id=bob' })).toBe('alice');
  });

  test('the cookie is used when the header is missing or not a valid id', () => {
    expect(pageUserId({ cookie: 'theme=dark; user-id=bob' })).toBe('bob');
    expect(pageUserId({ 'user-id': 'not valid!', cookie: 'user-id=bob' })).toBe('bob');
  });

  test('null when neither carries a valid id (the page then asks for one)', () => {
    expect(pageUserId({})).toBeNull();
    expect(pageUserId({ 'user-id': 'a-b' })).toBeNull();
    expect(pageUserId({ cookie: 'user-id=%3Cscript%3E' })).toBeNull();
    expect(pageUserId({ 'user-id': 'x'.repeat(65), cookie: 'user-id=' })).toBeNull();
  });
});
