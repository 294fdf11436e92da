import {
  clearSessionCookie,
  createMemorySessionStore,
  newSessionId,
  sessionCookie,
  sessionIdFromRequest,
} from './sessions';

const tokens = { accessToken: 'a', refreshToken: 'r', idToken: undefined, expiresAt: 0 };

describe('session store (memory)', () => {
  it('creates 32-byte base64url ids and forgets sessions after their TTL', async () => {
    let now = 1_000;
    const store = createMemorySessionStore({ ttlMs: 500, now: () => now });
    const s = await store.create({ userId: 'u-1', email: 'a@example.com', tokens });
    expect(s.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(s.id, 'base64url')).toHaveLength(32);
    expect(s.expiresAt).toBe(1_500);
    expect(await store.get(s.id)).toMatchObject({ userId: 'u-1' });
    now = 1_500;
    expect(await store.get(s.id)).toBeUndefined();
    expect(await store.updateTokens(s.id, tokens)).toBeUndefined();
    expect((await store.takeExpired()).map((x) => x.id)).toEqual([s.id]);
    expect(await store.takeExpired()).toEqual([]);
  });

  it('replaces tokens and deletes', async () => {
    const store = createMemorySessionStore();
    const s = await store.create({ userId: 'u-1', email: 'a@example.com', tokens });
    const next = { ...tokens, accessToken: 'b' };
    expect((await store.updateTokens(s.id, next))?.tokens.accessToken).toBe('b');
    expect((await store.delete(s.id))?.id).toBe(s.id);
    expect(await store.get(s.id)).toBeUndefined();
  });
});

describe('session cookie', () => {
  it('is HttpOnly, SameSite=Lax, Path=/, and Secure only on https', () => {
    const id = newSessionId();
    const plain = sessionCookie({ id, expiresAt: 61_000 }, { secure: false }, 1_000);
    expect(plain).toBe(`ig_session=${id}; HttpOnly; SameSite=Lax; Path=/; Max-Age=60`);
    expect(sessionCookie({ id, expiresAt: 61_000 }, { secure: true }, 1_000)).toMatch(/; Secure$/);
    expect(clearSessionCookie({ secure: false })).toBe(
      'ig_session=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0',
    );
  });

  it('takes SameSite=Strict or None when configured; None only with Secure', () => {
    const session = { id: newSessionId(), expiresAt: 61_000 };
    expect(sessionCookie(session, { secure: false, sameSite: 'strict' }, 1_000)).toContain(
      '; SameSite=Strict;',
    );
    expect(sessionCookie(session, { secure: true, sameSite: 'none' }, 1_000)).toMatch(
      /; SameSite=None; .*; Secure$/,
    );
    expect(() => sessionCookie(session, { secure: false, sameSite: 'none' })).toThrow(/Secure/);
    expect(clearSessionCookie({ secure: true, sameSite: 'none' })).toContain('SameSite=None');
  });

  it('is read from the Cookie header, ignoring malformed values', () => {
    const id = newSessionId();
    expect(sessionIdFromRequest({ headers: { cookie: `a=b; ig_session=${id}; c=d` } })).toBe(id);
    expect(sessionIdFromRequest({ headers: { cookie: 'ig_session=short' } })).toBeUndefined();
    expect(sessionIdFromRequest({ headers: {} })).toBeUndefined();
  });
});
