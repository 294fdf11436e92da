import { safeReturnTo } from './routes';
import { AccessTokenError, bearerToken, identityFromClaims } from './access-token';

describe('returnTo', () => {
  it.each([
    ['/interviews?x=1', '/interviews?x=1'],
    [null, '/'],
    ['https://evil.example.com/', '/'],
    ['//evil.example.com/', '/'],
    ['/\\evil.example.com', '/'],
    ['/ok\r\nSet-Cookie: x=y', '/'],
  ])('%s -> %s', (given, expected) => expect(safeReturnTo(given)).toBe(expected));
});

describe('access token claims', () => {
  it('maps sub, email and the admin group to an Identity', () => {
    expect(
      identityFromClaims({ sub: 'u', email: 'u@example.com', groups: ['admin', 'x'] }, 'groups'),
    ).toEqual({
      userId: 'u',
      email: 'u@example.com',
      roles: ['admin'],
    });
    expect(identityFromClaims({ sub: 'u', roles: ['admin'] }, 'groups')).toEqual({
      userId: 'u',
      roles: [],
    });
    expect(() => identityFromClaims({}, 'groups')).toThrow(AccessTokenError);
  });

  it('reads Bearer tokens and refuses other Authorization schemes', () => {
    expect(bearerToken({ headers: { authorization: 'Bearer a.b.c' } })).toBe('a.b.c');
    expect(bearerToken({ headers: {} })).toBeUndefined();
    expect(() => bearerToken({ headers: { authorization: 'Basic abc' } })).toThrow(/Bearer/);
  });
});
