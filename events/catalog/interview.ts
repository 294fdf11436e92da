/**
 * Interview lifecycle events, published by the interviews service and keyed by interview id.
 * Every payload names the interview and its candidate, so consumers (reporting, notifications,
 * live subscriptions) can route and authorize an event without a lookup.
 */
import { z } from 'zod';
import { defineEvent } from './define';

const id = z.string().min(1, 'must not be empty');
const at = z.iso.datetime({ offset: true, error: 'must be an ISO-8601 date-time' });
const count = z.number().int().min(0);

const base = { interviewId: id, candidateId: id };
const example = { interviewId: 'i-1', candidateId: 'u-1' };

/** What every interview event shares: its topic, its one source, keyed by the interview. */
const interviewEvent = {
  topic: 'interview-events',
  sources: ['interview-service'],
  key: (p: { interviewId: string }) => p.interviewId,
} as const;

export const INTERVIEW_STATUSES = [
  'draft',
  'scheduled',
  'in_progress',
  'paused',
  'completed',
  'cancelled',
] as const;

export const interviewCreated = defineEvent({
  type: 'interview.created',
  ...interviewEvent,
  versions: {
    '1.0': z.strictObject({
      ...base,
      title: z.string().min(1).max(200),
      position: z.string().min(1).max(200),
      questionCount: count,
      createdBy: id,
    }),
  },
  example: {
    ...example,
    title: 'Backend screen',
    position: 'Engineer',
    questionCount: 3,
    createdBy: 'u-9',
  },
});

export const interviewScheduled = defineEvent({
  type: 'interview.scheduled',
  ...interviewEvent,
  versions: { '1.0': z.strictObject({ ...base, scheduledFor: at }) },
  example: { ...example, scheduledFor: '2026-12-01T09:00:00.000Z' },
});

export const interviewStarted = defineEvent({
  type: 'interview.started',
  ...interviewEvent,
  versions: { '1.0': z.strictObject({ ...base, startedAt: at }) },
  example: { ...example, startedAt: '2026-12-01T09:01:00.000Z' },
});

export const interviewAnswerSubmitted = defineEvent({
  type: 'interview.answer_submitted',
  ...interviewEvent,
  versions: {
    '1.0': z.strictObject({
      ...base,
      questionId: id,
      answerId: id,
      wordCount: count,
      answeredQuestions: count,
      totalQuestions: count,
    }),
  },
  example: {
    ...example,
    questionId: 'q-1',
    answerId: 'a-1',
    wordCount: 42,
    answeredQuestions: 1,
    totalQuestions: 3,
  },
});

export const interviewPaused = defineEvent({
  type: 'interview.paused',
  ...interviewEvent,
  versions: {
    '1.0': z.strictObject({
      ...base,
      pausedAt: at,
      reason: z.enum(['manual', 'timeout', 'logged_out']),
    }),
  },
  example: { ...example, pausedAt: '2026-12-01T09:10:00.000Z', reason: 'manual' },
});

export const interviewResumed = defineEvent({
  type: 'interview.resumed',
  ...interviewEvent,
  versions: {
    '1.0': z.strictObject({
      ...base,
      resumedAt: at,
      trigger: z.enum(['manual', 'user_authenticated']),
    }),
  },
  example: { ...example, resumedAt: '2026-12-01T09:20:00.000Z', trigger: 'user_authenticated' },
});

export const interviewCompleted = defineEvent({
  type: 'interview.completed',
  ...interviewEvent,
  versions: {
    '1.0': z.strictObject({
      ...base,
      completedAt: at,
      answeredQuestions: count,
      totalQuestions: count,
      durationSeconds: count,
    }),
  },
  example: {
    ...example,
    completedAt: '2026-12-01T09:40:00.000Z',
    answeredQuestions: 3,
    totalQuestions: 3,
    durationSeconds: 2340,
  },
});

export const interviewCancelled = defineEvent({
  type: 'interview.cancelled',
  ...interviewEvent,
  versions: {
    '1.0': z.strictObject({
      ...base,
      cancelledAt: at,
      previousStatus: z.enum(INTERVIEW_STATUSES),
      reason: z.string().min(1).max(500).optional(),
    }),
  },
  example: { ...example, cancelledAt: '2026-12-01T08:00:00.000Z', previousStatus: 'scheduled' },
});

/**
 * A cancelled interview put back as it was: the compensation of a cancellation that a larger
 * process (the account erasure saga) started and then had to undo. `status` is the one it had
 * before the cancellation; only cancellations the service itself made can be restored.
 */
export const interviewRestored = defineEvent({
  type: 'interview.restored',
  ...interviewEvent,
  versions: {
    '1.0': z.strictObject({
      ...base,
      restoredAt: at,
      status: z.enum(['draft', 'scheduled', 'in_progress', 'paused']),
      reason: z.string().min(1).max(500),
    }),
  },
  example: {
    ...example,
    restoredAt: '2026-12-01T08:05:00.000Z',
    status: 'scheduled',
    reason: 'account erasure failed: compensated',
  },
});

export const interviewEvents = [
  interviewCreated,
  interviewScheduled,
  interviewStarted,
  interviewAnswerSubmitted,
  interviewPaused,
  interviewResumed,
  interviewCompleted,
  interviewCancelled,
  interviewRestored,
];
