/**
 * The interview report projection: a pure fold of interview-events into one read model per
 * interview. No I/O, no clock: the same events in the same order always give the same report,
 * so the read model can be rebuilt from the topic at any time.
 *
 * Events arrive in order per interview (the topic is keyed by interviewId), but the reporting
 * service may have started after an interview's first events left the topic's retention, so
 * every event can open a report from what it carries.
 */
import type { EventEnvelope, EventTypeOn } from '../../events';
import type { INTERVIEW_STATUSES } from '../../events/catalog/interview';

export type InterviewStatus = (typeof INTERVIEW_STATUSES)[number];

/** The event types this projection folds; any other type on the topic is ignored. */
export const PROJECTED_EVENT_TYPES = [
  'interview.created',
  'interview.scheduled',
  'interview.started',
  'interview.answer_submitted',
  'interview.paused',
  'interview.resumed',
  'interview.completed',
  'interview.cancelled',
  'interview.restored',
] as const satisfies readonly EventTypeOn<'interview-events'>[];

export type ProjectedEventType = (typeof PROJECTED_EVENT_TYPES)[number];

/** A projected event, as a union discriminated by `eventType`. */
export type ProjectedEvent = { [T in ProjectedEventType]: EventEnvelope<T> }[ProjectedEventType];

/** True for the events {@link projectReport} folds, so a consumer can skip the rest. */
export function isProjectedEvent(event: { eventType: string }): event is ProjectedEvent {
  return (PROJECTED_EVENT_TYPES as readonly string[]).includes(event.eventType);
}

/** One interview as the events told of it. The stored entity has exactly these fields. */
export interface ReportState {
  interviewId: string;
  candidateId: string;
  /** The last lifecycle state the events told of. */
  status: InterviewStatus;
  /** Questions answered, as the interviews service counts them (not a count of events). */
  answers: number;
  /** 0 while unknown (no `created`, `answer_submitted` or `completed` seen yet). */
  totalQuestions: number;
  /** Words over all answers submitted. */
  wordCount: number;
  /** Seconds from start to completion, pauses included; null until completed. */
  durationSeconds: number | null;
  /** See {@link interviewScore}; null until completed. */
  score: number | null;
  completed: boolean;
  /** When the interview started, from `interview.started`; null before. */
  startedAt: Date | null;
  /** The latest event timestamp seen for this interview. */
  lastEventAt: Date;
}

/** Weight of completion in the score (out of 100). */
export const COMPLETION_WEIGHT = 70;
/** Weight of answer length in the score (out of 100). */
export const LENGTH_WEIGHT = 30;
/** Average words per answer that earns the full length weight. */
export const FULL_LENGTH_WORDS = 50;

/**
 * Answered share of the questions, from 0 to 1: `answers / totalQuestions`, 0 when there are
 * no questions (or their number is not known yet), and never above 1.
 */
export function completionOf(report: Pick<ReportState, 'answers' | 'totalQuestions'>): number {
  if (report.totalQuestions <= 0) return 0;
  return Math.min(report.answers, report.totalQuestions) / report.totalQuestions;
}

/**
 * The interview's score, 0 to 100, derived only from the report:
 *
 * `round(70 × completion + 30 × min(1, averageWordsPerAnswer / 50))`, where
 * `completion = answers / totalQuestions` (0 without questions, capped at 1) and
 * `averageWordsPerAnswer = wordCount / max(answers, 1)`.
 *
 * So completion weighs 70 points and answer length 30, full at 50 words per answer on average.
 * It is computed exactly on integers and halves round up (17.5 gives 18), so no floating-point
 * drift can move a score across a rounding boundary.
 */
