/**
 * The users subgraph end to end: its own database (SQLite, and PostgreSQL when DATABASE_URL is
 * set), the real broker, a topic prefix of its own. Users are created the way production
 * creates them: the gateway publishes `user.registered`.
 */
import { randomUUID } from 'node:crypto';
import type { KafkaMessage } from 'kafkajs';
import {
  InterviewEventFactory,
  KafkaService,
  UserEventFactory,
  readHeaders,
  type EventEnvelope,
} from '../../events';
import { ProcessedEvent } from '../../events/consumers';
import { OutboxMessage } from '../../events/outbox';
import {
  deleteTopicsWithPrefix,
  randomName,
  readTopic,
  testDatabases,
  testKafka,
  topicPrefix,
  waitFor,
} from '../../test/helpers';
import { graphql, startTestSubgraph, type TestSubgraph } from '../../test/subgraph-helpers';
import type { Identity } from '../../contracts/identity';
import { User, UserActivity } from './entities';
import { usersSubgraph } from './server';

jest.setTimeout(90_000);

const ADMIN: Identity = { userId: 'admin-1', roles: ['admin'] };
const as = (userId: string): Identity => ({ userId, roles: [] });

const USER_FIELDS = `id email firstName lastName company createdAt lastLoginAt`;
const ME = `query { me { ${USER_FIELDS} recentActivity(first: 10) { kind eventType eventId description occurredAt } } }`;
const USER = `query ($id: ID!) { user(id: $id) { id email } }`;
const USERS = `query ($first: Int, $after: String) {
  users(first: $first, after: $after) {
    edges { cursor node { id } } pageInfo { hasNextPage endCursor } totalCount } }`;
const UPDATE = `mutation ($input: UpdateProfileInput!) {
  updateProfile(input: $input) { ${USER_FIELDS} } }`;
const ENTITIES = `query ($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on User { id email firstName } } }`;

interface MeData {
  me: {
    id: string;
    email: string;
    firstName: string | null;
    lastName: string | null;
    company: string | null;
    createdAt: string;
    lastLoginAt: string | null;
    recentActivity: {
      kind: string;
      eventType: string;
      eventId: string;
      description: string;
      occurredAt: string;
    }[];
  } | null;
}

const codes = (response: { errors?: { extensions?: Record<string, unknown> }[] }) =>
  (response.errors ?? []).map((e) => e.extensions?.code);

/** Topics of every block below; one prefix per block under it. */
const filePrefix = topicPrefix('users');

// Deleted once, after the last block: kafkajs's `listTopics` (KafkaService.start) fails while
// any topic of the cluster is still being deleted, so deleting between blocks races the next.
afterAll(() => deleteTopicsWithPrefix(filePrefix));

