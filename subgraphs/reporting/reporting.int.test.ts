/**
 * The reporting subgraph end to end: interview events published on the real broker reach the
 * read model through the consumer, and GraphQL answers from it with authorization. Runs on
 * SQLite, and on PostgreSQL when DATABASE_URL is set.
 */
import { InterviewEventFactory, type KafkaService, type PayloadOf } from '../../events';
import type { EventOn } from '../../events';
import type { Identity } from '../../contracts/identity';
import {
  deleteTopicsWithPrefix,
  randomName,
  testDatabases,
  testKafka,
  topicPrefix,
  waitFor,
} from '../../test/helpers';
import { graphql, startTestSubgraph, type TestSubgraph } from '../../test/subgraph-helpers';
import type { InterviewReport, PlatformStats, UserStats } from './generated/resolvers-types';
import type { ProjectedEventType } from './projection';
import { reportingSubgraph } from './server';

jest.setTimeout(90_000);

const REPORT_QUERY = /* GraphQL */ `
  query ($representations: [_Any!]!) {
    _entities(representations: $representations) {
      ... on Interview {
        id
        report {
          interviewId
          candidateId
          status
          answers
          totalQuestions
          completion
          wordCount
          durationSeconds
          score
          completed
          lastEventAt
        }
      }
    }
  }
`;

const STATS_QUERY = /* GraphQL */ `
  query ($representations: [_Any!]!) {
    _entities(representations: $representations) {
      ... on User {
        id
        stats {
          interviewsCreated
          interviewsCompleted
          interviewsCancelled
          answersSubmitted
          averageScore
        }
      }
    }
  }
`;

const PLATFORM_QUERY = /* GraphQL */ `
  {
    platformStats {
      interviews
      inProgress
      completed
      cancelled
      answers
      averageScore
      eventsProcessed
    }
  }
`;

const admin: Identity = { userId: 'admin-1', roles: ['admin'] };

type InterviewType = ProjectedEventType;

