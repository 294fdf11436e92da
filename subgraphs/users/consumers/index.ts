/** The users service's event consumers. */
import { CONSUMER_GROUPS } from '../../../events';
import type { Database } from '../../../lib/database';
import type { Logger } from '../../../lib/logger';
import type { ConsumerDefinition } from '../../shared/subgraph';
import { interviewEventsHandler } from './interview-events';
import { userEventsHandler } from './user-events';

/** The service's consumer group (`user-service-group`); it also keys processed-event records. */
export const USERS_GROUP = CONSUMER_GROUPS.users;

export function usersConsumers({
  database,
  logger,
}: {
  database: Database;
  logger: Logger;
}): ConsumerDefinition[] {
  const log = logger.child({ consumer: USERS_GROUP });
  return [
    {
      groupId: USERS_GROUP,
      handlers: {
        'user-events': userEventsHandler(
          database,
          USERS_GROUP,
          log.child({ topic: 'user-events' }),
        ),
        'interview-events': interviewEventsHandler(
          database,
          USERS_GROUP,
          log.child({ topic: 'interview-events' }),
        ),
      },
    },
  ];
}
