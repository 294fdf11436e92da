/**
 * The stored interview report: one row per interview, the state {@link projectReport} folds
 * from interview-events. Written only by the interview-events consumer; read by queries.
 */
import { EntitySchema, type Opt } from '@mikro-orm/core';
import type { InterviewStatus, ReportState } from '../projection';

/** One interview's report (`interview_report`): see the module's comment. */
export class InterviewReport implements ReportState {
  interviewId!: string;
  candidateId!: string;
  status!: InterviewStatus;
  answers!: number;
  totalQuestions!: number;
  wordCount!: number;
  durationSeconds!: number | null;
  score!: number | null;
  completed!: boolean;
  startedAt!: Date | null;
  lastEventAt!: Date;
  /**
   * Optimistic lock. One consumer owns a partition, but during a rebalance a member that lost it
   * may still finish an event: the second writer then fails and retries on fresh state instead
   * of overwriting the first one's update.
   */
  version!: number & Opt;
}

/** The MikroORM mapping of {@link InterviewReport}, `version` as its optimistic lock. */
export const InterviewReportSchema = new EntitySchema<InterviewReport>({
  class: InterviewReport,
  tableName: 'interview_report',
  properties: {
    interviewId: { type: 'string', fieldName: 'interview_id', primary: true },
    candidateId: { type: 'string', fieldName: 'candidate_id' },
    status: { type: 'string', fieldName: 'status' },
    answers: { type: 'integer', fieldName: 'answers' },
    totalQuestions: { type: 'integer', fieldName: 'total_questions' },
    wordCount: { type: 'integer', fieldName: 'word_count' },
    durationSeconds: { type: 'integer', fieldName: 'duration_seconds', nullable: true },
    score: { type: 'integer', fieldName: 'score', nullable: true },
    completed: { type: 'boolean', fieldName: 'completed' },
    startedAt: { type: 'datetime', fieldName: 'started_at', nullable: true },
    lastEventAt: { type: 'datetime', fieldName: 'last_event_at' },
    version: { type: 'integer', fieldName: 'version', version: true },
  },
});
