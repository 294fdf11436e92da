/** The users service's event consumers. */
import { CONSUMER_GROUPS, type Topic } from '../../../events';
import type { Database } from '../../../lib/database';
import type { Logger } from '../../../lib/logger';
import type { ConsumerDefinition } from '../../shared/subgraph';
import { interviewEventsHandler } from './interview-events';
import { userEventsHandler } from './user-events';

/** The service's consumer group (`user-service-group`); it also keys processed-event records. */
export const USERS_GROUP = CONSUMER_GROUPS.users;

/**
 * The Kafka group of the interview-events subscription. KafkaService gives each subscription
 * a consumer of its own, and kafkajs's group leader assigns partitions of its own topics only
 * (consumerGroup.js `assign({ topics: topicsSubscribed })`): two subscriptions on different
 * topics in one group leave partitions of both unconsumed. Until one consumer can subscribe to
 * several topics, each topic gets its own group; idempotency still keys on {@link USERS_GROUP}.
 */
export const USERS_INTERVIEW_EVENTS_GROUP = `${USERS_GROUP}.interview-events`;

/**
 * ConsumerDefinition's handler is typed for its own topic; the runtime keeps topic and handler
 * together, so widening it to the list's element type is safe.
 */
function consumer<T extends Topic>(definition: ConsumerDefinition<T>): ConsumerDefinition {
  return definition as unknown as ConsumerDefinition;
}

export function usersConsumers({
  database,
  logger,
}: {
  database: Database;
  logger: Logger;
}): ConsumerDefinition[] {
  const log = logger.child({ consumer: USERS_GROUP });
  return [
    consumer({
      topic: 'user-events',
      groupId: USERS_GROUP,
      handler: userEventsHandler(database, USERS_GROUP, log.child({ topic: 'user-events' })),
    }),
    consumer({
      topic: 'interview-events',
      groupId: USERS_INTERVIEW_EVENTS_GROUP,
      handler: interviewEventsHandler(
        database,
        USERS_GROUP,
        log.child({ topic: 'interview-events' }),
      ),
    }),
  ];
}
