import { DateTimeType, EntitySchema } from '@mikro-orm/core';
import type { Status } from '../lifecycle';

/** One interview of one candidate. Its questions and answers are rows of their own. */
export class InterviewEntity {
  /** A UUID. */
  id!: string;
  /** The user (id from the users subgraph) who answers the questions. */
  candidateId!: string;
  /** The user who created it: the candidate, or an admin. */
  createdBy!: string;
  title!: string;
  position!: string;
  status!: Status;
  /** Kept here so events and listings need no count query. */
  questionCount!: number;
  answerCount = 0;
  createdAt!: Date;
  /** Changes with every action; with {@link version} it serializes concurrent actions. */
  updatedAt!: Date;
  scheduledFor: Date | null = null;
  startedAt: Date | null = null;
  /** When the current pause began; cleared on resume, kept when completed while paused. */
  pausedAt: Date | null = null;
  completedAt: Date | null = null;
  cancelledAt: Date | null = null;
  cancelReason: string | null = null;
  /**
   * Optimistic lock: an update that finds another version fails, so two concurrent actions
   * on one interview cannot both pass the lifecycle check.
   */
  version = 1;
}

// Dates use the DateTimeType class: with the `'datetime'` alias, MikroORM 6.6.16 on libSQL
// snapshots loaded dates as Date but compares them as numbers, so every loaded row looked dirty
// and was rewritten (bumping its version) by any later flush of the same EntityManager.
export const InterviewSchema = new EntitySchema<InterviewEntity>({
  class: InterviewEntity,
  tableName: 'interviews',
  properties: {
    id: { type: 'string', primary: true },
    candidateId: { type: 'string', fieldName: 'candidate_id' },
    createdBy: { type: 'string', fieldName: 'created_by' },
    title: { type: 'string' },
    position: { type: 'string' },
    status: { type: 'string' },
    questionCount: { type: 'integer', fieldName: 'question_count' },
    answerCount: { type: 'integer', fieldName: 'answer_count' },
    createdAt: { type: DateTimeType, fieldName: 'created_at' },
    updatedAt: { type: DateTimeType, fieldName: 'updated_at' },
    scheduledFor: { type: DateTimeType, fieldName: 'scheduled_for', nullable: true },
    startedAt: { type: DateTimeType, fieldName: 'started_at', nullable: true },
    pausedAt: { type: DateTimeType, fieldName: 'paused_at', nullable: true },
    completedAt: { type: DateTimeType, fieldName: 'completed_at', nullable: true },
    cancelledAt: { type: DateTimeType, fieldName: 'cancelled_at', nullable: true },
    cancelReason: { type: 'string', fieldName: 'cancel_reason', nullable: true },
    version: { type: 'integer', version: true },
  },
});
