import { InterviewEventFactory, UserEventFactory, type PayloadOf } from '../../events';
import {
  PROJECTED_EVENT_TYPES,
  completionOf,
  interviewScore,
  isProjectedEvent,
  projectReport,
  type ProjectedEvent,
  type ProjectedEventType,
  type ReportState,
} from './projection';

const ids = { interviewId: 'i-1', candidateId: 'u-1' };
// Times relative to now, so nothing here is tied to a date that passes.
let clock = Date.now();
/** An ISO time `minutes` after a start a day ahead of now. */
const start = Date.now() + 86_400_000;
const at = (minutes: number) => new Date(start + minutes * 60_000).toISOString();

/** A valid event with a timestamp one minute after the previous one's. */
function event<T extends ProjectedEventType>(
  type: T,
  payload: Omit<PayloadOf<T>, 'interviewId' | 'candidateId'>,
  at?: string,
): ProjectedEvent {
  clock += 60_000;
  return InterviewEventFactory.create(type, { ...ids, ...payload } as PayloadOf<T>, {
    timestamp: new Date(at ?? clock),
  }) as ProjectedEvent;
}

const created = (questionCount = 3) =>
  event('interview.created', {
    title: 'Backend screen',
    position: 'Engineer',
    questionCount,
    createdBy: 'u-9',
  });
const scheduled = () => event('interview.scheduled', { scheduledFor: at(0) });
const started = (startedAt = at(1)) => event('interview.started', { startedAt });
const answer = (answeredQuestions: number, wordCount: number, totalQuestions = 3) =>
  event('interview.answer_submitted', {
    questionId: `q-${answeredQuestions}`,
    answerId: `a-${answeredQuestions}`,
    wordCount,
    answeredQuestions,
    totalQuestions,
  });
const paused = () => event('interview.paused', { pausedAt: at(10), reason: 'manual' });
const resumed = () => event('interview.resumed', { resumedAt: at(20), trigger: 'manual' });
const completed = (answeredQuestions = 3, totalQuestions = 3, durationSeconds = 1800) =>
  event('interview.completed', {
    completedAt: at(40),
    answeredQuestions,
    totalQuestions,
    durationSeconds,
  });
const cancelled = () =>
  event('interview.cancelled', {
    cancelledAt: at(-60),
    previousStatus: 'scheduled',
  });

const fold = (events: ProjectedEvent[], from?: ReportState): ReportState | undefined =>
  events.reduce<ReportState | undefined>((report, e) => projectReport(report, e), from);

function must(report: ReportState | undefined): ReportState {
  if (!report) throw new Error('expected a report');
  return report;
}

