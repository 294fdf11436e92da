/**
 * Thin resolvers: each calls the request's {@link ReportService}, which authorizes, and maps the
 * stored report to its schema shape.
 */
import type { DeadLetterRecord } from '../../../events/dead-letters';
import { statusOf } from '../../../events/dead-letters';
import type {
  DeadLetter as DeadLetterView,
  InterviewReport as InterviewReportView,
  Resolvers,
} from '../generated/resolvers-types';
import { DateTime } from '../../shared/scalars';
import type { InterviewReport } from '../entities/interview-report';
import { completionOf } from '../projection';

/**
 * The schema shape of a stored report. `completion` is {@link completionOf}; `score` was stored by
 * the projection as `round(70 × completion + 30 × min(1, (wordCount / max(answers, 1)) / 50))`
 * once completed (see `interviewScore`).
 */
function toView(report: InterviewReport): InterviewReportView {
  return {
    interviewId: report.interviewId,
    candidateId: report.candidateId,
    status: report.status,
    answers: report.answers,
    totalQuestions: report.totalQuestions,
    completion: completionOf(report),
    wordCount: report.wordCount,
    durationSeconds: report.durationSeconds,
    score: report.score,
    completed: report.completed,
    lastEventAt: report.lastEventAt,
  };
}

/** The schema shape of a dead letter. */
function deadLetterView(record: DeadLetterRecord): DeadLetterView {
  return {
    id: record.id,
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    eventId: record.eventId,
    eventType: record.eventType,
    key: record.key,
    reason: record.reason,
    group: record.groupId,
    service: record.service,
    attempts: record.attempts,
    failedAt: record.failedAt,
    originalTopic: record.originalTopic,
    originalPartition: record.originalPartition,
    originalOffset: record.originalOffset,
    replays: record.replays + (record.resolution?.replays ?? 0),
    status:
      statusOf(record) === 'open'
        ? 'OPEN'
        : statusOf(record) === 'replayed'
          ? 'REPLAYED'
          : 'DISCARDED',
    headers: Object.entries(record.headers).map(([name, value]) => ({ name, value })),
    payload: record.value,
  };
}

export const resolvers: Resolvers = {
  DateTime,
  Query: {
    platformStats: (_parent, _args, { reports }) => reports.platformStats(),
    auditTrail: (_parent, args, { reports }) => reports.auditTrail(args),
    deadLetters: async (_parent, { filter, first }, { deadLetters }) =>
      (await deadLetters.list(filter, first)).map(deadLetterView),
  },
  Mutation: {
    replayDeadLetters: async (_parent, { ids, includeResolved }, { deadLetters }) => {
      const result = await deadLetters.replay(ids, includeResolved);
      return {
        // The replay itself: the record as it was replayed, counting this replay.
        replayed: result.done.map(({ record, replays }) => ({
          ...deadLetterView(record),
          replays,
          status: 'REPLAYED' as const,
        })),
        skipped: result.skipped.map(({ record, reason }) => ({ id: record.id, reason })),
        notFound: result.notFound.map((ref) =>
          ref.kind === 'eventId' ? ref.eventId : `${ref.topic}/${ref.partition}/${ref.offset}`,
        ),
      };
    },
  },
  Interview: {
    __resolveReference: (reference) => reference,
    report: async ({ id }, _args, { reports }) => {
      const report = await reports.reportFor(id);
      return report && toView(report);
    },
  },
  User: {
    __resolveReference: (reference) => reference,
    stats: ({ id }, _args, { reports }) => reports.statsFor(id),
  },
};
