/**
 * The erasure saga's state machine: pure, no I/O and no clock (`now` is an argument), so every
 * path is unit-tested (`machine.test.ts`). The orchestrator loads a saga, feeds it one input
 * (the start, a participant's reply, or the timer's tick), stores the new state and sends the
 * effects (commands and outcome events) through its outbox, in one transaction.
 *
 * - A step is requested with an attempt number; its reply names the step and the attempt.
 * - Before the pivot, `step_failed` starts the compensation; a step without a reply is requested
 *   again up to `attemptsBeforeCompensation` times, then compensated as failed ("no reply").
 * - From the pivot on, and for compensations, which must finish too, a failure or a missing
 *   reply is retried with exponential backoff until the step is done; every `alertEvery`
 *   attempts an alert goes to admins.
 * - Compensation undoes, newest first, every forward step that was requested (completed or not:
 *   one without a reply may have been done), then the saga ends `failed` with the reason.
 * - Replies for another step than the current one, or a failure of an older attempt, change
 *   nothing (duplicates, late replies); a success of an older attempt of the current step counts.
 */
import type { ErasureStep } from '../../../events/catalog/erasure';
import { FORWARD_STEPS, isAfterPivot, isCompensation, type ErasureTiming } from './definition';

export const SAGA_STATUSES = ['running', 'compensating', 'completed', 'failed'] as const;
export type SagaStatus = (typeof SAGA_STATUSES)[number];
export const STEP_STATUSES = ['pending', 'running', 'completed', 'failed', 'skipped'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

/** One step as the saga knows it. */
export interface StepState {
  name: ErasureStep;
  status: StepStatus;
  /** Times it was requested. */
  attempts: number;
  lastError: string | null;
  /** ISO-8601, when its success reply was taken. */
  completedAt: string | null;
}

/** Everything the machine decides on; the stored saga has these fields. */
export interface SagaState {
  status: SagaStatus;
  /** The step requested or waiting to be; null once the saga ended. */
  currentStep: ErasureStep | null;
  /** What the saga waits for until `dueAt`: the current step's reply, or the time to retry it. */
  waitingFor: 'reply' | 'retry' | null;
  dueAt: Date | null;
  /** The forward steps in order, then the compensations once planned. */
  steps: StepState[];
  /** Why the saga failed (or is compensating): `<step>: <reason>`. */
  reason: string | null;
  /** The step whose failure started the compensation. */
  failedStep: ErasureStep | null;
}

export type SagaInput =
  | { type: 'start' }
  | { type: 'step_completed'; step: ErasureStep; attempt: number }
  | { type: 'step_failed'; step: ErasureStep; attempt: number; reason: string; retryable: boolean }
  /** The timer: acts only when `dueAt` has passed. */
  | { type: 'tick' };

export type SagaEffect =
  | { kind: 'request'; step: ErasureStep; attempt: number }
  | { kind: 'alert'; step: ErasureStep; attempts: number; lastError: string }
  | { kind: 'completed' }
  | { kind: 'failed'; step: ErasureStep; reason: string };

export interface Decision {
  state: SagaState;
  effects: SagaEffect[];
  /** Whether the input changed anything (false: a duplicate, a stale reply, a tick not due). */
  changed: boolean;
}

/** A new saga: every forward step pending, nothing requested yet (feed it `start`). */
export function initialState(): SagaState {
  return {
    status: 'running',
    currentStep: null,
    waitingFor: null,
    dueAt: null,
    steps: FORWARD_STEPS.map((s) => ({
      name: s.name,
      status: 'pending',
      attempts: 0,
      lastError: null,
      completedAt: null,
    })),
    reason: null,
    failedStep: null,
  };
}

/** Whether the saga has ended (`completed` or `failed`): nothing changes it any more. */
export const isEnded = (status: SagaStatus): boolean =>
  status === 'completed' || status === 'failed';

/** The wait before retry number `attempt + 1`: base × 2^(attempt-1), at most `retryMaxMs`. */
export function retryDelay(attempt: number, timing: ErasureTiming): number {
  return Math.min(timing.retryMaxMs, timing.retryBaseMs * 2 ** Math.max(0, attempt - 1));
}

/** Feeds one input to a saga; never mutates `state`. */
export function decide(
  state: SagaState,
  input: SagaInput,
  now: Date,
  timing: ErasureTiming,
): Decision {
  const next: SagaState = { ...state, steps: state.steps.map((s) => ({ ...s })) };
  const effects: SagaEffect[] = [];
  const unchanged: Decision = { state, effects: [], changed: false };
  if (isEnded(state.status)) return unchanged;
  const current = next.steps.find((s) => s.name === next.currentStep);

  const request = (step: StepState) => {
    step.status = 'running';
    step.attempts += 1;
    next.currentStep = step.name;
    next.waitingFor = 'reply';
    next.dueAt = new Date(now.getTime() + timing.stepTimeoutMs);
    effects.push({ kind: 'request', step: step.name, attempt: step.attempts });
  };

  /** After a step finished: the next step of the current phase, or the saga's end. */
  const advance = () => {
    const pending = next.steps.find(
      (s) => s.status === 'pending' && (next.status === 'compensating') === isCompensation(s.name),
    );
    if (pending) return request(pending);
    next.currentStep = null;
    next.waitingFor = null;
    next.dueAt = null;
    if (next.status === 'running') {
      next.status = 'completed';
      effects.push({ kind: 'completed' });
    } else {
      next.status = 'failed';
      effects.push({
        kind: 'failed',
        step: next.failedStep ?? 'suspend-account',
        reason: next.reason ?? 'failed',
      });
    }
  };

  /** Before the pivot: undo what was requested, newest first. */
  const compensate = (failed: StepState, reason: string) => {
    failed.status = 'failed';
    next.status = 'compensating';
    next.failedStep = failed.name;
    next.reason = `${failed.name}: ${reason}`;
    const requested = next.steps.filter((s) => s.attempts > 0 && !isCompensation(s.name));
    for (const step of next.steps) if (step.status === 'pending') step.status = 'skipped';
    for (const step of [...requested].reverse()) {
      const compensation = FORWARD_STEPS.find((f) => f.name === step.name)?.compensation;
      if (!compensation) continue;
      next.steps.push({
        name: compensation,
        status: 'pending',
        attempts: 0,
        lastError: null,
        completedAt: null,
      });
    }
    advance();
  };

  /** From the pivot on, and for compensations: try again after a backoff; alert now and then. */
  const retryLater = (step: StepState, reason: string) => {
    step.lastError = reason;
    next.waitingFor = 'retry';
    next.dueAt = new Date(now.getTime() + retryDelay(step.attempts, timing));
    if (step.attempts % timing.alertEvery === 0) {
      effects.push({ kind: 'alert', step: step.name, attempts: step.attempts, lastError: reason });
    }
  };

  const mustFinish = (step: StepState) => isCompensation(step.name) || isAfterPivot(step.name);

  switch (input.type) {
    case 'start': {
      if (next.currentStep !== null) return unchanged;
      const first = next.steps[0];
      if (!first) return unchanged;
      request(first);
      break;
    }
    case 'step_completed': {
      if (!current || current.name !== input.step || current.status !== 'running') {
        return unchanged;
      }
      current.status = 'completed';
      current.completedAt = now.toISOString();
      current.lastError = null;
      advance();
      break;
    }
    case 'step_failed': {
      if (!current || current.name !== input.step || current.status !== 'running') {
        return unchanged;
      }
      // A failure of an attempt already given up on, or a second reply to one already retried.
      if (input.attempt !== current.attempts || next.waitingFor !== 'reply') return unchanged;
      current.lastError = input.reason;
      if (mustFinish(current)) retryLater(current, input.reason);
      else compensate(current, input.reason);
      break;
    }
    case 'tick': {
      if (!current || !next.dueAt || next.dueAt.getTime() > now.getTime()) return unchanged;
      if (next.waitingFor === 'retry') {
        request(current);
        break;
      }
      const reason = `no reply within ${timing.stepTimeoutMs} ms`;
      current.lastError = reason;
      if (mustFinish(current)) {
        // The wait for the reply was the backoff: ask again at once.
        if (current.attempts % timing.alertEvery === 0) {
          effects.push({
            kind: 'alert',
            step: current.name,
            attempts: current.attempts,
            lastError: reason,
          });
        }
        request(current);
      } else if (current.attempts < timing.attemptsBeforeCompensation) {
        request(current);
      } else {
        compensate(current, reason);
      }
      break;
    }
    default: {
      const unknown: never = input;
      throw new Error(`unknown saga input ${JSON.stringify(unknown)}`);
    }
  }
  return { state: next, effects, changed: true };
}