describe('projectReport', () => {
  it('opens a draft report on interview.created', () => {
    const e = created(4);
    expect(projectReport(undefined, e)).toEqual({
      interviewId: 'i-1',
      candidateId: 'u-1',
      status: 'draft',
      answers: 0,
      totalQuestions: 4,
      wordCount: 0,
      durationSeconds: null,
      score: null,
      completed: false,
      startedAt: null,
      lastEventAt: new Date(e.timestamp),
    });
  });

  it('follows each lifecycle event with its status', () => {
    const draft = must(fold([created()]));
    expect(projectReport(draft, scheduled()).status).toBe('scheduled');
    expect(projectReport(draft, started()).status).toBe('in_progress');
    expect(projectReport(draft, paused()).status).toBe('paused');
    expect(projectReport(draft, resumed()).status).toBe('in_progress');
    expect(projectReport(draft, completed()).status).toBe('completed');
    expect(projectReport(draft, cancelled()).status).toBe('cancelled');
  });

  it('puts a restored interview back in the status the event names, answers kept', () => {
    const paused_ = must(fold([created(), started(), answer(1, 12), paused(), cancelled()]));
    const restored = projectReport(
      paused_,
      event('interview.restored', { restoredAt: at(70), status: 'paused', reason: 'compensated' }),
    );
    expect(restored).toMatchObject({ status: 'paused', answers: 1, wordCount: 12, score: null });
  });

  it('records when the interview started', () => {
    const startedAt = at(1.5);
    const report = must(fold([created(), started(startedAt)]));
    expect(report.startedAt).toEqual(new Date(startedAt));
    expect(projectReport(report, paused()).startedAt).toEqual(report.startedAt);
  });

  it('takes answer counts from answer_submitted and adds up the words', () => {
    const report = must(fold([created(3), started(), answer(1, 40), answer(2, 25)]));
    expect(report).toMatchObject({
      status: 'in_progress',
      answers: 2,
      totalQuestions: 3,
      wordCount: 65,
      completed: false,
      score: null,
    });
  });

  it('sets answers absolutely, so a re-answered question is not counted twice', () => {
    // The interviews service counts answered questions; a second answer to question 1 keeps 1.
    const report = must(fold([created(3), started(), answer(1, 10), answer(1, 20)]));
    expect(report.answers).toBe(1);
    expect(report.wordCount).toBe(30);
  });

  it('follows a change of totalQuestions carried by answer_submitted', () => {
    const report = must(fold([created(3), started(), answer(1, 10, 5)]));
    expect(report.totalQuestions).toBe(5);
  });

  it('completes with the counts and duration of interview.completed, and scores', () => {
    const report = must(
      fold([
        created(3),
        scheduled(),
        started(),
        answer(1, 30),
        paused(),
        resumed(),
        answer(2, 45),
        answer(3, 60),
        completed(3, 3, 2340),
      ]),
    );
    expect(report).toMatchObject({
      status: 'completed',
      completed: true,
      answers: 3,
      totalQuestions: 3,
      wordCount: 135,
      durationSeconds: 2340,
      // 70 × 1 + 30 × (45 / 50) = 97
      score: 97,
    });
  });

  it('keeps completed and the score when a cancellation follows the completion', () => {
    const report = must(fold([created(2), started(), answer(2, 100, 2), completed(2, 2)]));
    const after = projectReport(report, cancelled());
    expect(after).toMatchObject({ status: 'cancelled', completed: true, score: 100 });
  });

  it('has no score until completed', () => {
    const events = [created(1), scheduled(), started(), answer(1, 50, 1), paused(), resumed()];
    for (let i = 1; i <= events.length; i++) {
      expect(must(fold(events.slice(0, i))).score).toBeNull();
    }
  });

  it('sets lastEventAt to the event timestamp', () => {
    const first = created();
    const second = scheduled();
    expect(must(fold([first])).lastEventAt).toEqual(new Date(first.timestamp));
    expect(must(fold([first, second])).lastEventAt).toEqual(new Date(second.timestamp));
  });

  it('never moves lastEventAt back for an event stamped earlier than one already seen', () => {
    const report = must(fold([created(), started()]));
    const early = scheduled();
    const stale = { ...early, timestamp: '2020-01-01T00:00:00.000Z' } as ProjectedEvent;
    expect(projectReport(report, stale).lastEventAt).toEqual(report.lastEventAt);
  });

  it('does not change the report it is given', () => {
    const report = must(fold([created(), started(), answer(1, 10)]));
    const copy = structuredClone(report);
    projectReport(report, answer(2, 20));
    projectReport(report, completed());
    expect(report).toEqual(copy);
  });

  it('is deterministic: the same events give the same report', () => {
    const events = [created(3), started(), answer(1, 12), answer(2, 70), completed(2, 3, 60)];
    expect(fold(events)).toEqual(fold(events));
  });

  describe('when interview.created was not seen', () => {
    const noCreated = [
      ['interview.scheduled', scheduled, 'scheduled'],
      ['interview.started', started, 'in_progress'],
      ['interview.paused', paused, 'paused'],
      ['interview.resumed', resumed, 'in_progress'],
      ['interview.cancelled', cancelled, 'cancelled'],
    ] as const;

    it.each(noCreated)('%s opens the report with its status', (_type, make, status) => {
      const e = make();
      expect(projectReport(undefined, e)).toEqual({
        interviewId: 'i-1',
        candidateId: 'u-1',
        status,
        answers: 0,
        totalQuestions: 0,
        wordCount: 0,
        durationSeconds: null,
        score: null,
        completed: false,
        startedAt: e.eventType === 'interview.started' ? new Date(e.payload.startedAt) : null,
        lastEventAt: new Date(e.timestamp),
      });
    });

    it('answer_submitted opens an in-progress report with the totals it carries', () => {
      expect(projectReport(undefined, answer(2, 80, 4))).toMatchObject({
        candidateId: 'u-1',
        status: 'in_progress',
        answers: 2,
        totalQuestions: 4,
        wordCount: 80,
        completed: false,
        score: null,
      });
    });

    it('completed opens a completed, scored report from its counts', () => {
      // No words were seen: 70 × 2/4 + 0 = 35.
      expect(projectReport(undefined, completed(2, 4, 900))).toMatchObject({
        status: 'completed',
        completed: true,
        answers: 2,
        totalQuestions: 4,
        wordCount: 0,
        durationSeconds: 900,
        score: 35,
      });
    });

    it('a created arriving after other events fills the unknown total and keeps the progress', () => {
      const report = must(fold([started(), created(5)]));
      expect(report).toMatchObject({ status: 'in_progress', totalQuestions: 5 });
    });

    it('a created arriving late does not override a total the answers carried', () => {
      const report = must(fold([started(), answer(1, 10, 4), created(3)]));
      expect(report).toMatchObject({ status: 'in_progress', answers: 1, totalQuestions: 4 });
    });
  });
});

