import { ProcessedEventSchema } from '../../../events/consumers';
import { InterviewPreferencesSchema } from './preferences';
import { OutboxMessageSchema } from '../../../events/outbox';
import { AnswerSchema } from './answer';
import { InterviewSchema } from './interview';
import { QuestionSchema } from './question';
import { StreamEventSchema } from './stream-event';
import { ErasureCancellationSchema } from './erasure-cancellation';

export { AnswerEntity, AnswerSchema } from './answer';
export { InterviewEntity, InterviewSchema } from './interview';
export { QuestionEntity, QuestionSchema } from './question';
export { StreamEventEntity, StreamEventSchema } from './stream-event';
export { ErasureCancellationEntity, ErasureCancellationSchema } from './erasure-cancellation';
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
  StreamEventSchema,
  ErasureCancellationSchema,
];