describe.each(testDatabases())('users subgraph on $label', ({ label, config }) => {
  const prefix = `${filePrefix}${label}.`;
  let subgraph: TestSubgraph;
  let gateway: KafkaService;
  let interviews: KafkaService;

  beforeAll(async () => {
    subgraph = await startTestSubgraph(usersSubgraph, config, prefix);
    // Topics exist now (the subgraph created them); the publishers only connect.
    gateway = testKafka('api-gateway', prefix, { topics: ['user-events'] });
    interviews = testKafka('interview-service', prefix, { topics: ['interview-events'] });
    await gateway.start();
    await interviews.start();
  });

  afterAll(async () => {
    await interviews?.stop();
    await gateway?.stop();
    await subgraph?.stop();
  });

  const me = (userId: string) => graphql<MeData>(subgraph.url, ME, {}, as(userId));

  /** Registers a user through the broker and waits until the profile exists. */
  async function register(
    profile: { firstName?: string; lastName?: string; company?: string } = {},
  ): Promise<{ userId: string; email: string; event: EventEnvelope<'user.registered'> }> {
    const userId = randomName('u');
    const email = `${userId}@example.com`;
    const event = UserEventFactory.createUserRegistered(userId, email, profile);
    await gateway.publishEvent('user-events', event);
    await waitFor(`profile of ${userId}`, async () => (await me(userId)).data?.me != null);
    return { userId, email, event };
  }

  /**
   * Waits until every user event published so far for `userId` has been handled: a sign-out
   * marker goes to the same partition (keyed by userId), so once its activity shows, what was
   * published before it has been handled too.
   */
  async function drainUserEvents(userId: string): Promise<void> {
    const marker = UserEventFactory.createUserLoggedOut(userId, randomUUID(), 'timeout');
    await gateway.publishEvent('user-events', marker);
    await waitFor('the marker event to be handled', async () =>
      Boolean(await subgraph.database.fork().findOne(ProcessedEvent, { eventId: marker.eventId })),
    );
  }

  const outboxRows = (userId: string) =>
    subgraph.database.fork().count(OutboxMessage, { aggregateId: userId });

  const parse = (message: KafkaMessage) =>
    JSON.parse(message.value?.toString() ?? 'null') as EventEnvelope;

  it('creates the profile from user.registered once, even when the event is delivered twice', async () => {
    const { userId, email, event } = await register({
      firstName: 'Ada',
      lastName: 'Lovelace',
      company: 'Analytical Engines',
    });
    await gateway.publishEvent('user-events', event); // redelivery: same eventId
    // A re-sent registration (new eventId) must not overwrite or log again either.
    await gateway.publishEvent(
      'user-events',
      UserEventFactory.createUserRegistered(userId, email, { firstName: 'Someone else' }),
    );
    await drainUserEvents(userId);

    const response = await me(userId);
    expect(response.errors).toBeUndefined();
    expect(response.data?.me).toMatchObject({
      id: userId,
      email,
      firstName: 'Ada',
      lastName: 'Lovelace',
      company: 'Analytical Engines',
      createdAt: event.timestamp,
      lastLoginAt: null,
    });
    const em = subgraph.database.fork();
    expect(await em.count(User, { id: userId })).toBe(1);
    expect(await em.count(UserActivity, { userId, kind: 'REGISTRATION' })).toBe(1);
    expect(await em.count(ProcessedEvent, { eventId: event.eventId })).toBe(1);
    expect(response.data?.me?.recentActivity.at(-1)).toMatchObject({
      kind: 'REGISTRATION',
      eventType: 'user.registered',
      eventId: event.eventId,
      description: 'registered via authentik',
    });
  });

  it('registers a burst of users in batches; a registration with a taken email is dead-lettered alone', async () => {
    const { email: taken } = await register();
    const fresh = Array.from({ length: 30 }, () => {
      const userId = randomName('u');
      return UserEventFactory.createUserRegistered(userId, `${userId}@example.com`);
    });
    const thief = UserEventFactory.createUserRegistered(randomName('u'), taken);
    // Published together, so the registrations share fetched batches with the poison one.
    await Promise.all(
      [...fresh.slice(0, 15), thief, ...fresh.slice(15)].map((e) =>
        gateway.publishEvent('user-events', e),
      ),
    );
    const ids = fresh.map((e) => e.payload.userId);
    const em = () => subgraph.database.fork();
    await waitFor('the 30 profiles', async () => (await em().count(User, { id: ids })) === 30);

    const dead = await readTopic(`${prefix}user-events.dlq`, (messages) =>
      messages.some((m) => parse(m).eventId === thief.eventId),
    );
    const letters = dead.filter((m) => parse(m).eventId === thief.eventId);
    expect(letters).toHaveLength(1);
    expect(readHeaders(letters[0]?.headers)['dlq-reason']).toContain(
      `email ${taken} already belongs`,
    );
    // CONFLICT: retrying cannot help, so it was dead-lettered at its first attempt.
    expect(readHeaders(letters[0]?.headers)['dlq-attempts']).toBe('1');
    expect(await em().count(User, { id: thief.payload.userId })).toBe(0);
    expect(await em().count(UserActivity, { userId: ids, kind: 'REGISTRATION' })).toBe(30);
    const freshIds = new Set(fresh.map((e) => e.eventId));
    expect(dead.filter((m) => freshIds.has(parse(m).eventId))).toEqual([]);
  });

  it('serves Prometheus metrics with HELP and TYPE lines, labelled with the subgraph', async () => {
    const response = await fetch(new URL('/metrics', subgraph.url));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toContain('# HELP subgraph_process_resident_memory_bytes');
    expect(text).toContain('# TYPE subgraph_process_resident_memory_bytes gauge');
    expect(text).toMatch(
      /^subgraph_process_resident_memory_bytes\{subgraph="users[^"]*"\} [1-9]\d*$/m,
    );
  });

  it('answers me: the profile, null before registration, UNAUTHENTICATED without identity', async () => {
    const { userId } = await register();
    expect((await me(userId)).data?.me?.id).toBe(userId);
    expect(await me('nobody-yet')).toMatchObject({ data: { me: null } });
    const anonymous = await graphql(subgraph.url, ME);
    expect(codes(anonymous)).toEqual(['UNAUTHENTICATED']);
  });

  it('updates the profile and publishes user.profile_updated through the outbox', async () => {
    const { userId } = await register({ firstName: 'Ada', company: 'Analytical Engines' });

    const response = await graphql<{ updateProfile: Record<string, unknown> }>(
      subgraph.url,
      UPDATE,
      // lastName omitted: left as it is; company null: cleared; firstName trimmed.
      { input: { firstName: '  Augusta ', company: null } },
      as(userId),
    );
    expect(response.errors).toBeUndefined();
    expect(response.data?.updateProfile).toMatchObject({
      id: userId,
      firstName: 'Augusta',
      lastName: null,
      company: null,
    });

    const topic = subgraph.kafka.topicName('user-events');
    const isOurs = (m: KafkaMessage) =>
      m.key?.toString() === userId && parse(m).eventType === 'user.profile_updated';
    const messages = (await readTopic(topic, (all) => all.some(isOurs))).filter(isOurs);
    expect(messages).toHaveLength(1);
    const [message] = messages as [KafkaMessage];
    const event = parse(message);
    expect(event).toEqual({
      eventId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      eventType: 'user.profile_updated',
      timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      version: '1.0',
      source: 'user-service',
      payload: {
        userId,
        updatedFields: ['firstName', 'company'],
        previousValues: { firstName: 'Ada', company: 'Analytical Engines' },
        newValues: { firstName: 'Augusta', company: null },
      },
    });
    expect(readHeaders(message.headers)).toMatchObject({
      'event-id': event.eventId,
      'event-type': 'user.profile_updated',
      'event-source': 'user-service',
    });

    // The PROFILE activity was written with the event; our own event coming back is ignored.
    await drainUserEvents(userId);
    const activity = (await me(userId)).data?.me?.recentActivity ?? [];
    expect(activity.filter((a) => a.kind === 'PROFILE')).toEqual([
      expect.objectContaining({
        eventType: 'user.profile_updated',
        eventId: event.eventId,
        description: 'updated firstName, company',
        occurredAt: event.timestamp,
      }),
    ]);
  });

  it('publishes nothing when nothing changes', async () => {
    const { userId } = await register({ firstName: 'Ada' });
    const response = await graphql<{ updateProfile: { firstName: string } }>(
      subgraph.url,
      UPDATE,
      { input: { firstName: ' Ada ', lastName: null } },
      as(userId),
    );
    expect(response.data?.updateProfile.firstName).toBe('Ada');
    // The outbox is the only way this service publishes: no row, no event.
    expect(await outboxRows(userId)).toBe(0);
    expect(await subgraph.database.fork().count(UserActivity, { userId, kind: 'PROFILE' })).toBe(0);
  });

  it('refuses invalid input with BAD_USER_INPUT naming the field, and publishes nothing', async () => {
    const { userId } = await register({ firstName: 'Ada' });
    const blank = await graphql(subgraph.url, UPDATE, { input: { lastName: '   ' } }, as(userId));
    expect(codes(blank)).toEqual(['BAD_USER_INPUT']);
    expect(blank.errors?.[0]?.extensions?.field).toBe('input.lastName');
    expect(blank.errors?.[0]?.message).toMatch(/^input\.lastName: /);

    const long = await graphql(
      subgraph.url,
      UPDATE,
      { input: { company: 'x'.repeat(201) } },
      as(userId),
    );
    expect(codes(long)).toEqual(['BAD_USER_INPUT']);
    expect(long.errors?.[0]?.extensions?.field).toBe('input.company');

    expect(await outboxRows(userId)).toBe(0);
    expect((await me(userId)).data?.me?.firstName).toBe('Ada');
  });

  it('refuses updateProfile with NOT_FOUND before the caller has a profile', async () => {
    const response = await graphql(
      subgraph.url,
      UPDATE,
      { input: { firstName: 'Ada' } },
      as('not-registered'),
    );
    expect(codes(response)).toEqual(['NOT_FOUND']);
    expect(response.errors?.[0]?.message).toMatch(/no profile yet/);
  });

  it('lets users read only themselves; admins read anyone', async () => {
    const a = await register();
    const b = await register();
    expect((await graphql(subgraph.url, USER, { id: a.userId }, as(a.userId))).data).toEqual({
      user: { id: a.userId, email: a.email },
    });
    const forbidden = await graphql(subgraph.url, USER, { id: b.userId }, as(a.userId));
    expect(codes(forbidden)).toEqual(['FORBIDDEN']);
    expect(forbidden.data).toEqual({ user: null });
    expect((await graphql(subgraph.url, USER, { id: b.userId }, ADMIN)).data).toEqual({
      user: { id: b.userId, email: b.email },
    });
    expect((await graphql(subgraph.url, USER, { id: 'unknown' }, ADMIN)).data).toEqual({
      user: null,
    });
  });

  it('lists users for admins only, oldest first, page by page', async () => {
    const mine = [await register(), await register(), await register()].map((u) => u.userId);
    expect(codes(await graphql(subgraph.url, USERS, { first: 2 }, as(mine[0] as string)))).toEqual([
      'FORBIDDEN',
    ]);
    for (const first of [0, 101]) {
      expect(codes(await graphql(subgraph.url, USERS, { first }, ADMIN))).toEqual([
        'BAD_USER_INPUT',
      ]);
    }
    expect(codes(await graphql(subgraph.url, USERS, { after: 'garbage' }, ADMIN))).toEqual([
      'BAD_USER_INPUT',
    ]);

    type Page = {
      users: {
        edges: { cursor: string; node: { id: string } }[];
        pageInfo: { hasNextPage: boolean; endCursor: string | null };
        totalCount: number;
      };
    };
    const seen: string[] = [];
    let after: string | null = null;
    let totalCount = 0;
    for (;;) {
      const page: Awaited<ReturnType<typeof graphql<Page>>> = await graphql<Page>(
        subgraph.url,
        USERS,
        { first: 2, after },
        ADMIN,
      );
      expect(page.errors).toBeUndefined();
      const users = (page.data as Page).users;
      totalCount = users.totalCount;
      seen.push(...users.edges.map((e) => e.node.id));
      expect(users.pageInfo.endCursor).toBe(users.edges.at(-1)?.cursor ?? null);
      if (!users.pageInfo.hasNextPage) break;
      after = users.pageInfo.endCursor;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toHaveLength(totalCount);
    // Registered one after the other, so in this order among everyone else.
    expect(seen.filter((id) => mine.includes(id))).toEqual(mine);
  });

  it('records sign-in and sign-out from user.authenticated and user.logged_out', async () => {
    const { userId, email } = await register();
    const at = new Date(Date.now() + 1000);
    const login = UserEventFactory.createUserAuthenticated(
      userId,
      email,
      's-1',
      { authMethod: 'oauth2', ipAddress: '203.0.113.7' },
      { timestamp: at },
    );
    await gateway.publishEvent('user-events', login);
    await gateway.publishEvent('user-events', login); // redelivery
    await gateway.publishEvent(
      'user-events',
      UserEventFactory.createUserLoggedOut(userId, 's-1', 'manual'),
    );
    await drainUserEvents(userId);

    const profile = (await me(userId)).data?.me;
    expect(profile?.lastLoginAt).toBe(at.toISOString());
    const logins = profile?.recentActivity.filter((a) => a.kind === 'LOGIN');
    expect(logins).toEqual([
      expect.objectContaining({ eventId: login.eventId, occurredAt: at.toISOString() }),
    ]);
    expect(logins?.[0]?.description).toContain('oauth2');
    expect(profile?.recentActivity.map((a) => a.description)).toContain('signed out (manual)');
  });

  it('records interview events as INTERVIEW activity of their candidate', async () => {
    const { userId } = await register();
    // Several interviews, so their events land on every partition of interview-events.
    const completed = Array.from({ length: 6 }, (_, i) =>
      InterviewEventFactory.create('interview.completed', {
        interviewId: `i-${i}-${userId}`,
        candidateId: userId,
        completedAt: new Date().toISOString(),
        answeredQuestions: 3,
        totalQuestions: 3,
        durationSeconds: 600,
      }),
    );
    for (const event of completed) await interviews.publishEvent('interview-events', event);
    const stranger = InterviewEventFactory.create('interview.started', {
      interviewId: 'i-x',
      candidateId: 'no-such-user',
      startedAt: new Date().toISOString(),
    });
    await interviews.publishEvent('interview-events', stranger);

    const interviewActivity = async () =>
      subgraph.database.fork().find(UserActivity, { userId, kind: 'INTERVIEW' });
    await waitFor('six INTERVIEW activities', async () => (await interviewActivity()).length === 6);
    expect((await interviewActivity()).map((a) => a.description).sort()).toEqual(
      completed
        .map((e) => `interview ${e.payload.interviewId} completed (3 of 3 questions answered)`)
        .sort(),
    );
    await waitFor('the stranger event to be handled', async () =>
      Boolean(
        await subgraph.database.fork().findOne(ProcessedEvent, { eventId: stranger.eventId }),
      ),
    );
    expect(await subgraph.database.fork().count(UserActivity, { userId: 'no-such-user' })).toBe(0);
  });

  it('resolves User entity references for the user themself and admins', async () => {
    const a = await register({ firstName: 'Ada' });
    const b = await register();
    const representations = [{ __typename: 'User', id: a.userId }];
    expect((await graphql(subgraph.url, ENTITIES, { representations }, as(a.userId))).data).toEqual(
      { _entities: [{ id: a.userId, email: a.email, firstName: 'Ada' }] },
    );
    expect((await graphql(subgraph.url, ENTITIES, { representations }, ADMIN)).data).toEqual({
      _entities: [{ id: a.userId, email: a.email, firstName: 'Ada' }],
    });
    const forbidden = await graphql(subgraph.url, ENTITIES, { representations }, as(b.userId));
    expect(codes(forbidden)).toEqual(['FORBIDDEN']);
    expect(
      (
        await graphql(
          subgraph.url,
          ENTITIES,
          { representations: [{ __typename: 'User', id: 'unknown' }] },
          ADMIN,
        )
      ).data,
    ).toEqual({ _entities: [null] });
  });

  it('bounds recentActivity(first) to 1..50', async () => {
    const { userId } = await register();
    const query = `query ($first: Int) { me { recentActivity(first: $first) { kind } } }`;
    for (const first of [0, 51]) {
      const response = await graphql(subgraph.url, query, { first }, as(userId));
      expect(codes(response)).toEqual(['BAD_USER_INPUT']);
    }
    const ok = await graphql<{ me: { recentActivity: { kind: string }[] } }>(
      subgraph.url,
      query,
      { first: 1 },
      as(userId),
    );
    expect(ok.data?.me.recentActivity).toEqual([{ kind: 'REGISTRATION' }]);
  });
});
