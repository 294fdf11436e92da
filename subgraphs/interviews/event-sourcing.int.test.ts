/**
 * Interviews as event streams, end to end on the real subgraph (real HTTP, the real broker, a
 * real database: SQLite, and PostgreSQL when DATABASE_URL is set): a scripted lifecycle over
 * several interviews, including a resumption by sign-in (a `user.authenticated` on the topic),
 * then every interview rebuilt from its stream alone must equal what the service stored, column
 * by column, with its questions and answers; `history` returns the events in order, typed as the
 * subscriptions type them; `stateAt` answers as of an event. The erasure saga's interview steps
 * keep that equality, and the backfill migration rebuilds the same streams from the outbox.
 */
import { UserEventFactory } from '../../events/factories';
import type { KafkaService } from '../../events';
import { OutboxMessage } from '../../events/outbox';
import type { Identity } from '../../contracts/identity';
import {
  deleteTopicsWithPrefix,
  randomName,
  testDatabases,
  testKafka,
  waitFor,
} from '../../test/helpers';
import { graphql, startTestSubgraph, type TestSubgraph } from '../../test/subgraph-helpers';
import {
  AnswerEntity,
  InterviewEntity,
  InterviewPreferencesEntity,
  QuestionEntity,
  StreamEventEntity,
} from './entities';
import {
  anonymizeInterviews,
  cancelOpenInterviews,
  ERASED_TEXT,
  ERASURE_CANCEL_REASON,
  restoreInterviews,
} from './erasure';
import { loadStreams, readStreamEvent } from './event-store';
import { replayInterview } from './history';
import { BackfillEventStreams } from './migrations/create-event-stream-table';
import { interviewsSubgraph } from './server';

jest.setTimeout(120_000);

const inADay = (minutes = 0) => new Date(Date.now() + 86_400_000 + minutes * 60_000).toISOString();

