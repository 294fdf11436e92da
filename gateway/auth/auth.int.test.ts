/**
 * Sign-in end to end: a real OpenID provider (oidc-provider), the gateway's HTTP server with the
 * auth routes, a real KafkaService on a real broker (topics of this file's own prefix). Browsers
 * are played by `fetch` with manual redirects and a cookie jar per party.
 */
import { authorizeAtIdp } from '../../test/browser';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { GraphQLError } from 'graphql';
import { ApolloServer } from '@apollo/server';
import { SignJWT, decodeProtectedHeader, decodeJwt } from 'jose';
import type { KafkaMessage } from 'kafkajs';
import { KafkaService, UserEventFactory } from '../../events';
import { createGraphQLHttpServer, type GraphQLHttpServer } from '../../lib/http-server';
import { silentLogger } from '../../lib/logger';
import {
  freePort,
  deleteTopicsWithPrefix,
  randomName,
  readTopic,
  testBrokers,
} from '../../test/helpers';
import { AccessTokenError, createAccessTokenVerifier } from './access-token';
import { createRequestAuthenticator } from './authenticate';
import { createDevProvider, type DevProvider } from '../../scripts/dev-idp';
import { createOidcClient, OidcError, type OidcClient } from './oidc';
import { createAuthRoutes, createSessionSweeper } from './routes';
import {
  createMemorySessionStore,
  SESSION_COOKIE,
  sessionRef,
  type SessionStore,
} from './sessions';
import { createWebhookRoutes, signWebhook } from './webhook';

jest.setTimeout(90_000);

const CLIENT_ID = 'interview-graph';
const CLIENT_SECRET = randomBytes(24).toString('base64url');
const WEBHOOK_SECRET = randomBytes(24).toString('hex');
const USER_AGENT = 'auth-int-test/1.0';

let prefix: string;
let publicUrl: string;
let provider: DevProvider;
let oidc: OidcClient;
let kafka: KafkaService;
let sessions: SessionStore;
let apollo: ApolloServer;
let http: GraphQLHttpServer;

beforeAll(async () => {
  prefix = `${randomName('auth')}.`;
  const port = await freePort();
  publicUrl = `http://127.0.0.1:${port}`;
  provider = createDevProvider({
    port: 0,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    redirectUris: [`${publicUrl}/auth/callback`],
    postLogoutRedirectUris: [publicUrl],
  });
  await provider.start();
  oidc = createOidcClient({
    issuer: provider.issuer,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    redirectUri: `${publicUrl}/auth/callback`,
  });
  kafka = new KafkaService('api-gateway', {
    brokers: testBrokers(),
    topicPrefix: prefix,
    topics: ['user-events', 'system-events'],
    announce: false,
  });
  await kafka.start();
  sessions = createMemorySessionStore();
  apollo = new ApolloServer({
    typeDefs: 'type Query { ok: Boolean! }',
    resolvers: { Query: { ok: () => true } },
  });
  await apollo.start();
  http = createGraphQLHttpServer({
    apollo,
    context: async () => ({}),
    port,
    routes: {
      ...createAuthRoutes({ oidc, sessions, kafka, publicUrl, logger: silentLogger }),
      ...createWebhookRoutes({ secret: WEBHOOK_SECRET, kafka }),
    },
  });
  await http.start();
});

afterAll(async () => {
  await http?.stop();
  await apollo?.stop();
  await kafka?.stop();
  await provider?.stop();
  if (prefix) await deleteTopicsWithPrefix(prefix);
});

// ---- a tiny browser ---------------------------------------------------------------------------

/** `/auth/login` at the gateway up to the IdP's redirect back (not followed). */
async function startSignIn(
  email = 'dev@example.com',
  password = 'dev',
  returnTo?: string,
): Promise<URL> {
  const res = await fetch(
    `${publicUrl}/auth/login${returnTo ? `?returnTo=${encodeURIComponent(returnTo)}` : ''}`,
    { redirect: 'manual' },
  );
  expect(res.status).toBe(302);
  const location = res.headers.get('location') ?? '';
  expect(location.startsWith(provider.issuer)).toBe(true);
  return authorizeAtIdp(location, email, password, `${publicUrl}/auth/callback`);
}

const callback = (url: URL) =>
  fetch(url, { redirect: 'manual', headers: { 'user-agent': USER_AGENT } });

