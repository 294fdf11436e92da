/**
 * The audit consumer: every event of every topic, in `audit-service-group`, into the audit
 * trail. The entry and the processed-event record commit together, so a redelivered event is
 * recorded once.
 */
import {
  CONSUMER_GROUPS,
  type EventHandler,
  type Topic,
  type TopicHandlers,
} from '../../../events';
import { handleOnce } from '../../../events/consumers';
import type { Database } from '../../../lib/database';
import { auditEntryOf } from '../entities/audit-entry';

export const AUDIT_GROUP = CONSUMER_GROUPS.audit;

function auditHandler<T extends Topic>(database: Database, topic: T): EventHandler<T> {
  return async (event) => {
    await handleOnce(database, AUDIT_GROUP, event, async (em) => {
      em.persist(auditEntryOf(topic, event, new Date()));
    });
  };
}

export function auditHandlers(database: Database): TopicHandlers {
  return {
    'user-events': auditHandler(database, 'user-events'),
    'interview-events': auditHandler(database, 'interview-events'),
    'system-events': auditHandler(database, 'system-events'),
  };
}
