/**
 * Account erasure (the right to erasure) as a saga: the users service orchestrates, every
 * service that holds the user's data takes part. Commands and replies travel on `system-events`,
 * keyed by the saga's id, so one saga's events stay in order; each goes through its sender's
 * outbox, in the transaction of the state change it announces.
 *
 * Only `erasure.requested` and `erasure.step_requested` name the user (participants need the id
 * to find the data); replies and outcomes name the saga only.
 */
import { z } from 'zod';
import { defineEvent } from './define';

const id = z.string().min(1, 'must not be empty');
const attempt = z.number().int().min(1);

/**
 * Every step of the saga, forward steps in order, then the compensations. See
 * `subgraphs/users/erasure/definition.ts` for who runs which and where the pivot is.
 */
export const ERASURE_STEPS = [
  'suspend-account',
  'cancel-interviews',
  'anonymize-interviews',
  'anonymize-reporting',
  'erase-profile',
  'forget-recipient',
  'restore-interviews',
  'restore-account',
] as const;
export type ErasureStep = (typeof ERASURE_STEPS)[number];

/**
 * A failure injected into a participant's handling of a step, for tests (passed explicitly,
 * never read from the environment): the participant answers `erasure.step_failed` instead of
 * doing the step, `times` times (every time when absent).
 */
export interface ErasureFault {
  step: ErasureStep;
  /** @default Infinity */
  times?: number;
  /**
   * The step's work is done and kept, and the reply still says it failed: a step that
   * half-succeeded, whose compensation then has something to undo. @default false
   */
  afterWork?: boolean;
}

const step = z.enum(ERASURE_STEPS);

/** What every erasure event shares: its topic, keyed by the saga. */
const erasureEvent = {
  topic: 'system-events',
  key: (p: { sagaId: string }) => p.sagaId,
} as const;

export const erasureRequested = defineEvent({
  type: 'erasure.requested',
  ...erasureEvent,
  sources: ['user-service'],
  versions: {
    '1.0': z.strictObject({ sagaId: id, userId: id, requestedBy: id }),
  },
  example: { sagaId: 's-1', userId: 'u-1', requestedBy: 'u-1' },
});

export const erasureStepRequested = defineEvent({
  type: 'erasure.step_requested',
  ...erasureEvent,
  sources: ['user-service'],
  versions: {
    '1.0': z.strictObject({ sagaId: id, userId: id, step, attempt }),
  },
  example: { sagaId: 's-1', userId: 'u-1', step: 'cancel-interviews', attempt: 1 },
});

export const erasureStepCompleted = defineEvent({
  type: 'erasure.step_completed',
  ...erasureEvent,
  sources: ['user-service', 'interview-service', 'reporting-service', 'notification-service'],
  versions: {
    '1.0': z.strictObject({
      sagaId: id,
      step,
      attempt,
      /** How many records the step changed (0 when a repeated command found nothing left to do). */
      affected: z.number().int().min(0),
    }),
  },
  example: { sagaId: 's-1', step: 'cancel-interviews', attempt: 1, affected: 2 },
});

export const erasureStepFailed = defineEvent({
  type: 'erasure.step_failed',
  ...erasureEvent,
  sources: ['user-service', 'interview-service', 'reporting-service', 'notification-service'],
  versions: {
    '1.0': z.strictObject({
      sagaId: id,
      step,
      attempt,
      reason: z.string().min(1).max(2000),
      /** Whether the participant thinks trying again can help. */
      retryable: z.boolean(),
    }),
  },
  example: {
    sagaId: 's-1',
    step: 'cancel-interviews',
    attempt: 1,
    reason: 'database is locked',
    retryable: true,
  },
});

export const erasureCompleted = defineEvent({
  type: 'erasure.completed',
  ...erasureEvent,
  sources: ['user-service'],
  versions: { '1.0': z.strictObject({ sagaId: id }) },
  example: { sagaId: 's-1' },
});

export const erasureFailed = defineEvent({
  type: 'erasure.failed',
  ...erasureEvent,
  sources: ['user-service'],
  versions: {
    '1.0': z.strictObject({
      sagaId: id,
      /** The step whose failure ended the saga, before the pivot. */
      step,
      reason: z.string().min(1).max(2000),
    }),
  },
  example: { sagaId: 's-1', step: 'cancel-interviews', reason: 'interviews service: timeout' },
});

export const erasureAlert = defineEvent({
  type: 'erasure.alert',
  ...erasureEvent,
  sources: ['user-service'],
  versions: {
    '1.0': z.strictObject({
      sagaId: id,
      step,
      /** Attempts so far; the step is still retried. */
      attempts: attempt,
      lastError: z.string().min(1).max(2000),
    }),
  },
  example: {
    sagaId: 's-1',
    step: 'anonymize-reporting',
    attempts: 3,
    lastError: 'no reply within 30000 ms',
  },
});

/**
 * The reason the interviews the saga cancels carry (`interview.cancelled`): not personal data, so
 * it survives the erasure; the notification service sends no cancellation email for it (the
 * saga's confirmation says it all).
 */
export const ERASURE_CANCEL_REASON = 'account erasure';
