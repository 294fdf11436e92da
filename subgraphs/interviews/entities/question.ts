import { EntitySchema } from '@mikro-orm/core';
import { InterviewEntity } from './interview';

/** A question of an interview, fixed when the interview is created. */
export class QuestionEntity {
  /** A UUID. */
  id!: string;
  /** A reference; only its `id` is loaded unless populated. */
  interview!: InterviewEntity;
  /** 1-based order within the interview. */
  position!: number;
  text!: string;
}

export const QuestionSchema = new EntitySchema<QuestionEntity>({
  class: QuestionEntity,
  tableName: 'questions',
  properties: {
    id: { type: 'string', primary: true },
    interview: { kind: 'm:1', entity: () => InterviewEntity, fieldName: 'interview_id' },
    position: { type: 'integer' },
    text: { type: 'text' },
  },
});
