/**
 * End to end through the gateway: three subgraphs with their databases, outbox relays and
 * consumers, the real broker, and federated queries spanning all three.
 */
import type { KafkaMessage } from 'kafkajs';
import { UserEventFactory } from '../../events';
import {
  eventOf,
  groupCaughtUp,
  randomName,
  readTopic,
  testAdmin,
  testDatabases,
  testUser,
  waitFor,
} from '../helpers';
import {
  createInterview as create,
  gatewayCaller,
  startTestPlatform,
  type TestPlatform,
} from '../platform';
import type { Identity } from '../../contracts/identity';

jest.setTimeout(120_000);

const words = (n: number) => Array.from({ length: n }, (_, i) => `word${i}`).join(' ');

describe.each(testDatabases())('the platform on $label', ({ config }) => {
  let platform: TestPlatform;
  let prefix: string;
  const alice = testUser('alice');
  const admin = testAdmin();
  const gql = gatewayCaller(() => platform.gatewayUrl, alice);

  beforeAll(async () => {
    platform = await startTestPlatform({ database: config });
    prefix = platform.topicPrefix;
    await platform.register(alice, { firstName: 'Alice' });
    await waitFor('the users service to create the profile', async () => {
      const response = await gql<{ me: { email: string } | null }>('{ me { email } }');
      return response.data?.me?.email === 'alice@example.com';
    });
  });

  afterAll(() => platform?.stop());

  const createInterview = (questions: string[]) =>
    create(gql, { title: 'Backend screen', position: 'Engineer', questions });

  /** An interview mutation of `id` (`startInterview`, ...), selecting the new status. */
  const act = (mutation: string, id: string) =>
    gql<Record<string, { status: string }>>(
      `mutation ($id: ID!) { ${mutation}(id: $id) { status } }`,
      { id },
    );

  it('answers a query spanning users, interviews and reporting', async () => {
    const interview = await createInterview(['Tell us about yourself', 'Why this role?']);
    expect((await act('startInterview', interview.id)).data).toEqual({
      startInterview: { status: 'IN_PROGRESS' },
    });
    for (const [question, count] of [
      [interview.questions[0]!, 50],
      [interview.questions[1]!, 25],
    ] as const) {
      const answered = await gql(
        `mutation ($i: ID!, $q: ID!, $c: String!) { submitAnswer(interviewId: $i, questionId: $q, content: $c) { status } }`,
        { i: interview.id, q: question, c: words(count) },
      );
      expect(answered.errors).toBeUndefined();
    }
    expect((await act('completeInterview', interview.id)).data).toEqual({
      completeInterview: { status: 'COMPLETED' },
    });

    const query = `{ me { email interviews { title status report { answers score } } stats { interviewsCompleted } } }`;
    type Me = { me: { stats: { interviewsCompleted: number } } };
    await waitFor('the reporting read model', async () => {
      const response = await gql<Me>(query);
      return response.data?.me.stats.interviewsCompleted === 1;
    });
    const response = await gql(query);
    expect(response.errors).toBeUndefined();
    // Score: 70 × completion (2/2) + 30 × min(1, 37.5 average words / 50) = 70 + 22.5 → 93.
    expect(response.data).toEqual({
      me: {
        email: 'alice@example.com',
        interviews: [
          { title: 'Backend screen', status: 'COMPLETED', report: { answers: 2, score: 93 } },
        ],
        stats: { interviewsCompleted: 1 },
      },
    });
  });

  it('refuses an invalid transition, invalid input and an unknown id with codes, publishing nothing', async () => {
    const interview = await createInterview(['Only question']);
    const invalid = await act('completeInterview', interview.id);
    expect(invalid.errors?.[0]?.extensions?.code).toBe('INVALID_TRANSITION');
    expect(invalid.errors?.[0]?.message).toMatch(/complete/i);

    const badInput = await gql(
      `mutation ($input: CreateInterviewInput!) { createInterview(input: $input) { id } }`,
      { input: { title: '', position: 'Engineer', questions: ['q'] } },
    );
    expect(badInput.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(badInput.errors?.[0]?.message).toMatch(/title/);

    const unknown = await act('startInterview', 'no-such-interview');
    expect(unknown.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');

    // A later valid action: once it is on the topic, everything before it is too.
    await act('cancelInterview', interview.id);
    const eventsOf = (messages: KafkaMessage[]) =>
      messages
        .map(eventOf)
        .filter((e) => e.payload['interviewId'] === interview.id)
        .map((e) => e.eventType);
    const messages = await readTopic(`${prefix}interview-events`, (m) =>
      eventsOf(m).includes('interview.cancelled'),
    );
    expect(eventsOf(messages)).toEqual(['interview.created', 'interview.cancelled']);
  });

  it('resumes a paused interview when its candidate signs in, once per event', async () => {
    const interview = await createInterview(['First question']);
    await act('startInterview', interview.id);
    await act('pauseInterview', interview.id);
    const signedIn = UserEventFactory.createUserAuthenticated(
      alice.userId,
      'alice@example.com',
      randomName('session'),
      { authMethod: 'oauth2' },
    );
    await platform.gatewayEvents.publishEvent('user-events', signedIn);
    const read = () =>
      gql<{ interview: { status: string } }>(`query ($id: ID!) { interview(id: $id) { status } }`, {
        id: interview.id,
      });
    await waitFor('the interviews service to resume the interview', async () => {
      return (await read()).data?.interview.status === 'IN_PROGRESS';
    });
    const resumedEvents = (messages: KafkaMessage[]) =>
      messages
        .map(eventOf)
        .filter(
          (e) => e.eventType === 'interview.resumed' && e.payload['interviewId'] === interview.id,
        );
    const published = await readTopic(
      `${prefix}interview-events`,
      (m) => resumedEvents(m).length >= 1,
    );
    expect(resumedEvents(published).map((e) => e.payload['trigger'])).toEqual([
      'user_authenticated',
    ]);

    // The same event again, while the interview is paused again: nothing happens. Waiting for
    // the group to commit everything published so far tells when it is past the duplicate.
    await act('pauseInterview', interview.id);
    await platform.gatewayEvents.publishEvent('user-events', signedIn);
    await groupCaughtUp(prefix, 'interview-service-group', 'user-events');
    expect((await read()).data?.interview.status).toBe('PAUSED');
  });

  it('sets up default interview preferences at registration, changeable through GraphQL', async () => {
    type Prefs = {
      me: {
        interviewPreferences: {
          timezone: string;
          reminderMinutesBefore: number;
          autoResume: boolean;
        } | null;
      };
    };
    const query = `{ me { interviewPreferences { timezone reminderMinutesBefore autoResume } } }`;
    await waitFor('the interviews service to set up the preferences', async () => {
      return (await gql<Prefs>(query)).data?.me.interviewPreferences != null;
    });
    expect((await gql<Prefs>(query)).data?.me.interviewPreferences).toEqual({
      timezone: 'UTC',
      reminderMinutesBefore: 30,
      autoResume: true,
    });

    const update = (input: Record<string, unknown>) =>
      gql(
        `mutation ($input: InterviewPreferencesInput!) { updateInterviewPreferences(input: $input) { timezone reminderMinutesBefore autoResume } }`,
        { input },
      );
    const bad = await update({ timezone: 'Mars/Olympus_Mons' });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(bad.errors?.[0]?.message).toMatch(/input\.timezone/);
    expect((await update({ timezone: 'Europe/Berlin', autoResume: false })).data).toEqual({
      updateInterviewPreferences: {
        timezone: 'Europe/Berlin',
        reminderMinutesBefore: 30,
        autoResume: false,
      },
    });

    // With autoResume off, signing in leaves a paused interview paused.
    const interview = await createInterview(['Only question']);
    await act('startInterview', interview.id);
    await act('pauseInterview', interview.id);
    await platform.gatewayEvents.publishEvent(
      'user-events',
      UserEventFactory.createUserAuthenticated(alice.userId, 'alice@example.com', randomName('s'), {
        authMethod: 'oauth2',
      }),
    );
    await groupCaughtUp(prefix, 'interview-service-group', 'user-events');
    const status = await gql<{ interview: { status: string } }>(
      `query ($id: ID!) { interview(id: $id) { status } }`,
      { id: interview.id },
    );
    expect(status.data?.interview.status).toBe('PAUSED');
    await update({ autoResume: true });
  });

  it('keeps an audit trail of every topic that admins query, in order', async () => {
    const interview = await createInterview(['Audited question']);
    await act('startInterview', interview.id);
    await act('cancelInterview', interview.id);
    type Trail = {
      auditTrail: {
        eventId: string;
        topic: string;
        eventType: string;
        source: string;
        actor: string | null;
        subject: string | null;
        occurredAt: string;
      }[];
    };
    const query = `query ($actor: ID!) { auditTrail(actor: $actor, first: 1000) { eventId topic eventType source actor subject occurredAt } }`;
    const trail = async () => (await gql<Trail>(query, { actor: alice.userId }, admin)).data;
    await waitFor('the audit consumer to record the interview', async () =>
      ((await trail())?.auditTrail ?? []).some(
        (e) => e.subject === interview.id && e.eventType === 'interview.cancelled',
      ),
    );
    const entries = (await trail())!.auditTrail;
    expect(entries[0]).toMatchObject({
      topic: `user-events`,
      eventType: 'user.registered',
      source: 'api-gateway',
      actor: alice.userId,
    });
    expect(entries.filter((e) => e.subject === interview.id).map((e) => e.eventType)).toEqual([
      'interview.created',
      'interview.started',
      'interview.cancelled',
    ]);
    const times = entries.map((e) => Date.parse(e.occurredAt));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(new Set(entries.map((e) => e.eventId)).size).toBe(entries.length);
    expect(entries.every((e) => e.source.length > 0)).toBe(true);

    const refused = await gql(query, { actor: alice.userId });
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('keeps users apart and lets admins see everything', async () => {
    const interview = await createInterview(['Private question']);
    const bob: Identity = { userId: randomName('bob'), roles: [] };
    const asBob = await gql(
      `query ($id: ID!) { interview(id: $id) { title } }`,
      { id: interview.id },
      bob,
    );
    expect(asBob.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const asAdmin = await gql(
      `query ($id: ID!) { interview(id: $id) { title candidate { email } } }`,
      { id: interview.id },
      admin,
    );
    expect(asAdmin.errors).toBeUndefined();
    expect(asAdmin.data).toEqual({
      interview: { title: 'Backend screen', candidate: { email: 'alice@example.com' } },
    });
  });

  it("answers an interview's history through the gateway, each event's entities from their subgraphs", async () => {
    const interview = await createInterview(['What is an event stream?']);
    for (const mutation of ['startInterview', 'pauseInterview', 'completeInterview']) {
      const done = await gql(`mutation ($id: ID!) { ${mutation}(id: $id) { id } }`, {
        id: interview.id,
      });
      expect(done.errors).toBeUndefined();
    }
    const response = await gql<{
      interview: {
        history: { __typename: string; eventType: string; interview: { status: string } }[];
        stateAt: { status: string; sequence: number };
      };
    }>(
      `query ($id: ID!) { interview(id: $id) {
        history {
          __typename eventType
          interview { status candidate { email } }
          ... on InterviewCreatedEvent { createdBy { email } }
          ... on InterviewPausedEvent { reason }
        }
      } }`,
      { id: interview.id },
    );
    expect(response.errors).toBeUndefined();
    const history = response.data!.interview.history;
    expect(history).toEqual([
      {
        __typename: 'InterviewCreatedEvent',
        eventType: 'interview.created',
        interview: { status: 'COMPLETED', candidate: { email: 'alice@example.com' } },
        createdBy: { email: 'alice@example.com' },
      },
      expect.objectContaining({ __typename: 'InterviewStartedEvent' }),
      expect.objectContaining({ __typename: 'InterviewPausedEvent', reason: 'MANUAL' }),
      expect.objectContaining({ __typename: 'InterviewCompletedEvent' }),
    ]);
    const ids = await gql<{ interview: { history: { eventId: string }[] } }>(
      `query ($id: ID!) { interview(id: $id) { history { eventId } } }`,
      { id: interview.id },
    );
    const paused = ids.data!.interview.history[2]!.eventId;
    const state = await gql<{ interview: { stateAt: { status: string; sequence: number } } }>(
      `query ($id: ID!, $e: ID!) { interview(id: $id) { stateAt(eventId: $e) { status sequence } } }`,
      { id: interview.id, e: paused },
    );
    expect(state.data?.interview.stateAt).toEqual({ status: 'PAUSED', sequence: 3 });
  });
});
