/**
 * An interview rebuilt from its event stream: a pure fold, no I/O, no clock. The same stream
 * always gives the same interview, and for every stream the service wrote, exactly the interview
 * it stored (the rebuild test checks every column, question and answer). `stateAt` is the same
 * fold stopped after one event: the interview as it was then.
 */
import type { EventEnvelope } from '../../events/catalog';
import type { StreamEvent } from './event-store';
import type { Status } from './lifecycle';

/** An interview's row, as the events tell it. */
export interface InterviewFields {
  id: string;
  candidateId: string;
  createdBy: string;
  title: string;
  position: string;
  status: Status;
  questionCount: number;
  answerCount: number;
  createdAt: Date;
  updatedAt: Date;
  scheduledFor: Date | null;
  startedAt: Date | null;
  pausedAt: Date | null;
  completedAt: Date | null;
  cancelledAt: Date | null;
  cancelReason: string | null;
  /** The number of events so far: the row's optimistic-lock version. */
  version: number;
}

export interface QuestionState {
  id: string;
  position: number;
  text: string;
}

export interface AnswerState {
  id: string;
  questionId: string;
  content: string;
  wordCount: number;
  submittedAt: Date;
}

/** The whole interview after some event of its stream. */
export interface InterviewSnapshot {
  interview: InterviewFields;
  questions: QuestionState[];
  /** In submission order. */
  answers: AnswerState[];
  /** The event this is the state after. */
  eventId: string;
  sequence: number;
}

/** A stream that cannot be the history of an interview (a gap, a second creation, ...). */
export class StreamOrderError extends Error {
  override readonly name = 'StreamOrderError';
}

/**
 * Folds one event into the state so far (`undefined` before the creation). Returns a new state;
 * the input is not changed.
 * @throws {StreamOrderError} when the event cannot follow `state`: not numbered next, another
 *   interview's, a creation that is not first or a first event that is not a creation.
 */
export function applyStreamEvent(
  state: InterviewSnapshot | undefined,
  stored: StreamEvent,
): InterviewSnapshot {
  const { event, sequence } = stored;
  const expected = (state?.sequence ?? 0) + 1;
  const where = `interview ${event.payload.interviewId}, event ${sequence} (${event.eventType})`;
  if (sequence !== expected) {
    throw new StreamOrderError(`${where}: expected event number ${expected}`);
  }
  const at = new Date(event.timestamp);
  if (stored.eventType === 'interview.created') {
    if (state) throw new StreamOrderError(`${where}: a second creation`);
    const p = stored.event.payload;
    return {
      interview: {
        id: p.interviewId,
        candidateId: p.candidateId,
        createdBy: p.createdBy,
        title: p.title,
        position: p.position,
        status: 'draft',
        questionCount: p.questionCount,
        answerCount: 0,
        createdAt: at,
        updatedAt: at,
        scheduledFor: null,
        startedAt: null,
        pausedAt: null,
        completedAt: null,
        cancelledAt: null,
        cancelReason: null,
        version: 1,
      },
      questions: stored.facts.questions.map((q) => ({ ...q })),
      answers: [],
      eventId: event.eventId,
      sequence,
    };
  }
  if (!state) throw new StreamOrderError(`${where}: the stream does not start with its creation`);
  if (state.interview.id !== event.payload.interviewId) {
    throw new StreamOrderError(`${where}: the stream is interview ${state.interview.id}'s`);
  }
  const next = (fields: Partial<InterviewFields>, answers = state.answers): InterviewSnapshot => ({
    interview: {
      ...state.interview,
      ...fields,
      updatedAt: at,
      version: state.interview.version + 1,
    },
    questions: state.questions,
    answers,
    eventId: event.eventId,
    sequence,
  });
  switch (stored.eventType) {
    case 'interview.scheduled':
      return next({ status: 'scheduled', scheduledFor: date(stored.event.payload.scheduledFor) });
    case 'interview.started':
      return next({ status: 'in_progress', startedAt: date(stored.event.payload.startedAt) });
    case 'interview.answer_submitted': {
      const p = stored.event.payload;
      return next({ answerCount: state.interview.answerCount + 1 }, [
        ...state.answers,
        {
          id: p.answerId,
          questionId: p.questionId,
          content: stored.facts.content,
          wordCount: p.wordCount,
          submittedAt: at,
        },
      ]);
    }
    case 'interview.paused':
      return next({ status: 'paused', pausedAt: date(stored.event.payload.pausedAt) });
    case 'interview.resumed':
      return next({ status: 'in_progress', pausedAt: null });
    case 'interview.completed':
      return next({ status: 'completed', completedAt: date(stored.event.payload.completedAt) });
    case 'interview.cancelled':
      return next({
        status: 'cancelled',
        cancelledAt: date(stored.event.payload.cancelledAt),
        cancelReason: stored.event.payload.reason ?? null,
      });
    case 'interview.restored':
      return next({ status: stored.event.payload.status, cancelledAt: null, cancelReason: null });
    default: {
      const unhandled: never = stored;
      throw new StreamOrderError(
        `${where}: no fold for ${(unhandled as { event: EventEnvelope }).event.eventType}`,
      );
    }
  }
}

/** The interview its whole stream tells of. @throws {StreamOrderError} as {@link applyStreamEvent} */
export function replayInterview(stream: readonly StreamEvent[]): InterviewSnapshot {
  const state = stream.reduce<InterviewSnapshot | undefined>(applyStreamEvent, undefined);
  if (!state) throw new StreamOrderError('an empty stream is no interview');
  return state;
}

/**
 * The interview as it was right after event `eventId` of its stream; `undefined` when the stream
 * has no such event.
 */
export function stateAt(
  stream: readonly StreamEvent[],
  eventId: string,
): InterviewSnapshot | undefined {
  const end = stream.findIndex((stored) => stored.event.eventId === eventId);
  return end < 0 ? undefined : replayInterview(stream.slice(0, end + 1));
}

function date(iso: string): Date {
  return new Date(iso);
}
