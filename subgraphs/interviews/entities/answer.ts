import { DateTimeType, EntitySchema } from '@mikro-orm/core';
import { InterviewEntity } from './interview';
import { QuestionEntity } from './question';

/** The candidate's answer to one question; at most one per question. */
export class AnswerEntity {
  /** A UUID. */
  id!: string;
  /** References; only their `id` is loaded unless populated. */
  interview!: InterviewEntity;
  question!: QuestionEntity;
  content!: string;
  wordCount!: number;
  submittedAt!: Date;
}

export const AnswerSchema = new EntitySchema<AnswerEntity>({
  class: AnswerEntity,
  tableName: 'answers',
  properties: {
    id: { type: 'string', primary: true },
    interview: { kind: 'm:1', entity: () => InterviewEntity, fieldName: 'interview_id' },
    question: { kind: 'm:1', entity: () => QuestionEntity, fieldName: 'question_id' },
    content: { type: 'text' },
    wordCount: { type: 'integer', fieldName: 'word_count' },
    submittedAt: { type: DateTimeType, fieldName: 'submitted_at' },
  },
});
