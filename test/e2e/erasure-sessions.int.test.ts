/**
 * The erasure saga's first step at the gateway, where sessions live: a user signed in through
 * the development IdP asks for their account's erasure, and their session ends at once (the
 * cookie gets 401), announced with `user.logged_out` (reason `security`), and signing in again
 * is refused (`ACCOUNT_SUSPENDED`).
 */
import type { DevProvider } from '../../scripts/dev-idp';
import { signInAsDevUser, signInAtGateway, startTestIdp } from '../browser';
import { eventOf, readTopic, waitFor } from '../helpers';
import { startTestPlatform, type TestPlatform } from '../platform';
import { postGraphQL } from '../subgraph-helpers';

jest.setTimeout(90_000);

describe('account erasure and the gateway sessions', () => {
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

  it("ends the user's session and refuses their sign-in when the saga suspends the account", async () => {
    const session = await signInAsDevUser(publicUrl, webhookSecret);
    const gql = <T>(query: string, variables: Record<string, unknown> = {}) =>
      postGraphQL<T>(`${publicUrl}/graphql`, query, variables, { cookie: session });
    await waitFor('the profile', async () => {
      const me = await gql<{ me: { id: string } | null }>('{ me { id } }');
      return me.data?.me != null;
    });

    const asked = await gql<{ requestAccountErasure: { id: string } }>(
      'mutation { requestAccountErasure(userId: "dev-user") { id } }',
    );
    expect(asked.errors).toBeUndefined();

    await waitFor('the session to end', async () => (await gql('{ me { id } }')).status === 401);
    const refused = await gql('{ me { id } }');
    expect(refused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const events = await readTopic(`${platform.topicPrefix}user-events`, (messages) =>
      messages.some((m) => eventOf(m).eventType === 'user.logged_out'),
    );
    const loggedOut = events.map(eventOf).find((e) => e.eventType === 'user.logged_out');
    expect(loggedOut?.payload).toMatchObject({ userId: 'dev-user', reason: 'security' });

    // Signing in again is refused while the account is suspended.
    const again = await signInAtGateway(publicUrl, 'dev@example.com', 'dev');
    expect(again.callback.status).toBe(403);
    expect(await again.callback.json()).toMatchObject({ error: 'ACCOUNT_SUSPENDED' });
    expect(again.session).toBe('');
  });
});
