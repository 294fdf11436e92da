/**
 * GraphQL over WebSocket through a real gateway with sign-in (oidc-provider, the real broker,
 * SQLite), driven by a real graphql-ws client: authentication in `connection_init`, queries
 * through the federated pipeline, the 4401 refusals, a live subscription with a real access token,
 * and the close at the access token's expiry.
 */
import type { GraphQLFormattedError } from 'graphql';
import type { Client } from 'graphql-ws';
import { signInAsDevUser, startTestIdp } from '../test/browser';
import { waitFor } from '../test/helpers';
import { liveClients, metric, record, subscribersAtLeast } from '../test/live';
import { startTestPlatform, type TestPlatform } from '../test/platform';
import { postGraphQL } from '../test/subgraph-helpers';
import type { DevProvider } from '../scripts/dev-idp';

jest.setTimeout(120_000);

/** Short, so the expiry test waits seconds; every other test takes a fresh token. */
const ACCESS_TOKEN_TTL_SECONDS = 5;

type Outcome<T> =
  | { kind: 'result'; data?: T | null; errors?: readonly GraphQLFormattedError[] }
  | { kind: 'error'; error: unknown };

describe('GraphQL over WebSocket at the gateway', () => {
  let provider: DevProvider;
  let platform: TestPlatform;
  let publicUrl: string;
  let session: string;
  const clients = liveClients();

  /** A fresh access token of the signed-in dev user. */
  const accessToken = async (): Promise<string> => {
    const refreshed = await fetch(`${publicUrl}/auth/refresh`, {
      method: 'POST',
      headers: { cookie: session },
    });
    expect(refreshed.status).toBe(200);
    return ((await refreshed.json()) as { accessToken: string }).accessToken;
  };

  /** A client that connects at once and never retries; records how the socket closed. */
  const connect = (connectionParams: Record<string, unknown>, headers?: Record<string, string>) =>
    clients.connect(`${publicUrl}/graphql`, connectionParams, headers);

  const run = <T>(client: Client, query: string): Promise<Outcome<T>> =>
    new Promise((resolve) => {
      let last: Outcome<T> | undefined;
      client.subscribe<T>(
        { query },
        {
          next: (result) => {
            last = {
              kind: 'result',
              ...(result.data !== undefined ? { data: result.data } : {}),
              ...(result.errors ? { errors: result.errors } : {}),
            };
          },
          error: (error) => resolve({ kind: 'error', error }),
          complete: () => resolve(last ?? { kind: 'error', error: 'completed without a result' }),
        },
      );
    });

  beforeAll(async () => {
    const idp = await startTestIdp({ accessTokenTtlSeconds: ACCESS_TOKEN_TTL_SECONDS });
    ({ provider, publicUrl } = idp);
    platform = await startTestPlatform({ signIn: idp });
    // Fails unless the webhook answers 202 and the sign-in sets an ig_session cookie.
    session = await signInAsDevUser(publicUrl, idp.webhookSecret);

    await waitFor('the users service to create the profile', async () => {
      const me = await postGraphQL<{ me: { email: string } | null }>(
        `${publicUrl}/graphql`,
        '{ me { email } }',
        {},
        { authorization: `Bearer ${await accessToken()}` },
      );
      return me.data?.me != null;
    });
  });

  afterEach(() => clients.disposeAll());

  afterAll(async () => {
    await platform?.stop();
    await provider?.stop();
  });

  it("runs `me` as the caller of a valid access token (authorization: 'Bearer ...')", async () => {
    const { client, closes } = connect({ authorization: `Bearer ${await accessToken()}` });
    const outcome = await run<{ me: { email: string } | null }>(client, '{ me { email } }');
    expect(outcome).toEqual({ kind: 'result', data: { me: { email: 'dev@example.com' } } });
    expect(closes).toEqual([]);
  });

  it('uses the session cookie of a same-origin upgrade when connection_init has no credentials', async () => {
    const origin = new URL(publicUrl).origin;
    await accessToken(); // renews the session's access token, which lives 5 s
    const { client, closes } = connect({}, { cookie: session, origin });
    const outcome = await run<{ me: { email: string } | null }>(client, '{ me { email } }');
    expect(outcome).toEqual({ kind: 'result', data: { me: { email: 'dev@example.com' } } });
    expect(closes).toEqual([]);
  });

  it('ignores the cookie of a cross-site upgrade, or of one without Origin (4401)', async () => {
    for (const headers of [
      { cookie: session, origin: 'https://evil.example.com' },
      { cookie: session, origin: 'http://localhost:1' },
      { cookie: session },
    ]) {
      const { closes, isConnected } = connect({}, headers);
      await waitFor('the socket to close', () => closes.length > 0);
      expect(isConnected()).toBe(false);
      expect(closes[0]?.code).toBe(4401);
      expect(closes[0]?.reason).toMatch(/No credentials/);
    }
  });

  it("closes a cookie connection at its session's access token expiry (4401)", async () => {
    const origin = new URL(publicUrl).origin;
    await accessToken();
    const { client, closes } = connect({}, { cookie: session, origin });
    await run(client, '{ __typename }');
    await waitFor(
      'the socket to close',
      () => closes.length > 0,
      (ACCESS_TOKEN_TTL_SECONDS + 5) * 1000,
    );
    expect(closes[0]).toEqual({ code: 4401, reason: 'access token expired' });
  });

  it('accepts the development x-identity outside production', async () => {
    const { client } = connect({
      'x-identity': JSON.stringify({ userId: 'dev-user', email: 'dev@example.com', roles: [] }),
    });
    const outcome = await run<{ me: { email: string } | null }>(client, '{ me { email } }');
    expect(outcome).toEqual({ kind: 'result', data: { me: { email: 'dev@example.com' } } });
  });

  it('closes a connection without credentials with 4401', async () => {
    const { closes, isConnected } = connect({});
    await waitFor('the socket to close', () => closes.length > 0);
    expect(isConnected()).toBe(false);
    expect(closes[0]?.code).toBe(4401);
    expect(closes[0]?.reason).toMatch(/No credentials/);
  });

  it('closes a connection with a forged token with 4401 and says why', async () => {
    const token = await accessToken();
    const { closes, isConnected } = connect({ authorization: `Bearer ${token.slice(0, -4)}AAAA` });
    await waitFor('the socket to close', () => closes.length > 0);
    expect(isConnected()).toBe(false);
    expect(closes[0]?.code).toBe(4401);
    expect(closes[0]?.reason).toMatch(/Access token/);
  });

  it('serves a live subscription to the signed-in user; a bad one is refused, the socket stays', async () => {
    const { client, closes } = connect({ token: await accessToken() });
    const me = await run<{ me: { id: string } }>(client, '{ me { id } }');
    const userId = me.kind === 'result' ? me.data?.me.id : undefined;
    expect(userId).toBeDefined();

    const refused = await run(client, 'subscription { interviewUpdated { id } }');
    expect(refused.kind).toBe('error');
    const errors = refused.kind === 'error' ? (refused.error as GraphQLFormattedError[]) : [];
    expect(errors).toEqual([
      expect.objectContaining({
        message: expect.stringMatching(/argument "id" of type "ID!" is required/),
        extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
      }),
    ]);

    const activity = record<{ userActivity: { eventType: string; user: { email: string } } }>(
      client,
      {
        query: `subscription ($u: ID!) { userActivity(userId: $u) { eventType user { email } } }`,
        variables: { u: userId },
      },
    );
    await subscribersAtLeast(publicUrl, 1);
    const updated = await run(
      client,
      'mutation { updateProfile(input: { company: "Acme" }) { company } }',
    );
    expect(updated).toEqual({ kind: 'result', data: { updateProfile: { company: 'Acme' } } });
    const [event] = await activity.received(1);
    expect(event?.data).toEqual({
      userActivity: { eventType: 'user.profile_updated', user: { email: 'dev@example.com' } },
    });
    activity.dispose();
    expect(closes).toEqual([]);
  });

  it('formats GraphQL errors as over HTTP', async () => {
    const { client } = connect({ token: await accessToken() });
    const outcome = await run(client, '{ noSuchField }');
    expect(outcome).toMatchObject({
      kind: 'result',
      errors: [
        expect.objectContaining({
          extensions: expect.objectContaining({ code: 'GRAPHQL_VALIDATION_FAILED' }),
        }),
      ],
    });
  });

  it('ends the connection and its subscriptions with 4401 when the access token expires', async () => {
    const { client, closes, isConnected } = connect({
      authorization: `Bearer ${await accessToken()}`,
    });
    await waitFor('the connection to be acknowledged', isConnected);
    const live = record(client, { query: 'subscription { myInterviewEvents { eventId } }' });
    await subscribersAtLeast(publicUrl, 1);
    expect(closes).toEqual([]);
    await waitFor(
      'the socket to close at the token expiry',
      () => closes.length > 0,
      (ACCESS_TOKEN_TTL_SECONDS + 5) * 1000,
    );
    expect(closes[0]).toEqual({ code: 4401, reason: 'access token expired' });
    await waitFor(
      'the subscription to be gone',
      async () => (await metric(publicUrl, 'gateway_subscriptions')) === 0,
    );
    expect(live.completed || live.errors !== undefined || closes.length > 0).toBe(true);
  });
});
