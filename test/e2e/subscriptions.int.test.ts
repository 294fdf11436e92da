/**
 * Live federated subscriptions end to end: the three subgraphs with their databases and
 * consumers, the real broker, gateways serving graphql-ws, and real graphql-ws clients.
 * Mutations go over HTTP; their events come back through Kafka, resolved across subgraphs.
 */
import { randomBytes } from 'node:crypto';
import { rawKafka, readTopic, testAdmin, testUser } from '../helpers';
import {
  asIdentity,
  liveClients,
  metric,
  pastCreation,
  recordings,
  subscribersAtLeast,
} from '../live';
import {
  createInterview as create,
  gatewayCaller,
  startTestPlatform,
  type TestPlatform,
} from '../platform';
import type { Identity } from '../../contracts/identity';

jest.setTimeout(120_000);

describe('live subscriptions', () => {
  let platform: TestPlatform;
  let prefix: string;
  const clients = liveClients();
  const { subscribe, disposeAll } = recordings();
  const alice = testUser('alice');
  const bob = testUser('bob');
  const admin = testAdmin();

  const gql = gatewayCaller(() => platform.gatewayUrl, alice);

  /** A live client as `who` (an identity), or with these connection params. */
  const connect = (who: Identity | Record<string, unknown>, url = platform.gatewayUrl) =>
    clients.connect(url, 'userId' in who ? asIdentity(who as Identity) : who);

  const createInterview = (who: Identity, questions = 6) =>
    create(
      gql,
      {
        title: `Interview of ${who.userId}`,
        position: 'Engineer',
        questions: Array.from({ length: questions }, (_, i) => `Question ${i + 1}`),
      },
      who,
    );

  const act = async (mutation: string, id: string, who = alice) => {
    const response = await gql(
      `mutation ($id: ID!) { ${mutation}(id: $id) { status } }`,
      { id },
      who,
    );
    expect(response.errors).toBeUndefined();
  };

  const answer = async (interviewId: string, questionId: string, who = alice) => {
    const response = await gql(
      `mutation ($i: ID!, $q: ID!) { submitAnswer(interviewId: $i, questionId: $q, content: "an answer") { status } }`,
      { i: interviewId, q: questionId },
      who,
    );
    expect(response.errors).toBeUndefined();
  };

  beforeAll(async () => {
    platform = await startTestPlatform();
    prefix = platform.topicPrefix;
    await platform.register(alice);
    await platform.register(bob);
  });

  afterEach(() => {
    disposeAll();
  });

  afterAll(async () => {
    await clients.disposeAll();
    await platform?.stop();
  });

  it('delivers a mutation to a subscriber, resolved across the subgraphs', async () => {
    const interview = await createInterview(alice);
    const { client } = connect(alice);
    const updates = subscribe<{
      interviewUpdated: { id: string; title: string; status: string; candidate: { email: string } };
    }>(
      client,
      {
        query: `subscription ($id: ID!) { interviewUpdated(id: $id) { id title status candidate { email } } }`,
        variables: { id: interview.id },
      },
      pastCreation,
    );
    const typed = subscribe<{
      myInterviewEvents: {
        __typename: string;
        eventType: string;
        interview: { id: string; status: string; candidate: { email: string } };
        startedAt?: string;
      };
    }>(
      client,
      {
        query: `subscription { myInterviewEvents { __typename eventType interview { id status candidate { email } } ... on InterviewStartedEvent { startedAt } } }`,
      },
      pastCreation,
    );
    await subscribersAtLeast(platform.gatewayUrl, 2);

    await act('startInterview', interview.id);

    const [update] = await updates.received(1);
    expect(update!.errors).toBeUndefined();
    // title and status from interviews, email from users, id from the event.
    expect(update!.data).toEqual({
      interviewUpdated: {
        id: interview.id,
        title: `Interview of ${alice.userId}`,
        status: 'IN_PROGRESS',
        candidate: { email: 'alice@example.com' },
      },
    });
    expect(update!.extensions?.eventId).toMatch(/^[0-9a-f-]{36}$/);
    expect(update!.extensions?.cursor).toMatch(/^c1\./);

    const [event] = await typed.received(1);
    expect(event!.data?.myInterviewEvents).toEqual({
      __typename: 'InterviewStartedEvent',
      eventType: 'interview.started',
      interview: {
        id: interview.id,
        status: 'IN_PROGRESS',
        candidate: { email: 'alice@example.com' },
      },
      startedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(event!.extensions?.eventId).toBe(update!.extensions?.eventId);
  });

  it('keeps subscribers of one interview from seeing another', async () => {
    const x = await createInterview(alice);
    const y = await createInterview(alice);
    const { client } = connect(alice);
    const query = `subscription ($id: ID!) { interviewUpdated(id: $id) { id status } }`;
    const ofX = subscribe<{ interviewUpdated: { id: string; status: string } }>(
      client,
      {
        query,
        variables: { id: x.id },
      },
      pastCreation,
    );
    const ofY = subscribe<{ interviewUpdated: { id: string; status: string } }>(
      client,
      {
        query,
        variables: { id: y.id },
      },
      pastCreation,
    );
    await subscribersAtLeast(platform.gatewayUrl, 2);

    // Each event is resolved when it arrives, with the state of that moment: wait for one event
    // before the next change, so the states seen are those of each event.
    await act('startInterview', x.id);
    await act('startInterview', y.id);
    await ofX.received(1);
    await ofY.received(1);
    await act('pauseInterview', y.id);
    await act('pauseInterview', x.id);
    await ofX.received(2);
    await ofY.received(2);
    // One more event of Y: if X's subscriber were to get Y's events, it would by now.
    await act('resumeInterview', y.id);
    await ofY.received(3);
    expect(ofX.results.map((r) => r.data?.interviewUpdated)).toEqual([
      { id: x.id, status: 'IN_PROGRESS' },
      { id: x.id, status: 'PAUSED' },
    ]);
    expect(ofY.results.map((r) => r.data?.interviewUpdated)).toEqual([
      { id: y.id, status: 'IN_PROGRESS' },
      { id: y.id, status: 'PAUSED' },
      { id: y.id, status: 'IN_PROGRESS' },
    ]);
  });

  it("refuses connections without valid credentials, and other users' events", async () => {
    const anonymous = connect({});
    await expect(
      new Promise((resolve) => {
        const check = setInterval(() => {
          if (anonymous.closes.length > 0) {
            clearInterval(check);
            resolve(anonymous.closes[0]);
          }
        }, 20);
      }),
    ).resolves.toEqual({ code: 4401, reason: expect.stringMatching(/credentials/i) });

    const malformed = connect({ 'x-identity': 'not json' });
    await subscribe(malformed.client, { query: 'subscription { myInterviewEvents { eventId } }' })
      .refused()
      .catch(() => undefined);
    expect(malformed.closes[0]?.code).toBe(4401);

    const { client } = connect(alice);
    const bobsActivity = subscribe(client, {
      query: `subscription ($u: ID!) { userActivity(userId: $u) { eventType } }`,
      variables: { u: bob.userId },
    });
    expect((await bobsActivity.refused())[0]?.extensions?.['code']).toBe('FORBIDDEN');

    const bobsInterview = await createInterview(bob);
    const spying = subscribe(client, {
      query: `subscription ($id: ID!) { interviewUpdated(id: $id) { id } }`,
      variables: { id: bobsInterview.id },
    });
    expect((await spying.refused())[0]?.extensions?.['code']).toBe('FORBIDDEN');

    const system = subscribe(client, { query: 'subscription { systemEvents { eventType } }' });
    expect((await system.refused())[0]?.extensions?.['code']).toBe('FORBIDDEN');

    // Her own activity is fine, and an admin may follow anyone's.
    const own = subscribe(client, {
      query: `subscription ($u: ID!) { userActivity(userId: $u) { eventType user { email } } }`,
      variables: { u: alice.userId },
    });
    const watched = subscribe(connect(admin).client, {
      query: `subscription ($u: ID!) { userActivity(userId: $u) { eventType } }`,
      variables: { u: alice.userId },
    });
    await subscribersAtLeast(platform.gatewayUrl, 2);
    const updated = await gql(`mutation { updateProfile(input: { company: "Acme" }) { company } }`);
    expect(updated.errors).toBeUndefined();
    const [mine] = await own.received(1);
    expect(mine!.data).toEqual({
      userActivity: { eventType: 'user.profile_updated', user: { email: 'alice@example.com' } },
    });
    await watched.received(1);
  });

  it('resumes from a cursor: exactly the missed events, in order, then live ones', async () => {
    const interview = await createInterview(alice, 8);
    const query = `subscription { myInterviewEvents { eventType ... on InterviewAnswerSubmittedEvent { answeredQuestions } } }`;
    const first = connect(alice);
    const before = subscribe<{ myInterviewEvents: { eventType: string } }>(
      first.client,
      { query },
      pastCreation,
    );
    await subscribersAtLeast(platform.gatewayUrl, 1);
    await act('startInterview', interview.id);
    const [started] = await before.received(1);
    await first.client.dispose();

    for (const question of interview.questions.slice(0, 5)) await answer(interview.id, question);

    const again = connect(alice);
    const resumed = subscribe<{
      myInterviewEvents: { eventType: string; answeredQuestions?: number };
    }>(again.client, { query, extensions: { cursor: started!.extensions!.cursor } });
    const missed = await resumed.received(5);
    expect(missed.map((r) => r.data?.myInterviewEvents)).toEqual(
      [1, 2, 3, 4, 5].map((n) => ({
        eventType: 'interview.answer_submitted',
        answeredQuestions: n,
      })),
    );
    expect(new Set(missed.map((r) => r.extensions?.eventId)).size).toBe(5);

    await answer(interview.id, interview.questions[5]!);
    const all = await resumed.received(6);
    expect(all[5]!.data?.myInterviewEvents).toEqual({
      eventType: 'interview.answer_submitted',
      answeredQuestions: 6,
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(resumed.results).toHaveLength(6);
    expect(await metric(platform.gatewayUrl, 'gateway_subscription_resumes_total')).toBeGreaterThan(
      0,
    );
  });

  it('delivers an event published twice (a relay retrying a publish) once', async () => {
    const interview = await createInterview(alice, 1);
    const query = `subscription { myInterviewEvents { eventId eventType } }`;
    const { client } = connect(alice);
    const watcher = subscribe<{ myInterviewEvents: { eventId: string; eventType: string } }>(
      client,
      { query },
      pastCreation,
    );
    await subscribersAtLeast(platform.gatewayUrl, 1);
    await act('startInterview', interview.id);
    const [started] = await watcher.received(1);

    // The same message again, at a later offset, as an outbox relay that never saw its
    // acknowledgement sends it.
    const eventId = started!.extensions!.eventId;
    const topic = `${prefix}interview-events`;
    const [original] = (
      await readTopic(topic, (all) => all.some((m) => m.value?.toString().includes(eventId)))
    ).filter((m) => m.value?.toString().includes(eventId));
    const producer = rawKafka().producer();
    await producer.connect();
    try {
      await producer.send({
        topic,
        messages: [
          { key: original!.key, value: original!.value, headers: original!.headers ?? {} },
        ],
      });
    } finally {
      await producer.disconnect();
    }
    await act('pauseInterview', interview.id);
    const results = await watcher.received(2);
    expect(results.map((r) => r.data?.myInterviewEvents.eventType)).toEqual([
      'interview.started',
      'interview.paused',
    ]);
    await new Promise((r) => setTimeout(r, 300));
    expect(watcher.results).toHaveLength(2);
  });

  it('refuses a forged or foreign cursor', async () => {
    const { client } = connect(alice);
    const forged = subscribe(client, {
      query: 'subscription { myInterviewEvents { eventId } }',
      extensions: {
        cursor: `c1.${Buffer.from('x|0,0,0').toString('base64url')}.${randomBytes(16).toString('base64url')}`,
      },
    });
    const [error] = await forged.refused();
    expect(error?.extensions?.['code']).toBe('BAD_CURSOR');
    expect(error?.message).toMatch(/altered/);
  });
});
