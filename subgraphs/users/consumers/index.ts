/** The users service's event consumers. */
import { CONSUMER_GROUPS } from '../../../events';
import { transactionalHandlers } from '../../../events/consumers';
import type { ConsumerDefinition, ConsumerDeps } from '../../shared/subgraph';
import { erasureSystemEventsEffect } from '../erasure';
import { interviewEventsEffect } from './interview-events';
import { userEventsEffect } from './user-events';

/** The service's consumer group (`user-service-group`); it also keys processed-event records. */
export const USERS_GROUP = CONSUMER_GROUPS.users;

/**
 * The service's consumers, for `createSubgraph`: one group on `user-events` and
 * `interview-events`, each batch handled in one transaction with its processed-event records.
 */
export function usersConsumers({
  database,
  logger,
  eventsCommitted,
  erasure,
}: ConsumerDeps): ConsumerDefinition[] {
  const log = logger.child({ consumer: USERS_GROUP });
  return [
    {
      groupId: USERS_GROUP,
      handlers: transactionalHandlers(database, USERS_GROUP, {
        'user-events': userEventsEffect(log.child({ topic: 'user-events' })),
        'interview-events': interviewEventsEffect(log.child({ topic: 'interview-events' })),
        // The erasure saga: the users service's own steps, and the replies it orchestrates on.
        'system-events': erasureSystemEventsEffect({
          options: erasure ?? {},
          eventsCommitted,
          logger: log.child({ topic: 'system-events' }),
        }),
      }),
    },
  ];
}
