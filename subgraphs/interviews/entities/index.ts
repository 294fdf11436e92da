import { ProcessedEventSchema } from '../../../events/consumers';
import { InterviewPreferencesSchema } from './preferences';
import { OutboxMessageSchema } from '../../../events/outbox';
import { AnswerSchema } from './answer';
import { InterviewSchema } from './interview';
import { QuestionSchema } from './question';

export { AnswerEntity, AnswerSchema } from './answer';
export { InterviewEntity, InterviewSchema } from './interview';
export { QuestionEntity, QuestionSchema } from './question';
export {
  DEFAULT_PREFERENCES,
  defaultPreferences,
  InterviewPreferencesEntity,
  InterviewPreferencesSchema,
} from './preferences';
export { userReference, type UserReference } from './user-reference';

/** Every entity the subgraph's database maps, the outbox included. */
export const entities = [
  InterviewSchema,
  QuestionSchema,
  AnswerSchema,
  OutboxMessageSchema,
  ProcessedEventSchema,
  InterviewPreferencesSchema,
];