describe('isProjectedEvent', () => {
  it('accepts every interview event type of the catalog', () => {
    for (const type of PROJECTED_EVENT_TYPES)
      expect(isProjectedEvent({ eventType: type })).toBe(true);
  });

  it('refuses other event types, so the consumer ignores them', () => {
    expect(isProjectedEvent(UserEventFactory.createUserLoggedOut('u-1', 's-1'))).toBe(false);
    expect(isProjectedEvent({ eventType: 'interview.archived' })).toBe(false);
  });
});

describe('completionOf', () => {
  it.each([
    [0, 3, 0],
    [1, 4, 0.25],
    [3, 3, 1],
    [0, 0, 0],
    [2, 0, 0],
    [5, 3, 1],
  ])('%i answers of %i questions is %d', (answers, totalQuestions, expected) => {
    expect(completionOf({ answers, totalQuestions })).toBe(expected);
  });
});

describe('interviewScore', () => {
  it.each([
    // answers, totalQuestions, wordCount, score
    [3, 3, 150, 100, 'everything answered at 50 words each'],
    [3, 3, 3000, 100, 'long answers earn no more than 50 words each'],
    [3, 3, 0, 70, 'everything answered without words'],
    [0, 3, 0, 0, 'nothing answered'],
    [3, 3, 75, 85, '25 words per answer earn half the length weight'],
    [3, 3, 147, 99, '49 words per answer: 70 + 29.4'],
    [2, 3, 100, 77, 'two of three at 50 words: 46.67 + 30'],
    [1, 4, 0, 18, 'a half rounds up: 17.5'],
    [7, 20, 0, 25, 'a half rounds up exactly: 24.5'],
    [1, 3, 0, 23, 'just below a half rounds down: 23.33'],
    [0, 0, 0, 0, 'no questions and no words'],
    [0, 0, 50, 30, 'no questions: only the length counts, over max(answers, 1)'],
    [0, 3, 25, 15, 'words without an answer count against one answer'],
    [5, 3, 250, 100, 'more answers than questions is capped at full completion'],
  ])('%i/%i answers with %i words score %i (%s)', (answers, totalQuestions, wordCount, score) => {
    expect(interviewScore({ answers, totalQuestions, wordCount })).toBe(score);
  });

  it('matches the documented formula wherever floating point is exact enough', () => {
    for (let total = 0; total <= 12; total++) {
      for (let answers = 0; answers <= total; answers++) {
        for (let words = 0; words <= 60 * Math.max(answers, 1); words += 7) {
          const completion = total === 0 ? 0 : answers / total;
          const length = Math.min(1, words / Math.max(answers, 1) / 50);
          const exact = 70 * completion + 30 * length;
          const score = interviewScore({ answers, totalQuestions: total, wordCount: words });
          expect(score).toBeGreaterThanOrEqual(0);
          expect(score).toBeLessThanOrEqual(100);
          // Away from a .5 boundary the plain float formula must agree.
          if (Math.abs((exact % 1) - 0.5) > 1e-9) expect(score).toBe(Math.round(exact));
          else expect(score).toBe(Math.ceil(exact - 1e-9));
        }
      }
    }
  });
});
