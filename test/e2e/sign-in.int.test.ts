/**
 * Sign-in end to end, against a real OpenID provider (oidc-provider) and the real broker:
 * registration through the signed webhook, a full login over HTTP, then `me` through the gateway
 * with the session cookie and with the access token, and the user events on `user-events`.
 */
import type { DevProvider } from '../../scripts/dev-idp';
import { registerByWebhook, signInAtGateway, startTestIdp, signInAsDevUser } from '../browser';
import { eventOf, readTopic, waitFor } from '../helpers';
import { startTestPlatform, type TestPlatform } from '../platform';
import { postGraphQL } from '../subgraph-helpers';

jest.setTimeout(120_000);

describe('sign-in through the gateway', () => {
  let provider: DevProvider;
  let platform: TestPlatform;
  let publicUrl: string;
  let webhookSecret: string;

  beforeAll(async () => {
    const idp = await startTestIdp();
    ({ provider, publicUrl, webhookSecret } = idp);
    platform = await startTestPlatform({ signIn: idp });
  });

  afterAll(async () => {
    await platform?.stop();
    await provider?.stop();
  });

  it('registers by webhook, signs in over HTTP, and serves `me` by cookie and by token', async () => {
    // Registration, as Authentik's notification webhook sends it.
    const registered = await registerByWebhook(publicUrl, webhookSecret, {
      userId: 'dev-user',
      email: 'dev@example.com',
      firstName: 'Dev',
    });
    expect(registered.status).toBe(202);

    // The login: the gateway redirects to the IdP, we fill in its form, the IdP redirects back.
    const {
      login,
      callback,
      setCookie: cookie,
      session,
    } = await signInAtGateway(publicUrl, 'dev@example.com', 'dev', { 'user-agent': 'e2e/1.0' });
    expect(login.status).toBe(302);
    expect(callback.status).toBe(302);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);

    const me = (headers: Record<string, string>) =>
      postGraphQL<{ me: { email: string; firstName: string | null } | null }>(
        `${publicUrl}/graphql`,
        '{ me { email firstName } }',
        {},
        headers,
      );
    await waitFor(
      'the users service to create the profile',
      async () => (await me({ cookie: session })).data?.me != null,
    );
    expect((await me({ cookie: session })).data).toEqual({
      me: { email: 'dev@example.com', firstName: 'Dev' },
    });

    const refreshed = await fetch(`${publicUrl}/auth/refresh`, {
      method: 'POST',
      headers: { cookie: session },
    });
    expect(refreshed.status).toBe(200);
    const { accessToken } = (await refreshed.json()) as { accessToken: string };
    expect((await me({ authorization: `Bearer ${accessToken}` })).data?.me?.email).toBe(
      'dev@example.com',
    );

    const forged = await me({ authorization: `Bearer ${accessToken.slice(0, -4)}AAAA` });
    expect(forged.status).toBe(401);
    expect(forged.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    const events = await readTopic(
      `${platform.topicPrefix}user-events`,
      (m) => m.map(eventOf).filter((e) => e.eventType === 'user.authenticated').length >= 2,
    );
    const authenticated = events.map(eventOf).filter((e) => e.eventType === 'user.authenticated');
    expect(authenticated.map((e) => e.payload['authMethod'])).toEqual(['oauth2', 'jwt_refresh']);
    expect(authenticated[0]?.payload).toMatchObject({
      userId: 'dev-user',
      email: 'dev@example.com',
      sessionId: expect.any(String),
      userAgent: 'e2e/1.0',
      ipAddress: expect.any(String),
    });
  });

  it('keeps a session on every gateway instance and across a restart; a logout on one ends it on all', async () => {
    const session = await signInAsDevUser(publicUrl, webhookSecret);
    /** `me` by the session cookie at a gateway, by its origin. */
    const me = async (origin: string) =>
      (
        await postGraphQL<{ me: { email: string } | null }>(
          new URL('/graphql', origin).href,
          '{ me { email } }',
          {},
          { cookie: session },
        )
      ).data?.me ?? null;
    await waitFor('the profile', async () => (await me(publicUrl)) !== null);

    // Another instance, which never saw the sign-in, knows the session, and refreshes it.
    const other = await platform.anotherGateway();
    expect(await me(other.url)).toEqual({ email: 'dev@example.com' });
    const refreshed = await fetch(new URL('/auth/refresh', other.url), {
      method: 'POST',
      headers: { cookie: session },
    });
    expect(refreshed.status).toBe(200);

    // A restart of that instance: still signed in.
    await other.stop();
    const restarted = await platform.anotherGateway();
    expect(await me(restarted.url)).toEqual({ email: 'dev@example.com' });

    // Logout there; the first instance no longer knows the session either.
    const loggedOut = await fetch(new URL('/auth/logout', restarted.url), {
      method: 'POST',
      headers: { cookie: session },
    });
    expect(loggedOut.status).toBe(200);
    expect(((await loggedOut.json()) as { loggedOut: boolean }).loggedOut).toBe(true);
    for (const origin of [publicUrl, restarted.url]) {
      const after = await postGraphQL(
        new URL('/graphql', origin).href,
        '{ me { email } }',
        {},
        {
          cookie: session,
        },
      );
      expect(after.status).toBe(401);
      expect(after.errors?.[0]?.message).toMatch(/signed out/);
    }
    await restarted.stop();
  });
});
