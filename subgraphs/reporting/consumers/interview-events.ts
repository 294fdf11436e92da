/**
 * Builds the interview report read model from interview-events: each event is folded by the
 * pure {@link projectReport} and stored in the same transaction that records the event as
 * handled, so a redelivered event changes nothing (see `handleBatch`).
 */
import type { EventOn, TopicBatchHandlers } from '../../../events';
import { transactionalHandlers, type BatchEffect } from '../../../events/consumers';
import type { Database } from '../../../lib/database';
import type { Logger } from '../../../lib/logger';
import { InterviewReport } from '../entities/interview-report';
import { ERASED, erasedAmong } from '../erasure';
import { isProjectedEvent, projectReport, type ReportState } from '../projection';

export interface InterviewEventsHandlerOptions {
  database: Database;
  /** The consumer group; processed-event records are kept per group. */
  groupId: string;
  logger: Logger;
}

/** The projection's view of a stored row: its fields only, not the ORM's own. */
function stateOf(row: InterviewReport): ReportState {
  return {
    interviewId: row.interviewId,
    candidateId: row.candidateId,
    status: row.status,
    answers: row.answers,
    totalQuestions: row.totalQuestions,
    wordCount: row.wordCount,
    durationSeconds: row.durationSeconds,
    score: row.score,
    completed: row.completed,
    startedAt: row.startedAt,
    lastEventAt: row.lastEventAt,
  };
}

/**
 * Folds a batch of interview events into the reports: the batch's reports are loaded in one
 * query, each event is folded in order in memory, and the rows are written when the batch's
 * transaction commits. Event types the projection does not fold are skipped without a trace,
 * so new types on the topic never stop the consumer.
 */
export const projectBatch: BatchEffect<EventOn<'interview-events'>> = async (events, { em }) => {
  const projected = events.filter(isProjectedEvent);
  if (projected.length === 0) return;
  const ids = [...new Set(projected.map((e) => e.payload.interviewId))];
  const rows = new Map(
    (await em.find(InterviewReport, { interviewId: { $in: ids } })).map((r) => [r.interviewId, r]),
  );
  // Candidates whose account was erased (anonymize-reporting) are named by no report.
  const erased = await erasedAmong(
    em,
    projected.map((e) => e.payload.candidateId),
  );
  for (const event of projected) {
    const row = rows.get(event.payload.interviewId);
    const next = projectReport(row ? stateOf(row) : undefined, event);
    if (erased.has(next.candidateId)) next.candidateId = ERASED;
    if (row) em.assign(row, next);
    else {
      const created = em.create(InterviewReport, next);
      em.persist(created);
      rows.set(created.interviewId, created);
    }
  }
};

/** The handlers of the interview-events subscription. */
export function createInterviewEventsHandlers(
  options: InterviewEventsHandlerOptions,
): TopicBatchHandlers {
  const { database, groupId, logger } = options;
  return transactionalHandlers(database, groupId, { 'interview-events': projectBatch }, (dups) =>
    logger.debug('duplicate events skipped', { eventIds: dups.map((e) => e.eventId) }),
  );
}
