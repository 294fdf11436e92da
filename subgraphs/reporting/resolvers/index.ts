/**
 * Thin resolvers: each calls the request's {@link ReportService}, which authorizes, and maps the
 * stored report to its schema shape.
 */
import type {
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

export const resolvers: Resolvers = {
  DateTime,
  Query: {
    platformStats: (_parent, _args, { reports }) => reports.platformStats(),
    auditTrail: (_parent, args, { reports }) => reports.auditTrail(args),
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
