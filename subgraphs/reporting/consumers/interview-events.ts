/**
 * Builds the interview report read model from interview-events: each event is folded by the
 * pure {@link projectReport} and stored in the same transaction that records the event as
 * handled, so a redelivered event changes nothing (see `handleOnce`).
 */
import type { DomainEvent } from '../../../events';
import { handleOnce } from '../../../events/consumers';
import type { Database } from '../../../lib/database';
import type { Logger } from '../../../lib/logger';
import { InterviewReport } from '../entities/interview-report';
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
 * The handler for the interview-events subscription. Event types the projection does not fold
 * are skipped without a trace, so new types on the topic never stop the consumer.
 */
export function createInterviewEventsHandler(
  options: InterviewEventsHandlerOptions,
): (event: DomainEvent) => Promise<void> {
  const { database, groupId, logger } = options;
  return async (event) => {
    if (!isProjectedEvent(event)) return;
    const handled = await handleOnce(database, groupId, event, async (em) => {
      const row = await em.findOne(InterviewReport, { interviewId: event.payload.interviewId });
      const next = projectReport(row ? stateOf(row) : undefined, event);
      if (row) em.assign(row, next);
      else em.persist(em.create(InterviewReport, next));
    });
    if (!handled) {
      logger.debug('duplicate event skipped', {
        eventId: event.eventId,
        eventType: event.eventType,
      });
    }
  };
}