export function interviewScore(
  report: Pick<ReportState, 'answers' | 'totalQuestions' | 'wordCount'>,
): number {
  const perAnswer = Math.max(report.answers, 1);
  // min(1, (wordCount / perAnswer) / 50) = cappedWords / (50 × perAnswer)
  const lengthDenominator = FULL_LENGTH_WORDS * perAnswer;
  const cappedWords = Math.min(Math.max(report.wordCount, 0), lengthDenominator);
  const total = report.totalQuestions;
  // score = numerator / denominator, exactly
  const [numerator, denominator] =
    total > 0
      ? [
          COMPLETION_WEIGHT * Math.min(report.answers, total) * lengthDenominator +
            LENGTH_WEIGHT * cappedWords * total,
          lengthDenominator * total,
        ]
      : [LENGTH_WEIGHT * cappedWords, lengthDenominator];
  return Math.floor((2 * numerator + denominator) / (2 * denominator));
}

/** A report for an interview whose earlier events were not seen: only what the event carries. */
function opened(event: ProjectedEvent, status: InterviewStatus): ReportState {
  return {
    interviewId: event.payload.interviewId,
    candidateId: event.payload.candidateId,
    status,
    answers: 0,
    totalQuestions: 0,
    wordCount: 0,
    durationSeconds: null,
    score: null,
    completed: false,
    startedAt: null,
    lastEventAt: new Date(event.timestamp),
  };
}

function latest(a: Date, b: Date): Date {
  return a.getTime() >= b.getTime() ? a : b;
}

/**
 * Folds one event into the report of its interview: `report` is the state so far, `undefined`
 * when no event of this interview was seen. Returns a new object; the input is not changed.
 *
 * - `created` opens the report: `draft`, `totalQuestions = questionCount`, no answers. Should a
 *   report exist already (its `created` arrived late), only an unknown `totalQuestions` is filled.
 * - `scheduled`, `started`, `paused`, `resumed`, `cancelled` set the status; `started` also sets
 *   `startedAt`; `restored` sets the status the event names (the one before a cancellation).
 * - `answer_submitted` sets `answers` and `totalQuestions` to the counts the event carries (so
 *   they are right whatever was missed) and adds the answer's words. Redelivery is handled by
 *   the consumer (one record per eventId), since adding words is not idempotent.
 * - `completed` sets `completed`, `answers`, `totalQuestions`, `durationSeconds` and the score.
 *
 * An event for an unseen interview opens the report from what it carries; an answer implies the
 * interview is `in_progress`. `lastEventAt` is the latest event timestamp seen, which for events
 * delivered in order is the event's own timestamp.
 */
export function projectReport(report: ReportState | undefined, event: ProjectedEvent): ReportState {
  const at = new Date(event.timestamp);
  const next = (status: InterviewStatus): ReportState =>
    report
      ? { ...report, status, lastEventAt: latest(report.lastEventAt, at) }
      : opened(event, status);

  let result: ReportState;
  switch (event.eventType) {
    case 'interview.created': {
      const questions = event.payload.questionCount;
      result = report
        ? {
            ...report,
            totalQuestions: report.totalQuestions > 0 ? report.totalQuestions : questions,
            lastEventAt: latest(report.lastEventAt, at),
          }
        : { ...opened(event, 'draft'), totalQuestions: questions };
      break;
    }
    case 'interview.scheduled':
      result = next('scheduled');
      break;
    case 'interview.started':
      result = { ...next('in_progress'), startedAt: new Date(event.payload.startedAt) };
      break;
    case 'interview.answer_submitted': {
      const base = next(report?.status ?? 'in_progress');
      result = {
        ...base,
        answers: event.payload.answeredQuestions,
        totalQuestions: event.payload.totalQuestions,
        wordCount: base.wordCount + event.payload.wordCount,
      };
      break;
    }
    case 'interview.paused':
      result = next('paused');
      break;
    case 'interview.resumed':
      result = next('in_progress');
      break;
    case 'interview.completed':
      result = {
        ...next('completed'),
        completed: true,
        answers: event.payload.answeredQuestions,
        totalQuestions: event.payload.totalQuestions,
        durationSeconds: event.payload.durationSeconds,
      };
      break;
    case 'interview.cancelled':
      result = next('cancelled');
      break;
    case 'interview.restored':
      result = next(event.payload.status);
      break;
    default: {
      const unhandled: never = event;
      throw new Error(`no projection for ${(unhandled as { eventType: string }).eventType}`);
    }
  }
  return { ...result, score: result.completed ? interviewScore(result) : null };
}