describe.each(testDatabases())('reporting subgraph on $label', ({ config }) => {
  const prefix = topicPrefix('t');
  let subgraph: TestSubgraph | undefined;
  let publisher: KafkaService | undefined;

  beforeAll(async () => {
    publisher = testKafka('interview-service', prefix, { topics: ['interview-events'] });
    await publisher.start();
    subgraph = await startTestSubgraph(reportingSubgraph, config, prefix);
  });

  afterAll(async () => {
    await subgraph?.stop();
    await publisher?.stop();
    await deleteTopicsWithPrefix(prefix);
  });

  function running(): { url: string; kafka: KafkaService } {
    if (!subgraph || !publisher) throw new Error('the subgraph did not start');
    return { url: subgraph.url, kafka: publisher };
  }

  /** Publishes interview events in order (one interview's events share a partition). */
  async function publish(...events: EventOn<'interview-events'>[]): Promise<void> {
    const { kafka } = running();
    for (const event of events) await kafka.publishEvent('interview-events', event);
  }

  /** Builds events for one interview of one candidate. */
  /** Minutes after a start a day ahead of now: no fixed date that could expire. */
  const start = Date.now() + 86_400_000;
  const at = (minutes: number) => new Date(start + minutes * 60_000).toISOString();

  function interview(candidateId = randomName('cand')) {
    const ids = { interviewId: randomName('int'), candidateId };
    const make = <T extends InterviewType>(
      type: T,
      payload: Omit<PayloadOf<T>, 'interviewId' | 'candidateId'>,
    ) => InterviewEventFactory.create(type, { ...ids, ...payload } as PayloadOf<T>);
    return {
      ...ids,
      created: (questionCount: number) =>
        make('interview.created', {
          title: 'Backend screen',
          position: 'Engineer',
          questionCount,
          createdBy: 'recruiter-1',
        }),
      scheduled: () => make('interview.scheduled', { scheduledFor: at(0) }),
      started: () => make('interview.started', { startedAt: at(1) }),
      answer: (answeredQuestions: number, wordCount: number, totalQuestions: number) =>
        make('interview.answer_submitted', {
          questionId: `q-${answeredQuestions}`,
          answerId: randomName('a'),
          wordCount,
          answeredQuestions,
          totalQuestions,
        }),
      paused: () => make('interview.paused', { pausedAt: at(10), reason: 'manual' }),
      resumed: () => make('interview.resumed', { resumedAt: at(20), trigger: 'manual' }),
      completed: (answeredQuestions: number, totalQuestions: number, durationSeconds: number) =>
        make('interview.completed', {
          completedAt: at(40),
          answeredQuestions,
          totalQuestions,
          durationSeconds,
        }),
      cancelled: () =>
        make('interview.cancelled', {
          cancelledAt: at(-60),
          previousStatus: 'scheduled',
        }),
    };
  }

  async function reportQuery(interviewId: string, identity?: Identity) {
    const response = await graphql<{
      _entities: ({ id: string; report: InterviewReport | null } | null)[];
    }>(
      running().url,
      REPORT_QUERY,
      { representations: [{ __typename: 'Interview', id: interviewId }] },
      identity,
    );
    return { response, report: response.data?._entities[0]?.report ?? null };
  }

  async function statsQuery(userId: string, identity?: Identity) {
    const response = await graphql<{ _entities: ({ id: string; stats: UserStats } | null)[] }>(
      running().url,
      STATS_QUERY,
      { representations: [{ __typename: 'User', id: userId }] },
      identity,
    );
    return { response, stats: response.data?._entities[0]?.stats ?? null };
  }

  async function platformQuery(identity?: Identity) {
    const response = await graphql<{ platformStats: PlatformStats }>(
      running().url,
      PLATFORM_QUERY,
      {},
      identity,
    );
    return { response, stats: response.data?.platformStats ?? null };
  }

  /** Waits until the report (as admin) satisfies `ready`, and returns it. */
  async function reportWhen(
    interviewId: string,
    ready: (report: InterviewReport) => boolean,
  ): Promise<InterviewReport> {
    let last: InterviewReport | null = null;
    await waitFor(`the report of ${interviewId} to be updated`, async () => {
      last = (await reportQuery(interviewId, admin)).report;
      return last !== null && ready(last);
    });
    if (!last) throw new Error('unreachable');
    return last;
  }

  it('is ready: database, consumer and the runtime outbox relay all answer', async () => {
    const readyUrl = new URL('/ready', running().url);
    await waitFor('/ready to say ready', async () => (await fetch(readyUrl)).status === 200);
    const body = (await (await fetch(readyUrl)).json()) as { checks: Record<string, string> };
    expect(body.checks).toEqual({ database: 'ok', kafka: 'ok', outbox: 'ok' });
  });

  it('builds the report and the candidate stats from a full lifecycle', async () => {
    const a = interview();
    // Built in order, so timestamps increase as they would at the source.
    const lifecycle = [
      a.created(3),
      a.scheduled(),
      a.started(),
      a.answer(1, 30, 3),
      a.paused(),
      a.resumed(),
      a.answer(2, 45, 3),
      a.answer(3, 60, 3),
      a.completed(3, 3, 2340),
    ];
    await publish(...lifecycle);
    // The same candidate's second interview is seen only from its cancellation.
    const b = interview(a.candidateId);
    await publish(b.cancelled());

    const report = await reportWhen(a.interviewId, (r) => r.completed);
    expect(report).toEqual({
      interviewId: a.interviewId,
      candidateId: a.candidateId,
      status: 'completed',
      answers: 3,
      totalQuestions: 3,
      completion: 1,
      wordCount: 135,
      durationSeconds: 2340,
      // 70 × 3/3 + 30 × min(1, (135 / 3) / 50) = 70 + 27
      score: 97,
      completed: true,
      lastEventAt: lifecycle.at(-1)?.timestamp,
    });
    const cancelled = await reportWhen(b.interviewId, (r) => r.status === 'cancelled');
    expect(cancelled).toMatchObject({ candidateId: a.candidateId, completed: false, score: null });

    const { response, stats } = await statsQuery(a.candidateId, {
      userId: a.candidateId,
      roles: [],
    });
    expect(response.errors).toBeUndefined();
    expect(stats).toEqual({
      interviewsCreated: 2,
      interviewsCompleted: 1,
      interviewsCancelled: 1,
      answersSubmitted: 3,
      averageScore: 97,
    });
  });

  it('counts an event published twice once', async () => {
    const x = interview();
    const answerEvent = x.answer(1, 40, 2);
    await publish(x.created(2), x.started(), answerEvent);
    await reportWhen(x.interviewId, (r) => r.answers === 1);
    const before = (await platformQuery(admin)).stats;

    // The duplicate, then a marker on the same interview (same partition, so handled after it).
    await publish(answerEvent, x.paused());
    const report = await reportWhen(x.interviewId, (r) => r.status === 'paused');
    const after = (await platformQuery(admin)).stats;

    expect(report).toMatchObject({ answers: 1, wordCount: 40, status: 'paused' });
    expect(after?.eventsProcessed).toBe((before?.eventsProcessed ?? NaN) + 1);
    expect(after?.answers).toBe(before?.answers);
  });

  it('shows a report to its candidate and admins only', async () => {
    const x = interview();
    await publish(x.created(4), x.started());
    await reportWhen(x.interviewId, (r) => r.status === 'in_progress');

    const asCandidate = await reportQuery(x.interviewId, { userId: x.candidateId, roles: [] });
    expect(asCandidate.response.errors).toBeUndefined();
    expect(asCandidate.report).toMatchObject({ interviewId: x.interviewId, totalQuestions: 4 });

    const asOther = await reportQuery(x.interviewId, { userId: 'someone-else', roles: [] });
    expect(asOther.report).toBeNull();
    expect(asOther.response.errors?.map((e) => e.extensions?.['code'])).toEqual(['FORBIDDEN']);

    const anonymous = await reportQuery(x.interviewId);
    expect(anonymous.response.errors?.map((e) => e.extensions?.['code'])).toEqual([
      'UNAUTHENTICATED',
    ]);

    const asAdmin = await reportQuery(x.interviewId, admin);
    expect(asAdmin.response.errors).toBeUndefined();
    expect(asAdmin.report?.candidateId).toBe(x.candidateId);

    // No event of this interview seen yet: null, not an error.
    const unknown = await reportQuery(randomName('int'), { userId: x.candidateId, roles: [] });
    expect(unknown.response.errors).toBeUndefined();
    expect(unknown.report).toBeNull();
  });

  it('shows user stats to the user and admins only', async () => {
    const x = interview();
    await publish(x.created(1));
    await reportWhen(x.interviewId, () => true);

    const self = await statsQuery(x.candidateId, { userId: x.candidateId, roles: [] });
    expect(self.response.errors).toBeUndefined();
    expect(self.stats).toEqual({
      interviewsCreated: 1,
      interviewsCompleted: 0,
      interviewsCancelled: 0,
      answersSubmitted: 0,
      averageScore: null,
    });

    const other = await statsQuery(x.candidateId, { userId: 'someone-else', roles: [] });
    expect(other.response.errors?.map((e) => e.extensions?.['code'])).toEqual(['FORBIDDEN']);

    const asAdmin = await statsQuery(x.candidateId, admin);
    expect(asAdmin.stats?.interviewsCreated).toBe(1);
  });

  it('gives platform stats to admins only', async () => {
    const before = await platformQuery(admin);
    expect(before.response.errors).toBeUndefined();

    const x = interview();
    await publish(x.created(2), x.started(), x.answer(1, 10, 2));
    await reportWhen(x.interviewId, (r) => r.answers === 1);

    const after = await platformQuery(admin);
    expect(after.response.errors).toBeUndefined();
    const was = before.stats;
    if (!was) throw new Error('no platform stats');
    expect(after.stats).toEqual({
      ...was,
      interviews: was.interviews + 1,
      inProgress: was.inProgress + 1,
      answers: was.answers + 1,
      eventsProcessed: was.eventsProcessed + 3,
    });

    const asUser = await platformQuery({ userId: x.candidateId, roles: [] });
    expect(asUser.response.errors?.map((e) => e.extensions?.['code'])).toEqual(['FORBIDDEN']);
    expect(asUser.response.data).toBeNull();

    const anonymous = await platformQuery();
    expect(anonymous.response.errors?.map((e) => e.extensions?.['code'])).toEqual([
      'UNAUTHENTICATED',
    ]);
  });
});
