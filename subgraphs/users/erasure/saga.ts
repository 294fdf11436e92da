/**
 * The stored erasure saga (`erasure_saga`): one row per request, holding the state machine's
 * whole state, so any process may stop at any moment and the saga goes on from the row.
 *
 * - `open_user_id` is the user's id while the saga is open (running or compensating) and null
 *   once it ended: its unique index admits one open saga per user, whoever asks and however
 *   many ask at once.
 * - `version` is an optimistic lock: the consumer (replies) and the timer (timeouts, retries)
 *   of any replica may touch one saga at once; the second writer fails and tries again on
 *   fresh state.
 */
import { randomUUID } from 'node:crypto';
import { DateTimeType, EntitySchema, JsonType, type Opt } from '@mikro-orm/core';
import type { ErasureStep } from '../../../events/catalog/erasure';
import { initialState, isEnded, type SagaState, type SagaStatus, type StepState } from './machine';

/** One saga: see the module's comment. */
export class ErasureSaga implements SagaState {
  id!: string;
  userId!: string;
  /** Who asked: the user, or an admin. */
  requestedBy!: string;
  status!: SagaStatus;
  currentStep: ErasureStep | null = null;
  waitingFor: 'reply' | 'retry' | null = null;
  dueAt: Date | null = null;
  steps!: StepState[];
  reason: string | null = null;
  failedStep: ErasureStep | null = null;
  openUserId: string | null = null;
  createdAt!: Date;
  updatedAt!: Date;
  endedAt: Date | null = null;
  version!: number & Opt;
}

export const ErasureSagaSchema = new EntitySchema<ErasureSaga>({
  class: ErasureSaga,
  tableName: 'erasure_saga',
  properties: {
    id: { type: 'string', primary: true },
    userId: { type: 'string', fieldName: 'user_id' },
    requestedBy: { type: 'string', fieldName: 'requested_by' },
    status: { type: 'string' },
    currentStep: { type: 'string', fieldName: 'current_step', nullable: true },
    waitingFor: { type: 'string', fieldName: 'waiting_for', nullable: true },
    dueAt: { type: DateTimeType, fieldName: 'due_at', nullable: true },
    steps: { type: JsonType },
    reason: { type: 'text', nullable: true },
    failedStep: { type: 'string', fieldName: 'failed_step', nullable: true },
    openUserId: { type: 'string', fieldName: 'open_user_id', nullable: true, unique: true },
    createdAt: { type: DateTimeType, fieldName: 'created_at' },
    updatedAt: { type: DateTimeType, fieldName: 'updated_at' },
    endedAt: { type: DateTimeType, fieldName: 'ended_at', nullable: true },
    version: { type: 'integer', version: true },
  },
});

/** A new saga for `userId`, open, in the machine's initial state (not yet started). */
export function newSaga(userId: string, requestedBy: string, now: Date): ErasureSaga {
  const saga = new ErasureSaga();
  Object.assign(saga, initialState(), {
    id: randomUUID(),
    userId,
    requestedBy,
    openUserId: userId,
    createdAt: now,
    updatedAt: now,
  });
  return saga;
}

/** Copies a decided state onto the row, closing it when the saga ended. */
export function assignState(saga: ErasureSaga, state: SagaState, now: Date): void {
  saga.status = state.status;
  saga.currentStep = state.currentStep;
  saga.waitingFor = state.waitingFor;
  saga.dueAt = state.dueAt;
  saga.steps = state.steps;
  saga.reason = state.reason;
  saga.failedStep = state.failedStep;
  saga.updatedAt = now;
  if (isEnded(state.status)) {
    saga.openUserId = null;
    saga.endedAt = now;
  }
}