/** A full sign-in; returns the session id from the cookie and the callback's response. */
async function signIn(email = 'dev@example.com', password = 'dev', returnTo?: string) {
  const res = await callback(await startSignIn(email, password, returnTo));
  expect(res.status).toBe(302);
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`)) ?? '';
  const sessionId = /^ig_session=([^;]+)/.exec(cookie)?.[1] ?? '';
  expect(sessionId).toMatch(/^[A-Za-z0-9_-]{43}$/);
  return { res, cookie, sessionId };
}

// ---- events -----------------------------------------------------------------------------------

interface Published {
  eventType: string;
  version: string;
  source: string;
  payload: Record<string, unknown>;
}

const decode = (m: KafkaMessage) => JSON.parse(m.value?.toString() ?? 'null') as Published;

/**
 * Publishes a marker keyed like `userId`'s events (so on the same partition, after them) and reads
 * user-events up to it: everything published for that user before is in the result. Returns the
 * events matching `filter`, marker excluded.
 */
async function eventsUpToNow(
  userId: string,
  filter: (e: Published) => boolean,
): Promise<Published[]> {
  const marker = randomName('marker');
  await kafka.publishEvent('user-events', UserEventFactory.createUserLoggedOut(userId, marker));
  const messages = await readTopic(kafka.topicName('user-events'), (ms) =>
    ms.some((m) => decode(m).payload['sessionId'] === marker),
  );
  return messages
    .map(decode)
    .filter((e) => e.payload['sessionId'] !== marker)
    .filter(filter);
}

const forSession = (sessionId: string) => (e: Published) =>
  e.payload['sessionId'] === sessionRef(sessionId);

// ---- tests ------------------------------------------------------------------------------------

describe('sign-in through the gateway against a real OpenID provider', () => {
  it('logs in, sets the session cookie and publishes user.authenticated (oauth2)', async () => {
    const { res, cookie, sessionId } = await signIn('dev@example.com', 'dev', '/interviews?tab=2');
    expect(res.headers.get('location')).toBe('/interviews?tab=2');
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/Path=\//);
    expect(cookie).not.toMatch(/Secure/);

    const events = await eventsUpToNow('dev-user', forSession(sessionId));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ eventType: 'user.authenticated', source: 'api-gateway' });
    expect(events[0]?.payload).toEqual({
      userId: 'dev-user',
      email: 'dev@example.com',
      // The session by its public ref: the cookie's id is a credential and stays out of events.
      sessionId: sessionRef(sessionId),
      authMethod: 'oauth2',
      ipAddress: expect.stringMatching(/127\.0\.0\.1$/),
      userAgent: USER_AGENT,
    });
  });

  it('refuses a wrong password at the IdP', async () => {
    await expect(startSignIn('dev@example.com', 'wrong')).rejects.toThrow(
      /Invalid email or password/,
    );
  });

  it('keeps returnTo to same-origin paths', async () => {
    const { res } = await signIn('dev@example.com', 'dev', '//evil.example.com/x');
    expect(res.headers.get('location')).toBe('/');
  });

  it('tells the web app who is signed in and until when (GET /auth/session)', async () => {
    const none = await fetch(`${publicUrl}/auth/session`);
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ error: 'NO_SESSION' });

    const { sessionId } = await signIn('admin@example.com', 'admin');
    const cookie = `${SESSION_COOKIE}=${sessionId}`;
    const res = await fetch(`${publicUrl}/auth/session`, { headers: { cookie } });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const info = (await res.json()) as Record<string, unknown>;
    const session = await sessions.get(sessionId);
    expect(info).toEqual({
      userId: 'dev-admin',
      email: 'admin@example.com',
      roles: ['admin'],
      expiresAt: new Date(session?.tokens.expiresAt ?? 0).toISOString(),
      sessionExpiresAt: new Date(session?.expiresAt ?? 0).toISOString(),
      refreshable: true,
    });
    expect(Date.parse(info['expiresAt'] as string)).toBeGreaterThan(Date.now());

    const post = await fetch(`${publicUrl}/auth/session`, { method: 'POST', headers: { cookie } });
    expect(post.status).toBe(405);
    await fetch(`${publicUrl}/auth/logout`, { method: 'POST', headers: { cookie } });
    const after = await fetch(`${publicUrl}/auth/session`, { headers: { cookie } });
    expect(after.status).toBe(401);
  });

  it('refreshes (jwt_refresh) and logs out (manual)', async () => {
    const { sessionId } = await signIn();
    const cookie = `${SESSION_COOKIE}=${sessionId}`;
    const refreshed = await fetch(`${publicUrl}/auth/refresh`, {
      method: 'POST',
      headers: { cookie, 'user-agent': USER_AGENT },
    });
    expect(refreshed.status).toBe(200);
    const body = (await refreshed.json()) as {
      accessToken: string;
      expiresAt: string;
      expiresIn: number;
    };
    expect(body.accessToken.split('.')).toHaveLength(3);
    expect(body.expiresIn).toBeGreaterThan(0);
    expect(Date.parse(body.expiresAt)).toBeGreaterThan(Date.now());

    const out = await fetch(`${publicUrl}/auth/logout`, { method: 'POST', headers: { cookie } });
    expect(out.status).toBe(200);
    expect(out.headers.getSetCookie().join()).toMatch(/ig_session=;.*Max-Age=0/);
    expect(await sessions.get(sessionId)).toBeUndefined();

    const after = await fetch(`${publicUrl}/auth/refresh`, { method: 'POST', headers: { cookie } });
    expect(after.status).toBe(401);

    const events = await eventsUpToNow('dev-user', forSession(sessionId));
    expect(
      events.map((e) => [e.eventType, e.payload['authMethod'] ?? e.payload['reason']]),
    ).toEqual([
      ['user.authenticated', 'oauth2'],
      ['user.authenticated', 'jwt_refresh'],
      ['user.logged_out', 'manual'],
    ]);
  });

  it('ends the session with reason security when the IdP rejects the refresh token', async () => {
    const { sessionId } = await signIn();
    const session = await sessions.get(sessionId);
    await oidc.revoke(session?.tokens.refreshToken ?? '', 'refresh_token');
    const res = await fetch(`${publicUrl}/auth/refresh`, {
      method: 'POST',
      headers: { cookie: `${SESSION_COOKIE}=${sessionId}` },
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: 'REFRESH_REJECTED' });
    const events = await eventsUpToNow('dev-user', forSession(sessionId));
    expect(events.map((e) => e.payload['reason'] ?? e.payload['authMethod'])).toEqual([
      'oauth2',
      'security',
    ]);
  });

  it('refuses a wrong state and a bad code, and publishes nothing', async () => {
    // A user agent of its own marks whatever these callbacks might publish.
    const agent = randomName('refused-agent');
    const refusedCallback = (url: URL) =>
      fetch(url, { redirect: 'manual', headers: { 'user-agent': agent } });

    const wrongState = await startSignIn();
    wrongState.searchParams.set('state', 'not-the-state');
    const a = await refusedCallback(wrongState);
    expect(a.status).toBe(400);
    expect(a.headers.getSetCookie()).toEqual([]);
    expect(await a.json()).toMatchObject({
      error: 'BAD_CALLBACK',
      message: expect.stringMatching(/state/),
    });

    const badCode = await startSignIn();
    badCode.searchParams.set('code', 'forged-code');
    const b = await refusedCallback(badCode);
    expect(b.status).toBe(401);
    expect(b.headers.getSetCookie()).toEqual([]);
    expect(await b.json()).toMatchObject({
      error: 'IDP_REFUSED',
      message: expect.stringMatching(/refused the authorization code/),
    });
    // the state is single-use: a second try with it is refused before the IdP is asked
    expect((await refusedCallback(badCode)).status).toBe(400);

    expect(await eventsUpToNow('dev-user', (e) => e.payload['userAgent'] === agent)).toEqual([]);
  });

  it('refuses an ID token whose nonce does not match', async () => {
    const request = await oidc.authorizationRequest();
    const url = await authorizeAtIdp(
      request.url.href,
      'dev@example.com',
      'dev',
      `${publicUrl}/auth/callback`,
    );
    const error: unknown = await oidc
      .exchangeCode(url, {
        state: request.state,
        codeVerifier: request.codeVerifier,
        nonce: 'another-nonce',
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OidcError);
    expect(error).toMatchObject({ code: 'IDP_REFUSED', reason: 'nonce_mismatch', status: 401 });
  });
});

/** The issuer's metadata as sign-in's discovery got it, where the verifier finds the keys. */
const issuerMetadata = () => oidc.serverMetadata();

describe('access tokens', () => {
  const verifier = () =>
    createAccessTokenVerifier({ issuerMetadata, audience: CLIENT_ID, typ: 'at+jwt' });

  async function accessTokenOf(email: string, password: string): Promise<string> {
    const { sessionId } = await signIn(email, password);
    return (await sessions.get(sessionId))?.tokens.accessToken ?? '';
  }

  const reasonOf = (p: Promise<unknown>) =>
    p.then(
      () => 'accepted',
      (e: unknown) => (e instanceof AccessTokenError ? `${e.reason}: ${e.message}` : String(e)),
    );

  it("verifies the session's access token and maps it to an identity", async () => {
    const token = await accessTokenOf('dev@example.com', 'dev');
    expect(decodeJwt(token).aud).toBe(CLIENT_ID);
    await expect(verifier().verify(token)).resolves.toEqual({
      userId: 'dev-user',
      email: 'dev@example.com',
      roles: [],
    });
    const admin = await accessTokenOf('admin@example.com', 'admin');
    await expect(verifier().verify(admin)).resolves.toEqual({
      userId: 'dev-admin',
      email: 'admin@example.com',
      roles: ['admin'],
    });
  });

  it('refuses expired, forged, wrong-audience, ID and malformed tokens, saying why', async () => {
    const token = await accessTokenOf('dev@example.com', 'dev');
    const claims = decodeJwt(token);
    const { kid } = decodeProtectedHeader(token);

    const later = createAccessTokenVerifier({
      issuerMetadata,
      audience: CLIENT_ID,
      clock: () => new Date(Date.now() + 2 * 3600 * 1000),
    });
    expect(await reasonOf(later.verify(token))).toMatch(/^expired: Access token has expired/);

    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const forge = (keyId: string | undefined) =>
      new SignJWT({ ...claims, groups: ['admin'] })
        .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', ...(keyId ? { kid: keyId } : {}) })
        .sign(otherKey);
    expect(await reasonOf(verifier().verify(await forge(kid)))).toMatch(/^bad_signature: /);
    expect(await reasonOf(verifier().verify(await forge('attacker-key')))).toMatch(
      /^unknown_key: /,
    );

    const elsewhere = createAccessTokenVerifier({
      issuerMetadata,
      audience: 'another-api',
    });
    expect(await reasonOf(elsewhere.verify(token))).toMatch(/^wrong_audience: /);

    expect(await reasonOf(verifier().verify('not-a-jwt'))).toMatch(/^malformed: /);

    const { sessionId } = await signIn();
    const idToken = (await sessions.get(sessionId))?.tokens.idToken ?? '';
    expect(await reasonOf(verifier().verify(idToken))).toMatch(/^wrong_type: /);
  });
});

describe('request authentication (for the GraphQL context)', () => {
  it('accepts a Bearer token or the session cookie, is anonymous without, and 401s bad ones', async () => {
    const authenticate = createRequestAuthenticator({
      verifier: createAccessTokenVerifier({ issuerMetadata, audience: CLIENT_ID }),
      sessions,
    });
    const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
    const { sessionId } = await signIn('admin@example.com', 'admin');
    const token = (await sessions.get(sessionId))?.tokens.accessToken ?? '';
    const admin = { userId: 'dev-admin', email: 'admin@example.com', roles: ['admin'] };

    await expect(authenticate(req({ authorization: `Bearer ${token}` }))).resolves.toEqual(admin);
    await expect(authenticate(req({ cookie: `${SESSION_COOKIE}=${sessionId}` }))).resolves.toEqual(
      admin,
    );
    await expect(authenticate(req({}))).resolves.toBeNull();

    const refused = (headers: Record<string, string>) =>
      authenticate(req(headers)).then(
        () => 'accepted',
        (e: unknown) =>
          e instanceof GraphQLError ? `${String(e.extensions['code'])}: ${e.message}` : String(e),
      );
    expect(await refused({ authorization: `Bearer ${token}x` })).toMatch(
      /^UNAUTHENTICATED: Access token signature is invalid/,
    );
    expect(await refused({ authorization: 'Basic abc' })).toMatch(/^UNAUTHENTICATED: .*Bearer/);
    expect(await refused({ cookie: `${SESSION_COOKIE}=${'x'.repeat(43)}` })).toMatch(
      /^UNAUTHENTICATED: Session expired/,
    );
  });
});

describe('POST /webhooks/authentik', () => {
  const post = (body: string, headers: Record<string, string>) =>
    fetch(`${publicUrl}/webhooks/authentik`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
  const signed = (body: string, ts = String(Math.floor(Date.now() / 1000))) => ({
    'x-authentik-timestamp': ts,
    'x-authentik-signature': signWebhook(WEBHOOK_SECRET, ts, body),
  });

  it('publishes user.registered for a signed delivery, once', async () => {
    const userId = randomName('ak-user');
    const body = JSON.stringify({
      userId,
      email: 'grace@example.com',
      firstName: 'Grace',
      lastName: 'Hopper',
      company: 'Navy',
    });
    const headers = signed(body);
    const ok = await post(body, headers);
    expect(ok.status).toBe(202);

    const replay = await post(body, headers);
    expect(replay.status).toBe(401);
    expect(await replay.json()).toMatchObject({ error: 'WEBHOOK_REPLAYED' });

    const events = await eventsUpToNow(userId, (e) => e.payload['userId'] === userId);
    expect(events).toEqual([
      expect.objectContaining({
        eventType: 'user.registered',
        source: 'api-gateway',
        payload: {
          userId,
          email: 'grace@example.com',
          registrationMethod: 'authentik',
          firstName: 'Grace',
          lastName: 'Hopper',
          company: 'Navy',
          // No locale or time zone in the delivery: what a 1.0 registration meant.
          locale: 'en',
          timeZone: 'UTC',
        },
        version: '2.0',
      }),
    ]);
  });

  it("publishes the user's locale and time zone when the delivery has them (user.registered 2.0)", async () => {
    const userId = randomName('ak-user');
    const body = JSON.stringify({
      userId,
      email: 'amelie@example.com',
      locale: 'fr-CA',
      timeZone: 'America/Toronto',
    });
    expect((await post(body, signed(body))).status).toBe(202);
    const events = await eventsUpToNow(userId, (e) => e.payload['userId'] === userId);
    expect(events.map((e) => [e.version, e.payload])).toEqual([
      [
        '2.0',
        {
          userId,
          email: 'amelie@example.com',
          registrationMethod: 'authentik',
          locale: 'fr-CA',
          timeZone: 'America/Toronto',
        },
      ],
    ]);

    const wrong = JSON.stringify({ userId, email: 'amelie@example.com', timeZone: 'Mars/Base' });
    const refused = await post(wrong, signed(wrong));
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { message: string }).message).toMatch(
      /timeZone: must be an IANA time zone/,
    );
  });

  it('refuses tampered, unsigned and stale deliveries with 401, and an invalid body with 400; publishes nothing', async () => {
    const userId = randomName('ak-user');
    const body = JSON.stringify({ userId, email: 'eve@example.com' });

    const tampered = await post(body.replace('eve@', 'mallory@'), signed(body));
    expect(tampered.status).toBe(401);
    expect(await tampered.json()).toMatchObject({ error: 'BAD_WEBHOOK_SIGNATURE' });

    const unsigned = await post(body, {});
    expect(unsigned.status).toBe(401);
    expect(await unsigned.json()).toMatchObject({ error: 'BAD_WEBHOOK_SIGNATURE' });

    const stale = await post(body, signed(body, String(Math.floor(Date.now() / 1000) - 600)));
    expect(stale.status).toBe(401);
    expect(await stale.json()).toMatchObject({ error: 'BAD_WEBHOOK_TIMESTAMP' });

    const invalid = JSON.stringify({ userId, email: 'not-an-email', nickname: 'x' });
    const bad = await post(invalid, signed(invalid));
    expect(bad.status).toBe(400);
    const problem = (await bad.json()) as { message: string; fields: string[] };
    expect(problem.message).toMatch(/email/);
    expect(problem.fields.join()).toMatch(/nickname/);

    expect(await eventsUpToNow(userId, (e) => e.payload['userId'] === userId)).toEqual([]);
  });
});

describe('session sweeper', () => {
  it('publishes user.logged_out with reason timeout for expired sessions', async () => {
    const store = createMemorySessionStore({ ttlMs: 1_000 });
    const session = await store.create({
      userId: 'dev-user',
      email: 'dev@example.com',
      tokens: {
        accessToken: 'a',
        refreshToken: undefined,
        idToken: undefined,
        expiresAt: Date.now(),
      },
    });
    const sweeper = createSessionSweeper({ sessions: store, kafka, logger: silentLogger });
    expect(await sweeper.sweep(Date.now())).toBe(0);
    expect(await sweeper.sweep(Date.now() + 2_000)).toBe(1);
    await sweeper.stop();
    const events = await eventsUpToNow('dev-user', forSession(session.id));
    expect(events.map((e) => [e.eventType, e.payload['reason']])).toEqual([
      ['user.logged_out', 'timeout'],
    ]);
  });
});