describe.each(testDatabases())('interview event streams on $label', ({ config }) => {
  let subgraph: TestSubgraph;
  let gateway: KafkaService;
  let prefix: string;
  const alice: Identity = { userId: randomName('alice'), roles: [] };
  const bob: Identity = { userId: randomName('bob'), roles: [] };

  beforeAll(async () => {
    prefix = `${randomName('es')}.`;
    subgraph = await startTestSubgraph(interviewsSubgraph, config, prefix);
    gateway = testKafka('api-gateway', prefix, { topics: ['user-events'] });
    await gateway.start();
  });

  afterAll(async () => {
    await gateway?.stop();
    await subgraph?.stop();
    await deleteTopicsWithPrefix(prefix);
  });

  async function call<T = Record<string, unknown>>(
    query: string,
    variables: Record<string, unknown> = {},
    who: Identity = alice,
  ): Promise<T> {
    const response = await graphql<T>(subgraph.url, query, variables, who);
    expect(response.errors).toBeUndefined();
    if (!response.data) throw new Error('no data');
    return response.data;
  }

  const act = async (mutation: string, id: string, who: Identity = alice, extra = '') => {
    await call(`mutation($id: ID!) { ${mutation}(id: $id${extra}) { id } }`, { id }, who);
  };

  async function create(who: Identity, questions = ['One?', 'Two?', 'Three?']) {
    const data = await call<{ createInterview: { id: string; questions: { id: string }[] } }>(
      `mutation($input: CreateInterviewInput!) {
        createInterview(input: $input) { id questions { id } }
      }`,
      { input: { title: 'Backend screen', position: 'Engineer', questions } },
      who,
    );
    return {
      id: data.createInterview.id,
      questions: data.createInterview.questions.map((q) => q.id),
    };
  }

  async function answer(id: string, questionId: string, content: string, who: Identity = alice) {
    await call(
      `mutation($id: ID!, $q: ID!, $c: String!) { submitAnswer(interviewId: $id, questionId: $q, content: $c) { id } }`,
      { id, q: questionId, c: content },
      who,
    );
  }

  async function status(id: string): Promise<string> {
    const row = await subgraph.database.fork().findOneOrFail(InterviewEntity, { id });
    return row.status;
  }

  /** Every interview of the database rebuilt from its stream equals its rows. */
  async function expectEveryInterviewRebuilt(): Promise<number> {
    const em = subgraph.database.fork();
    const interviews = await em.find(InterviewEntity, {}, { orderBy: { id: 'asc' } });
    const streams = await loadStreams(
      em,
      interviews.map((i) => i.id),
    );
    for (const row of interviews) {
      const state = replayInterview((streams.get(row.id) ?? []).map(readStreamEvent));
      const stored = {
        id: row.id,
        candidateId: row.candidateId,
        createdBy: row.createdBy,
        title: row.title,
        position: row.position,
        status: row.status,
        questionCount: row.questionCount,
        answerCount: row.answerCount,
        createdAt: row.createdAt,
        updatedAt: row.updatedAt,
        scheduledFor: row.scheduledFor,
        startedAt: row.startedAt,
        pausedAt: row.pausedAt,
        completedAt: row.completedAt,
        cancelledAt: row.cancelledAt,
        cancelReason: row.cancelReason,
        version: row.version,
      };
      expect(state.interview).toEqual(stored);
      const questions = await em.find(
        QuestionEntity,
        { interview: row.id },
        { orderBy: { position: 'asc' } },
      );
      expect(state.questions).toEqual(
        questions.map((q) => ({ id: q.id, position: q.position, text: q.text })),
      );
      const answers = await em.find(
        AnswerEntity,
        { interview: row.id },
        { orderBy: { submittedAt: 'asc', id: 'asc' } },
      );
      expect(state.answers).toEqual(
        answers.map((a) => ({
          id: a.id,
          questionId: a.question.id,
          content: a.content,
          wordCount: a.wordCount,
          submittedAt: a.submittedAt,
        })),
      );
    }
    return interviews.length;
  }

  // The scripted lifecycle of the whole file; each test below adds to it.
  let full: { id: string; questions: string[] };
  let cancelled: { id: string; questions: string[] };
  let draft: { id: string; questions: string[] };
  let bobs: { id: string; questions: string[] };

  it('rebuilds every interview of a scripted lifecycle exactly, a resumption by sign-in included', async () => {
    full = await create(alice);
    await call(
      `mutation($id: ID!, $at: DateTime!) { scheduleInterview(id: $id, scheduledFor: $at) { id } }`,
      { id: full.id, at: inADay() },
    );
    await call(
      `mutation($id: ID!, $at: DateTime!) { scheduleInterview(id: $id, scheduledFor: $at) { id } }`,
      { id: full.id, at: inADay(30) },
    );
    await act('startInterview', full.id);
    await answer(full.id, full.questions[0]!, 'All or nothing, and isolated');
    await act('pauseInterview', full.id);
    // Signing in resumes it: the interviews consumer, not a mutation, records this event.
    await gateway.publishEvent(
      'user-events',
      UserEventFactory.createUserAuthenticated(alice.userId, 'alice@example.com', randomName('s')),
    );
    await waitFor(
      'the sign-in to resume the interview',
      async () => (await status(full.id)) === 'in_progress',
    );
    await answer(full.id, full.questions[1]!, 'Events commit with the state');
    await act('pauseInterview', full.id);
    await act('completeInterview', full.id); // completed while paused: pausedAt stays

    cancelled = await create(alice, ['Only one?']);
    await act('startInterview', cancelled.id);
    await answer(cancelled.id, cancelled.questions[0]!, 'Something personal');
    await call(
      `mutation($id: ID!) { cancelInterview(id: $id, reason: "I got another offer") { id } }`,
      {
        id: cancelled.id,
      },
    );

    draft = await create(alice);
    bobs = await create(bob);
    await call(
      `mutation($id: ID!, $at: DateTime!) { scheduleInterview(id: $id, scheduledFor: $at) { id } }`,
      { id: bobs.id, at: inADay() },
      bob,
    );

    expect(await status(full.id)).toBe('completed');
    expect(await expectEveryInterviewRebuilt()).toBe(4);
  });

  it('returns the history in order, typed as the subscriptions, and the state as of an event', async () => {
    const data = await call<{
      interview: {
        history: {
          __typename: string;
          eventId: string;
          eventType: string;
          interview: { id: string; title: string };
          trigger?: string;
        }[];
      };
    }>(
      `query($id: ID!) { interview(id: $id) { history {
        __typename eventId eventType interview { id title }
        ... on InterviewResumedEvent { trigger }
        ... on InterviewAnswerSubmittedEvent { answeredQuestions }
      } } }`,
      { id: full.id },
    );
    const history = data.interview.history;
    expect(history.map((e) => e.eventType)).toEqual([
      'interview.created',
      'interview.scheduled',
      'interview.scheduled',
      'interview.started',
      'interview.answer_submitted',
      'interview.paused',
      'interview.resumed',
      'interview.answer_submitted',
      'interview.paused',
      'interview.completed',
    ]);
    expect(history[0]).toMatchObject({
      __typename: 'InterviewCreatedEvent',
      interview: { id: full.id, title: 'Backend screen' },
    });
    expect(history[6]).toMatchObject({
      __typename: 'InterviewResumedEvent',
      trigger: 'USER_AUTHENTICATED',
    });
    // The same events, in the same order, as the outbox published them.
    const published = await subgraph.database
      .fork()
      .find(OutboxMessage, { aggregateId: full.id }, { orderBy: { id: 'asc' } });
    expect(history.map((e) => e.eventId)).toEqual(published.map((r) => r.eventId));

    const afterFirstAnswer = await call<{
      interview: {
        stateAt: {
          sequence: number;
          status: string;
          answers: { content: string; question: { text: string } }[];
          pausedAt: string | null;
        };
      };
    }>(
      `query($id: ID!, $e: ID!) { interview(id: $id) { stateAt(eventId: $e) {
        sequence status pausedAt answers { content question { text } }
      } } }`,
      { id: full.id, e: history[5]!.eventId },
    );
    expect(afterFirstAnswer.interview.stateAt).toMatchObject({
      sequence: 6,
      status: 'PAUSED',
      answers: [{ content: 'All or nothing, and isolated', question: { text: 'One?' } }],
    });
    expect(afterFirstAnswer.interview.stateAt.pausedAt).not.toBeNull();

    const unknown = await graphql(
      subgraph.url,
      `
        query ($id: ID!) {
          interview(id: $id) {
            stateAt(eventId: "nope") {
              sequence
            }
          }
        }
      `,
      { id: full.id },
      alice,
    );
    expect(unknown.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(unknown.errors?.[0]?.message).toMatch(/has no event nope/);
    // Another candidate's history is as private as the interview.
    const forbidden = await graphql(
      subgraph.url,
      `
        query ($id: ID!) {
          interview(id: $id) {
            history {
              eventId
            }
          }
        }
      `,
      { id: full.id },
      bob,
    );
    expect(forbidden.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it("keeps the equality through the erasure saga's steps, and they are idempotent", async () => {
    const sagaId = randomName('saga');
    // Alice's draft is open: cancelled, then restored by the compensation.
    let em = subgraph.database.fork();
    const first = await em.transactional((tx) =>
      cancelOpenInterviews(tx, { sagaId, userId: alice.userId, now: new Date() }),
    );
    expect(first.interviewIds).toEqual([draft.id]);
    const again = await subgraph.database
      .fork()
      .transactional((tx) =>
        cancelOpenInterviews(tx, { sagaId, userId: alice.userId, now: new Date() }),
      );
    expect(again).toEqual({ interviewIds: [draft.id], rows: [] });
    expect(await status(draft.id)).toBe('cancelled');
    expect(await status(bobs.id)).toBe('scheduled');
    await expectEveryInterviewRebuilt();

    const restored = await subgraph.database
      .fork()
      .transactional((tx) =>
        restoreInterviews(tx, { sagaId, userId: alice.userId, now: new Date() }),
      );
    expect(restored.interviewIds).toEqual([draft.id]);
    expect(restored.rows.map((r) => r.eventType)).toEqual(['interview.restored']);
    const twice = await subgraph.database
      .fork()
      .transactional((tx) =>
        restoreInterviews(tx, { sagaId, userId: alice.userId, now: new Date() }),
      );
    expect(twice.rows).toEqual([]);
    const back = await subgraph.database.fork().findOneOrFail(InterviewEntity, { id: draft.id });
    expect(back).toMatchObject({ status: 'draft', cancelledAt: null, cancelReason: null });
    await expectEveryInterviewRebuilt();

    // A second saga runs to the end: cancel, then (after the pivot) erase what Alice wrote.
    const erasure = randomName('saga');
    await subgraph.database
      .fork()
      .transactional((tx) =>
        cancelOpenInterviews(tx, { sagaId: erasure, userId: alice.userId, now: new Date() }),
      );
    for (let i = 0; i < 2; i++) {
      const result = await subgraph.database
        .fork()
        .transactional((tx) =>
          anonymizeInterviews(tx, { sagaId: erasure, userId: alice.userId, now: new Date() }),
        );
      expect(result.interviewIds).toEqual([full.id, cancelled.id, draft.id].sort());
    }
    em = subgraph.database.fork();
    const answers = await em.find(AnswerEntity, { interview: { $in: [full.id, cancelled.id] } });
    expect(answers.length).toBe(3);
    expect(answers.every((a) => a.content === ERASED_TEXT)).toBe(true);
    const rows = await em.find(
      InterviewEntity,
      { candidateId: alice.userId },
      { orderBy: { id: 'asc' } },
    );
    expect(Object.fromEntries(rows.map((r) => [r.id, r.cancelReason]))).toEqual({
      [full.id]: null,
      [cancelled.id]: ERASED_TEXT,
      [draft.id]: ERASURE_CANCEL_REASON,
    });
    expect(await em.findOne(InterviewPreferencesEntity, { userId: alice.userId })).toBeNull();
    // Nothing Alice wrote is left in the streams or the outbox.
    const stored = await em.find(StreamEventEntity, {
      interviewId: { $in: rows.map((r) => r.id) },
    });
    const outbox = await em.find(OutboxMessage, { aggregateId: { $in: rows.map((r) => r.id) } });
    const text = JSON.stringify([stored, outbox]);
    for (const secret of [
      'All or nothing',
      'Events commit',
      'Something personal',
      'another offer',
    ]) {
      expect(text).not.toContain(secret);
    }
    // Bob's interview is untouched.
    expect(await status(bobs.id)).toBe('scheduled');
    await expectEveryInterviewRebuilt();
  });

  it('backfills the same streams from the outbox when they are missing (the migration)', async () => {
    const em = subgraph.database.fork();
    const before = await em.find(StreamEventEntity, {}, { orderBy: { id: 'asc' } });
    await em.nativeDelete(StreamEventEntity, {});
    const orm = subgraph.database.orm;
    const migration = new BackfillEventStreams(orm.em.getDriver() as never, orm.config);
    await migration.up();
    const after = await subgraph.database
      .fork()
      .find(StreamEventEntity, {}, { orderBy: { id: 'asc' } });
    const shape = (rows: StreamEventEntity[]) =>
      rows
        .map(
          ({
            interviewId,
            sequence,
            eventId,
            eventType,
            version,
            occurredAt,
            envelope,
            facts,
          }) => ({
            interviewId,
            sequence,
            eventId,
            eventType,
            version,
            occurredAt: occurredAt.toISOString(),
            envelope: JSON.parse(envelope) as unknown,
            facts: facts === null ? null : (JSON.parse(facts) as unknown),
          }),
        )
        .sort((a, b) => a.interviewId.localeCompare(b.interviewId) || a.sequence - b.sequence);
    expect(after.length).toBe(before.length);
    expect(shape(after)).toEqual(shape(before));
    await expectEveryInterviewRebuilt();
  });
});
