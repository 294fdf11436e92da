/**
 * The interviews subgraph end to end: real HTTP, a real database (SQLite, and PostgreSQL when
 * DATABASE_URL is set) and the real broker. Events are read back from `interview-events`.
 */
import type { AbstractSqlConnection } from '@mikro-orm/knex';
import type { KafkaMessage } from 'kafkajs';
import { EVENT_HEADERS, readHeaders } from '../../events/kafka/headers';
import type { EventOn } from '../../events/catalog';
import { decodeEvent } from '../../events/validate';
import { deleteTopicsWithPrefix, randomName, readTopic, testDatabases } from '../../test/helpers';
import {
  graphql,
  startTestSubgraph,
  type GraphQLResponse,
  type TestSubgraph,
} from '../../test/subgraph-helpers';
import type { Identity } from '../../contracts/identity';
import { interviewsSubgraph } from './server';

jest.setTimeout(120_000);

type InterviewEvent = EventOn<'interview-events'>;

interface QuestionView {
  id: string;
  position: number;
  text: string;
}

interface AnswerView {
  id: string;
  content: string;
  wordCount: number;
  submittedAt: string;
  question: { id: string };
}

interface InterviewView {
  __typename: 'Interview';
  id: string;
  title: string;
  position: string;
  status: string;
  candidate: { __typename: 'User'; id: string };
  questions: QuestionView[];
  answers: AnswerView[];
  createdAt: string;
  scheduledFor: string | null;
  startedAt: string | null;
  pausedAt: string | null;
  completedAt: string | null;
  cancelledAt: string | null;
}

const INTERVIEW = /* GraphQL */ `
  fragment I on Interview {
    __typename
    id
    title
    position
    status
    candidate {
      __typename
      id
    }
    questions {
      id
      position
      text
    }
    answers {
      id
      content
      wordCount
      submittedAt
      question {
        id
      }
    }
    createdAt
    scheduledFor
    startedAt
    pausedAt
    completedAt
    cancelledAt
  }
`;

const CREATE = `mutation($input: CreateInterviewInput!) { createInterview(input: $input) { ...I } } ${INTERVIEW}`;
const SCHEDULE = `mutation($id: ID!, $at: DateTime!) { scheduleInterview(id: $id, scheduledFor: $at) { ...I } } ${INTERVIEW}`;
const START = `mutation($id: ID!) { startInterview(id: $id) { ...I } } ${INTERVIEW}`;
const ANSWER = `mutation($id: ID!, $q: ID!, $content: String!) { submitAnswer(interviewId: $id, questionId: $q, content: $content) { ...I } } ${INTERVIEW}`;
const PAUSE = `mutation($id: ID!) { pauseInterview(id: $id) { ...I } } ${INTERVIEW}`;
const RESUME = `mutation($id: ID!) { resumeInterview(id: $id) { ...I } } ${INTERVIEW}`;
const COMPLETE = `mutation($id: ID!) { completeInterview(id: $id) { ...I } } ${INTERVIEW}`;
const CANCEL = `mutation($id: ID!, $reason: String) { cancelInterview(id: $id, reason: $reason) { ...I } } ${INTERVIEW}`;
const GET = `query($id: ID!) { interview(id: $id) { ...I } } ${INTERVIEW}`;
const LIST = `query($filter: InterviewFilter, $first: Int, $after: String) {
  interviews(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { ...I } }
  }
} ${INTERVIEW}`;
const ENTITIES = `query($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on Interview { ...I }
    ... on User { id interviews { id status } }
  }
} ${INTERVIEW}`;

const MUTATION_OF = {
  schedule: SCHEDULE,
  start: START,
  pause: PAUSE,
  resume: RESUME,
  complete: COMPLETE,
  cancel: CANCEL,
} as const;

