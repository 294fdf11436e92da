/**
 * The interviews service's steps of the account erasure saga (orchestrated by the users service,
 * `subgraphs/users/erasure/`): before the pivot it cancels the user's open interviews, and puts
 * them back when the saga compensates; after the pivot it erases what the candidate wrote.
 *
 * Each step runs inside the caller's transaction (`em`: the consumer's, with its processed-event
 * record and the saga reply), records its interview events through the event store, commits
 * nothing itself, and is idempotent: run twice (a re-sent command), it changes nothing the
 * second time and answers with the same interviews.
 */
import type { EntityManager } from '@mikro-orm/core';
import { ERASURE_CANCEL_REASON } from '../../events/catalog/erasure';
import { InterviewEventFactory } from '../../events/factories';
import { type OutboxMessage, OutboxMessage as OutboxRow } from '../../events/outbox';
import {
  AnswerEntity,
  ErasureCancellationEntity,
  InterviewEntity,
  InterviewPreferencesEntity,
} from './entities';
import { recordEvent, rewriteStreams } from './event-store';
import { isFinal, type Status } from './lifecycle';

export { ERASURE_CANCEL_REASON };
/** The reason a compensation's `interview.restored` carries. */
export const ERASURE_RESTORE_REASON = 'account erasure failed; interview restored';
/** What an erased answer (and any erased free text) reads afterwards. */
export const ERASED_TEXT = '[erased]';

export interface ErasureStep {
  sagaId: string;
  /** The user being erased: the interviews' candidate. */
  userId: string;
  now: Date;
}

export interface ErasureStepResult {
  /** The interviews the step changed (or, repeated, had changed). */
  interviewIds: string[];
  /** Outbox rows enqueued, for the relay's fast path after the commit. */
  rows: OutboxMessage[];
}

/**
 * Cancels every open interview of the user (reason {@link ERASURE_CANCEL_REASON}), remembering
 * each one's status for {@link restoreInterviews}. Repeated for the same saga, it finds its
 * records and cancels nothing more.
 */
export async function cancelOpenInterviews(
  em: EntityManager,
  { sagaId, userId, now }: ErasureStep,
): Promise<ErasureStepResult> {
  const done = await em.find(ErasureCancellationEntity, { sagaId });
  if (done.length > 0) return { interviewIds: done.map((c) => c.interviewId).sort(), rows: [] };
  const interviews = await em.find(
    InterviewEntity,
    { candidateId: userId },
    { orderBy: { createdAt: 'asc', id: 'asc' } },
  );
  const rows: OutboxMessage[] = [];
  const cancelled: string[] = [];
  for (const interview of interviews) {
    if (isFinal(interview.status)) continue;
    const previousStatus = interview.status;
    const record = new ErasureCancellationEntity();
    Object.assign(record, { sagaId, interviewId: interview.id, previousStatus, cancelledAt: now });
    em.persist(record);
    interview.status = 'cancelled';
    interview.cancelledAt = now;
    interview.cancelReason = ERASURE_CANCEL_REASON;
    interview.updatedAt = now;
    rows.push(
      recordEvent(em, interview.version + 1, {
        event: InterviewEventFactory.create(
          'interview.cancelled',
          {
            interviewId: interview.id,
            candidateId: userId,
            cancelledAt: now.toISOString(),
            previousStatus,
            reason: ERASURE_CANCEL_REASON,
          },
          { timestamp: now },
        ),
      }),
    );
    cancelled.push(interview.id);
  }
  return { interviewIds: cancelled.sort(), rows };
}

/**
 * The compensation of {@link cancelOpenInterviews}: every interview this saga cancelled gets its
 * status back (`interview.restored`), unless something else changed it since. Repeated, it
 * restores nothing more; without a cancellation (the step never ran) it does nothing.
 */
