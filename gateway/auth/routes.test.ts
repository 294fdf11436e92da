import { createHmac } from 'node:crypto';
import { registrationWebhookSchema, safeReturnTo, signWebhook } from './routes';
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

describe('webhook signature', () => {
  it('is hex HMAC-SHA256 over `${timestamp}.${rawBody}`', () => {
    const expected = createHmac('sha256', 'secret').update('1700000000.{"a":1}').digest('hex');
    expect(signWebhook('secret', '1700000000', '{"a":1}')).toBe(expected);
  });

  it('body schema names the wrong fields and refuses unknown ones', () => {
    const result = registrationWebhookSchema.safeParse({ userId: '', email: 'x', extra: 1 });
    expect(result.success).toBe(false);
    const paths = result.error?.issues.map((i) => i.path.join('.') || i.message).join(' ');
    expect(paths).toMatch(/userId/);
    expect(paths).toMatch(/email/);
    expect(paths).toMatch(/extra/);
  });
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