const inADay = () => new Date(Date.now() + 86_400_000).toISOString();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe.each(testDatabases())('interviews subgraph on $label', ({ config }) => {
  let subgraph: TestSubgraph;
  let prefix: string;
  let topic: string;

  // Fresh users per test file run, so listings only see this run's interviews.
  const alice: Identity = { userId: randomName('alice'), roles: [] };
  const bob: Identity = { userId: randomName('bob'), roles: [] };
  const admin: Identity = { userId: randomName('admin'), roles: ['admin'] };

  beforeAll(async () => {
    prefix = `${randomName('t')}.`;
    subgraph = await startTestSubgraph(interviewsSubgraph, config, prefix);
    topic = subgraph.kafka.topicName('interview-events');
  });

  afterAll(async () => {
    await subgraph?.stop();
    await deleteTopicsWithPrefix(prefix);
  });

  // --- helpers ---------------------------------------------------------------------------------

  async function call<T = Record<string, InterviewView>>(
    query: string,
    variables: Record<string, unknown>,
    identity: Identity | null,
  ) {
    return graphql<T>(subgraph.url, query, variables, identity ?? undefined);
  }

  /** Runs a mutation that must succeed; returns its one root field. */
  async function ok(
    query: string,
    variables: Record<string, unknown>,
    identity: Identity = alice,
  ): Promise<InterviewView> {
    const response = await call(query, variables, identity);
    expect(response.errors).toBeUndefined();
    const [view] = Object.values(response.data ?? {});
    if (!view) throw new Error('no data');
    return view;
  }

  /** Runs an operation that must fail with `code`; returns the error. */
  async function fails(
    code: string,
    query: string,
    variables: Record<string, unknown>,
    /** `null`: anonymous. */
    identity: Identity | null = alice,
  ) {
    const response = await call(query, variables, identity);
    expect(response.errors?.map((e) => e.extensions?.code)).toEqual([code]);
    const [error] = response.errors ?? [];
    if (!error) throw new Error('no error');
    return error;
  }

  async function create(
    identity: Identity = alice,
    input: Partial<{
      title: string;
      position: string;
      candidateId: string;
      questions: string[];
    }> = {},
  ): Promise<InterviewView> {
    return ok(
      CREATE,
      {
        input: {
          title: 'Backend screen',
          position: 'Engineer',
          questions: ['What is a transaction?', 'Why an outbox?', 'What is a partition key?'],
          ...input,
        },
      },
      identity,
    );
  }

  interface Received {
    key: string | undefined;
    headers: Record<string, string>;
    event: InterviewEvent;
  }

  function decode(message: KafkaMessage): Received {
    const result = decodeEvent(message.value, 'interview-events');
    if (!result.ok) throw new Error(`invalid event on the topic: ${JSON.stringify(result.issues)}`);
    return {
      key: message.key?.toString(),
      headers: readHeaders(message.headers),
      event: result.event as InterviewEvent,
    };
  }

  /**
   * The events of one interview, in topic order, once `until` holds for them. Its events share
   * a key, so they share a partition: whatever precedes the last one awaited is already there.
   */
  async function eventsOf(
    interviewId: string,
    until: (events: InterviewEvent[]) => boolean,
  ): Promise<Received[]> {
    const mine = (messages: KafkaMessage[]) =>
      messages.filter((m) => m.key?.toString() === interviewId).map(decode);
    const messages = await readTopic(topic, (all) => until(mine(all).map((r) => r.event)));
    return mine(messages);
  }

  const types = (received: Received[]) => received.map((r) => r.event.eventType);
  const endsWith = (type: InterviewEvent['eventType']) => (events: InterviewEvent[]) =>
    events.at(-1)?.eventType === type;

  // --- the lifecycle -----------------------------------------------------------------------------

  it('runs the whole lifecycle and publishes one event per action, in order', async () => {
    const created = await create();
    expect(created).toMatchObject({
      __typename: 'Interview',
      title: 'Backend screen',
      position: 'Engineer',
      status: 'DRAFT',
      candidate: { __typename: 'User', id: alice.userId },
      answers: [],
      scheduledFor: null,
      startedAt: null,
    });
    expect(created.id).toMatch(UUID);
    expect(created.questions.map((q) => [q.position, q.text])).toEqual([
      [1, 'What is a transaction?'],
      [2, 'Why an outbox?'],
      [3, 'What is a partition key?'],
    ]);
    const id = created.id;

    const at = inADay();
    const scheduled = await ok(SCHEDULE, { id, at });
    expect(scheduled).toMatchObject({ status: 'SCHEDULED', scheduledFor: at });
    const rescheduledAt = new Date(Date.now() + 2 * 86_400_000).toISOString();
    expect(await ok(SCHEDULE, { id, at: rescheduledAt })).toMatchObject({
      status: 'SCHEDULED',
      scheduledFor: rescheduledAt,
    });

    const started = await ok(START, { id });
    expect(started.status).toBe('IN_PROGRESS');
    expect(started.startedAt).not.toBeNull();

    const contents = ['  All or nothing.  ', 'So events\nare never lost', 'The aggregate id'];
    let answered = started;
    for (const [i, question] of created.questions.entries()) {
      answered = await ok(ANSWER, { id, q: question.id, content: contents[i] });
    }
    expect(answered.status).toBe('IN_PROGRESS');
    expect(answered.answers.map((a) => [a.question.id, a.content, a.wordCount])).toEqual([
      [created.questions[0]?.id, 'All or nothing.', 3],
      [created.questions[1]?.id, 'So events\nare never lost', 5],
      [created.questions[2]?.id, 'The aggregate id', 3],
    ]);

    const paused = await ok(PAUSE, { id });
    expect(paused).toMatchObject({ status: 'PAUSED' });
    expect(paused.pausedAt).not.toBeNull();
    expect(await ok(RESUME, { id })).toMatchObject({ status: 'IN_PROGRESS', pausedAt: null });
    const completed = await ok(COMPLETE, { id });
    expect(completed.status).toBe('COMPLETED');
    expect(await ok(GET, { id })).toEqual(completed);

    const received = await eventsOf(id, endsWith('interview.completed'));
    expect(types(received)).toEqual([
      'interview.created',
      'interview.scheduled',
      'interview.scheduled',
      'interview.started',
      'interview.answer_submitted',
      'interview.answer_submitted',
      'interview.answer_submitted',
      'interview.paused',
      'interview.resumed',
      'interview.completed',
    ]);
    for (const { key, headers, event } of received) {
      expect(key).toBe(id);
      expect(event).toMatchObject({ version: '1.0', source: 'interview-service' });
      expect(event.eventId).toMatch(UUID);
      expect(new Date(event.timestamp).toISOString()).toBe(event.timestamp);
      expect(headers).toMatchObject({
        [EVENT_HEADERS.eventId]: event.eventId,
        [EVENT_HEADERS.eventType]: event.eventType,
      });
    }
    expect(new Set(received.map((r) => r.event.eventId)).size).toBe(received.length);

    const payloads = received.map((r) => r.event.payload);
    const base = { interviewId: id, candidateId: alice.userId };
    const answers = answered.answers;
    expect(payloads).toEqual([
      {
        ...base,
        title: 'Backend screen',
        position: 'Engineer',
        questionCount: 3,
        createdBy: alice.userId,
      },
      { ...base, scheduledFor: at },
      { ...base, scheduledFor: rescheduledAt },
      { ...base, startedAt: started.startedAt },
      ...answers.map((answer, i) => ({
        ...base,
        questionId: answer.question.id,
        answerId: answer.id,
        wordCount: answer.wordCount,
        answeredQuestions: i + 1,
        totalQuestions: 3,
      })),
      { ...base, pausedAt: paused.pausedAt, reason: 'manual' },
      { ...base, resumedAt: expect.any(String), trigger: 'manual' },
      {
        ...base,
        completedAt: completed.completedAt,
        answeredQuestions: 3,
        totalQuestions: 3,
        durationSeconds: Math.floor(
          (Date.parse(completed.completedAt ?? '') - Date.parse(started.startedAt ?? '')) / 1000,
        ),
      },
    ]);
    // Each event's timestamp is the moment of its state change.
    expect(received[0]?.event.timestamp).toBe(created.createdAt);
    expect(received.at(-1)?.event.timestamp).toBe(completed.completedAt);
  });

  it('refuses an invalid transition with INVALID_TRANSITION, writing and publishing nothing', async () => {
    const { id } = await create();
    const error = await fails('INVALID_TRANSITION', PAUSE, { id });
    expect(error.message).toBe(
      `Cannot pause interview ${id}: it is DRAFT; pause is allowed from IN_PROGRESS`,
    );
    expect(error.extensions).toMatchObject({
      from: 'DRAFT',
      action: 'pause',
      allowedFrom: ['IN_PROGRESS'],
    });
    await fails('INVALID_TRANSITION', RESUME, { id });
    await fails('INVALID_TRANSITION', COMPLETE, { id });
    const { questions } = await ok(GET, { id });
    await fails('INVALID_TRANSITION', ANSWER, { id, q: questions[0]?.id, content: 'early' });
    expect(await ok(GET, { id })).toMatchObject({ status: 'DRAFT', answers: [] });

    await ok(START, { id });
    await fails('INVALID_TRANSITION', START, { id });
    await fails('INVALID_TRANSITION', SCHEDULE, { id, at: inADay() });
    await fails('INVALID_TRANSITION', RESUME, { id });
    await ok(COMPLETE, { id });
    for (const mutation of Object.values(MUTATION_OF)) {
      await fails('INVALID_TRANSITION', mutation, { id, at: inADay() });
    }
    await fails('INVALID_TRANSITION', ANSWER, { id, q: questions[1]?.id, content: 'late' });

    // A later valid action's event shows that nothing was published in between.
    const { id: other } = await create();
    await fails('INVALID_TRANSITION', RESUME, { id: other });
    await ok(CANCEL, { id: other });
    expect(types(await eventsOf(other, endsWith('interview.cancelled')))).toEqual([
      'interview.created',
      'interview.cancelled',
    ]);
    expect(types(await eventsOf(id, endsWith('interview.completed')))).toEqual([
      'interview.created',
      'interview.started',
      'interview.completed',
    ]);
  });

  it('refuses invalid input with BAD_USER_INPUT naming the field, and publishes nothing', async () => {
    const candidate: Identity = { userId: randomName('carol'), roles: [] };
    const input = { title: 'T', position: 'P', questions: ['Q1'] };
    const invalid: [Record<string, unknown>, string][] = [
      [{ ...input, title: '   ' }, 'input.title'],
      [{ ...input, title: 'x'.repeat(201) }, 'input.title'],
      [{ ...input, position: '' }, 'input.position'],
      [{ ...input, position: 'x'.repeat(201) }, 'input.position'],
      [{ ...input, questions: [] }, 'input.questions'],
      [{ ...input, questions: Array.from({ length: 51 }, (_, i) => `Q${i}`) }, 'input.questions'],
      [{ ...input, questions: ['Q1', 'Q2', ' ', 'Q4'] }, 'input.questions[2]'],
      [{ ...input, questions: ['x'.repeat(2001)] }, 'input.questions[0]'],
      [{ ...input, candidateId: '' }, 'input.candidateId'],
    ];
    for (const [bad, field] of invalid) {
      const error = await fails('BAD_USER_INPUT', CREATE, { input: bad }, candidate);
      expect(error.extensions?.field).toBe(field);
      expect(error.message.startsWith(`${field}: `)).toBe(true);
    }
    // The limits themselves are fine.
    const longest = await create(candidate, {
      title: 'x'.repeat(200),
      position: 'y'.repeat(200),
      questions: Array.from({ length: 50 }, (_, i) => (i === 0 ? 'q'.repeat(2000) : `Q${i}`)),
    });
    expect(longest.questions).toHaveLength(50);

    const { id, questions } = await create(candidate);
    const q = questions[0]?.id;
    const pastError = await fails(
      'BAD_USER_INPUT',
      SCHEDULE,
      { id, at: new Date(Date.now() - 60_000).toISOString() },
      candidate,
    );
    expect(pastError.extensions?.field).toBe('scheduledFor');
    await ok(START, { id }, candidate);
    for (const content of ['', '  \n ', 'x'.repeat(10_001)]) {
      const error = await fails('BAD_USER_INPUT', ANSWER, { id, q, content }, candidate);
      expect(error.extensions?.field).toBe('content');
    }
    const foreign = longest.questions[0]?.id;
    const foreignError = await fails(
      'BAD_USER_INPUT',
      ANSWER,
      { id, q: foreign, content: 'hi' },
      candidate,
    );
    expect(foreignError.message).toContain(`is not part of interview ${id}`);
    await fails('BAD_USER_INPUT', ANSWER, { id, q: 'no-such-question', content: 'hi' }, candidate);
    const first = await ok(ANSWER, { id, q, content: 'x'.repeat(10_000) }, candidate);
    expect(first.answers).toHaveLength(1);
    const twice = await fails('BAD_USER_INPUT', ANSWER, { id, q, content: 'again' }, candidate);
    expect(twice.message).toBe(`questionId: question ${q} was already answered`);
    const reason = await fails('BAD_USER_INPUT', CANCEL, { id, reason: ' ' }, candidate);
    expect(reason.extensions?.field).toBe('reason');
    await ok(PAUSE, { id }, candidate);

    expect(types(await eventsOf(id, endsWith('interview.paused')))).toEqual([
      'interview.created',
      'interview.started',
      'interview.answer_submitted',
      'interview.paused',
    ]);
    // None of the refused creations got an interview or an event: only the two valid ones.
    const list = await call<{ interviews: { totalCount: number } }>(LIST, {}, candidate);
    expect(list.data?.interviews.totalCount).toBe(2);
    const createdFor = (messages: KafkaMessage[]) =>
      messages
        .map(decode)
        .filter(
          (r) =>
            r.event.eventType === 'interview.created' &&
            r.event.payload.candidateId === candidate.userId,
        );
    const everything = await readTopic(topic, (all) => createdFor(all).length >= 2);
    expect(
      createdFor(everything)
        .map((r) => r.key)
        .sort(),
    ).toEqual([id, longest.id].sort());
  });

  it('answers NOT_FOUND for an unknown interview', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    const error = await fails('NOT_FOUND', GET, { id });
    expect(error.message).toBe(`Interview ${id} does not exist`);
    await fails('NOT_FOUND', START, { id });
    await fails('NOT_FOUND', SCHEDULE, { id, at: inADay() });
    await fails('NOT_FOUND', ANSWER, { id, q: 'q', content: 'c' });
    await fails('NOT_FOUND', CANCEL, { id });
    await fails('NOT_FOUND', COMPLETE, { id }, admin);
  });

  it('serializes concurrent actions on one interview', async () => {
    const { id, questions } = await create();
    await ok(START, { id });
    const q = questions[0]?.id;
    const answers = await Promise.all([
      call(ANSWER, { id, q, content: 'first' }, alice),
      call(ANSWER, { id, q, content: 'second' }, alice),
    ]);
    expect(answers.filter((r) => r.errors === undefined)).toHaveLength(1);
    for (const refused of answers.filter((r) => r.errors !== undefined)) {
      expect(['BAD_USER_INPUT', 'CONFLICT']).toContain(refused.errors?.[0]?.extensions?.code);
    }
    const endings = await Promise.all([
      call(PAUSE, { id }, alice),
      call(COMPLETE, { id }, alice),
      call(CANCEL, { id }, alice),
    ]);
    expect(endings.filter((r) => r.errors === undefined).length).toBeGreaterThanOrEqual(1);
    for (const refused of endings.filter((r) => r.errors !== undefined)) {
      expect(['INVALID_TRANSITION', 'CONFLICT']).toContain(refused.errors?.[0]?.extensions?.code);
    }
    const final = await ok(GET, { id });
    expect(final.answers).toHaveLength(1);

    // Exactly one event per action that went through, in the order they committed.
    const succeeded = endings.filter((r) => r.errors === undefined).length;
    const received = await eventsOf(id, (events) => events.length >= 3 + succeeded);
    expect(types(received).slice(0, 3)).toEqual([
      'interview.created',
      'interview.started',
      'interview.answer_submitted',
    ]);
    expect(received).toHaveLength(3 + succeeded);
    const lastType: Record<string, string> = {
      PAUSED: 'interview.paused',
      COMPLETED: 'interview.completed',
      CANCELLED: 'interview.cancelled',
    };
    expect(received.at(-1)?.event.eventType).toBe(lastType[final.status]);
  });

  // --- authorization -------------------------------------------------------------------------------

  it('lets only the candidate and admins read and act on an interview', async () => {
    const mine = await create(alice);
    const { id } = mine;
    await fails('UNAUTHENTICATED', GET, { id }, null);
    await fails(
      'UNAUTHENTICATED',
      CREATE,
      { input: { title: 'T', position: 'P', questions: ['Q'] } },
      null,
    );
    await fails('UNAUTHENTICATED', LIST, {}, null);

    await fails('FORBIDDEN', GET, { id }, bob);
    for (const mutation of Object.values(MUTATION_OF)) {
      await fails('FORBIDDEN', mutation, { id, at: inADay() }, bob);
    }
    await fails('FORBIDDEN', ANSWER, { id, q: mine.questions[0]?.id, content: 'c' }, bob);
    await fails('FORBIDDEN', LIST, { filter: { candidateId: alice.userId } }, bob);
    await fails(
      'FORBIDDEN',
      CREATE,
      { input: { title: 'T', position: 'P', questions: ['Q'], candidateId: alice.userId } },
      bob,
    );
    const bobs = await call<{ interviews: { edges: { node: { id: string } }[] } }>(LIST, {}, bob);
    expect(bobs.data?.interviews.edges).toEqual([]);

    // Admins may read and act on anyone's interview, and create one for anyone.
    expect((await ok(GET, { id }, admin)).id).toBe(id);
    expect(await ok(START, { id }, admin)).toMatchObject({ status: 'IN_PROGRESS' });
    const forAlice = await create(admin, { candidateId: alice.userId });
    expect(forAlice.candidate.id).toBe(alice.userId);
    expect(await ok(CANCEL, { id: forAlice.id, reason: 'No longer needed' })).toMatchObject({
      status: 'CANCELLED',
    });
    const [createdEvent] = await eventsOf(forAlice.id, endsWith('interview.cancelled'));
    expect(createdEvent?.event.payload).toMatchObject({
      candidateId: alice.userId,
      createdBy: admin.userId,
    });
    const adminList = await call<{ interviews: { edges: { node: { id: string } }[] } }>(
      LIST,
      { filter: { candidateId: alice.userId }, first: 100 },
      admin,
    );
    expect(adminList.errors).toBeUndefined();
    expect(adminList.data?.interviews.edges.map((e) => e.node.id)).toEqual(
      expect.arrayContaining([id, forAlice.id]),
    );
  });

  // --- cancel ----------------------------------------------------------------------------------

  it.each([
    ['DRAFT', []],
    ['SCHEDULED', ['schedule']],
    ['IN_PROGRESS', ['start']],
    ['PAUSED', ['start', 'pause']],
  ] as const)('cancels from %s', async (status, steps) => {
    const { id } = await create();
    for (const step of steps) await ok(MUTATION_OF[step], { id, at: inADay() });
    expect((await ok(GET, { id })).status).toBe(status);
    const cancelled = await ok(CANCEL, { id, reason: `  stop ${status}  ` });
    expect(cancelled.status).toBe('CANCELLED');
    expect(cancelled.cancelledAt).not.toBeNull();
    await fails('INVALID_TRANSITION', CANCEL, { id });

    const received = await eventsOf(id, endsWith('interview.cancelled'));
    expect(received).toHaveLength(steps.length + 2);
    expect(received.at(-1)?.event.payload).toEqual({
      interviewId: id,
      candidateId: alice.userId,
      cancelledAt: cancelled.cancelledAt,
      previousStatus: status.toLowerCase(),
      reason: `stop ${status}`,
    });
  });

  it('cancels without a reason, and not once completed', async () => {
    const { id } = await create();
    const cancelled = await ok(CANCEL, { id });
    const [, event] = await eventsOf(id, endsWith('interview.cancelled'));
    expect(event?.event.payload).toEqual({
      interviewId: id,
      candidateId: alice.userId,
      cancelledAt: cancelled.cancelledAt,
      previousStatus: 'draft',
    });
    const { id: done } = await create();
    await ok(START, { id: done });
    await ok(COMPLETE, { id: done });
    await fails('INVALID_TRANSITION', CANCEL, { id: done });
  });

  // --- listings ----------------------------------------------------------------------------------

  it('lists newest first with opaque cursors, filters by status, and batches its queries', async () => {
    const dave: Identity = { userId: randomName('dave'), roles: [] };
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { id, questions } = await create(dave, { title: `Interview ${i}` });
      ids.push(id);
      if (i % 2 === 0) {
        await ok(START, { id }, dave);
        await ok(ANSWER, { id, q: questions[0]?.id, content: `answer ${i}` }, dave);
      }
    }
    const newestFirst = [...ids].reverse();

    type Page = {
      interviews: {
        totalCount: number;
        pageInfo: { hasNextPage: boolean; endCursor: string | null };
        edges: { cursor: string; node: InterviewView }[];
      };
    };
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: GraphQLResponse<Page> = await call<Page>(LIST, { first: 2, after }, dave);
      expect(page.errors).toBeUndefined();
      const data = page.data?.interviews;
      if (!data) throw new Error('no page');
      expect(data.totalCount).toBe(5);
      seen.push(...data.edges.map((e) => e.node.id));
      expect(data.pageInfo.endCursor).toBe(data.edges.at(-1)?.cursor ?? null);
      if (!data.pageInfo.hasNextPage) break;
      after = data.pageInfo.endCursor;
    }
    expect(seen).toEqual(newestFirst);

    const inProgress = await call<Page>(LIST, { filter: { status: ['IN_PROGRESS'] } }, dave);
    expect(inProgress.data?.interviews.totalCount).toBe(3);
    expect(inProgress.data?.interviews.edges.map((e) => e.node.id)).toEqual(
      newestFirst.filter((_, i) => i % 2 === 0),
    );
    expect(
      inProgress.data?.interviews.edges.map((e) => e.node.answers.map((a) => a.question.id)),
    ).toEqual(inProgress.data?.interviews.edges.map((e) => [e.node.questions[0]?.id]));

    await fails('BAD_USER_INPUT', LIST, { first: 0 }, dave);
    await fails('BAD_USER_INPUT', LIST, { first: 101 }, dave);
    const badCursor = await fails('BAD_USER_INPUT', LIST, { after: 'bm90LWEtY3Vyc29y' }, dave);
    expect(badCursor.extensions?.field).toBe('after');

    // One query per level, however many interviews: count, page, questions, answers. The
    // outbox relay polls the same database meanwhile, so only this subgraph's tables count.
    const knex = (subgraph.database.orm.em.getConnection() as AbstractSqlConnection).getKnex();
    const queries: string[] = [];
    const onQuery = (q: { sql: string }) => void queries.push(q.sql);
    knex.on('query', onQuery);
    try {
      const all = await call<Page>(LIST, { first: 5 }, dave);
      expect(all.data?.interviews.edges).toHaveLength(5);
    } finally {
      knex.off('query', onQuery);
    }
    expect(queries.filter((sql) => !/\boutbox\b/.test(sql))).toHaveLength(4);
  });

  // --- federation ----------------------------------------------------------------------------------

  it('resolves User.interviews and Interview references through _entities', async () => {
    const erin: Identity = { userId: randomName('erin'), roles: [] };
    const older = await create(erin);
    const newer = await create(erin);
    type Entities = { _entities: ({ id: string; interviews?: { id: string }[] } | null)[] };
    const user = [{ __typename: 'User', id: erin.userId }];

    const own = await call<Entities>(ENTITIES, { representations: user }, erin);
    expect(own.errors).toBeUndefined();
    expect(own.data?._entities).toEqual([
      {
        id: erin.userId,
        interviews: [
          { id: newer.id, status: 'DRAFT' },
          { id: older.id, status: 'DRAFT' },
        ],
      },
    ]);
    const byAdmin = await call<Entities>(ENTITIES, { representations: user }, admin);
    expect(byAdmin.data?._entities[0]?.interviews).toHaveLength(2);
    await fails('FORBIDDEN', ENTITIES, { representations: user }, bob);

    const refs = [
      { __typename: 'Interview', id: older.id },
      { __typename: 'Interview', id: newer.id },
      { __typename: 'Interview', id: '00000000-0000-4000-8000-000000000000' },
    ];
    const resolved = await call<Entities>(ENTITIES, { representations: refs }, erin);
    expect(resolved.errors).toBeUndefined();
    expect(resolved.data?._entities).toEqual([older, newer, null]);
    expect(
      (await call<Entities>(ENTITIES, { representations: refs }, admin)).errors,
    ).toBeUndefined();
    const forbidden = await call<Entities>(ENTITIES, { representations: refs }, bob);
    expect(forbidden.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN', 'FORBIDDEN']);
    await fails('UNAUTHENTICATED', ENTITIES, { representations: refs.slice(0, 1) }, null);
  });
});