export async function restoreInterviews(
  em: EntityManager,
  { sagaId, now }: ErasureStep,
): Promise<ErasureStepResult> {
  const records = await em.find(ErasureCancellationEntity, { sagaId });
  const rows: OutboxMessage[] = [];
  const restored: string[] = [];
  for (const record of records) {
    if (record.restoredAt) {
      restored.push(record.interviewId);
      continue;
    }
    record.restoredAt = now;
    const interview = await em.findOne(InterviewEntity, { id: record.interviewId });
    if (!interview || !cancelledBy(interview, record)) continue;
    const status = record.previousStatus as Exclude<Status, 'completed' | 'cancelled'>;
    interview.status = status;
    interview.cancelledAt = null;
    interview.cancelReason = null;
    interview.updatedAt = now;
    rows.push(
      recordEvent(em, interview.version + 1, {
        event: InterviewEventFactory.create(
          'interview.restored',
          {
            interviewId: interview.id,
            candidateId: interview.candidateId,
            restoredAt: now.toISOString(),
            status,
            reason: ERASURE_RESTORE_REASON,
          },
          { timestamp: now },
        ),
      }),
    );
    restored.push(interview.id);
  }
  return { interviewIds: restored.sort(), rows };
}

/**
 * After the pivot: erases what the candidate wrote in every interview of theirs: the answers'
 * content (word counts stay, they are not personal) and cancel reasons other than the saga's, in
 * the rows and in the interviews' event streams alike (so a rebuild gives the erased state), and
 * in the outbox's copies; and their interview preferences. Repeating it finds nothing left.
 */
export async function anonymizeInterviews(
  em: EntityManager,
  { userId }: ErasureStep,
): Promise<ErasureStepResult> {
  const interviews = await em.find(InterviewEntity, { candidateId: userId });
  const ids = interviews.map((i) => i.id).sort();
  if (ids.length > 0) {
    const answers = await em.find(AnswerEntity, { interview: { $in: ids } });
    for (const answer of answers) answer.content = ERASED_TEXT;
    // Not through the entity, and with its own version named: a change of the row bumps its
    // version, which counts the interview's events, and erasing a word is no event of it.
    for (const interview of interviews) {
      const reason = interview.cancelReason;
      if (reason === null || reason === ERASURE_CANCEL_REASON || reason === ERASED_TEXT) continue;
      await em.nativeUpdate(
        InterviewEntity,
        { id: interview.id },
        { cancelReason: ERASED_TEXT, version: interview.version },
      );
    }
    await rewriteStreams(em, ids, (envelope, facts) => {
      if (envelope.eventType === 'interview.answer_submitted' && facts?.content !== ERASED_TEXT) {
        return { envelope, facts: { ...facts, content: ERASED_TEXT } };
      }
      const erased = erasedReason(envelope);
      return erased ? { envelope: erased, facts } : undefined;
    });
    const published = await em.find(OutboxRow, {
      aggregateId: { $in: ids },
      topic: 'interview-events',
    });
    for (const row of published) {
      const erased = erasedReason(JSON.parse(row.event));
      if (erased) row.event = JSON.stringify(erased);
    }
  }
  const preferences = await em.findOne(InterviewPreferencesEntity, { userId });
  if (preferences) em.remove(preferences);
  return { interviewIds: ids, rows: [] };
}

/** The envelope with a cancel reason the candidate wrote replaced, or `undefined` if it has none. */
function erasedReason(envelope: {
  eventType: string;
  payload: Record<string, unknown>;
}): { eventType: string; payload: Record<string, unknown> } | undefined {
  const reason = envelope.payload.reason;
  if (envelope.eventType !== 'interview.cancelled' || typeof reason !== 'string') return undefined;
  if (reason === ERASURE_CANCEL_REASON || reason === ERASED_TEXT) return undefined;
  return { ...envelope, payload: { ...envelope.payload, reason: ERASED_TEXT } };
}

/** Whether the interview is still the cancellation `record` made. */
function cancelledBy(interview: InterviewEntity, record: ErasureCancellationEntity): boolean {
  return (
    interview.status === 'cancelled' &&
    interview.cancelReason === ERASURE_CANCEL_REASON &&
    interview.cancelledAt?.getTime() === record.cancelledAt.getTime()
  );
}
