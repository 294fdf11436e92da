import { OutboxMessageSchema } from '../../../events/outbox';
import { ProcessedEventSchema } from '../../../events/consumers';
import { UserActivitySchema } from './user-activity';
import { UserSchema } from './user';
import { ErasureSagaSchema } from '../erasure/saga';

export * from './user';
export * from './user-activity';

/** Every entity the users database holds, the outbox and processed-event tables included. */
export const entities = [
  UserSchema,
  UserActivitySchema,
  OutboxMessageSchema,
  ProcessedEventSchema,
  ErasureSagaSchema,
];
