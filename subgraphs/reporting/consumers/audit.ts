/**
 * The audit consumer: every event of every topic, in `audit-service-group`, into the audit
 * trail. A batch's entries and its processed-event records commit together, so a redelivered
 * event is recorded once.
 */
import {
  CONSUMER_GROUPS,
  type EventOn,
  type Topic,
  type TopicBatchHandlers,
} from '../../../events';
import { handleOnce, transactionalHandlers, type BatchEffect } from '../../../events/consumers';
import type { UnknownVersionHandler } from '../../../events/kafka/consumer';
import type { Database } from '../../../lib/database';
import { auditEntryOf } from '../entities/audit-entry';
import { anonymizeEntries, auditErasure, erasedAmong } from '../erasure';

/** The audit consumer's group (`audit-service-group`). */
export const AUDIT_GROUP = CONSUMER_GROUPS.audit;

function auditEffect<T extends Topic>(topic: T): BatchEffect<EventOn<T>> {
  return async (events, { em }) => {
    const now = new Date();
    // The erasure saga's anonymize-reporting leaves its tombstone first, so every entry of the
    // batch (and every later one) of an erased user names no one.
    if (topic === 'system-events') {
      await auditErasure(em, events as EventOn<'system-events'>[]);
    }
    const entries = events.map((event) => auditEntryOf(topic, event, now));
    anonymizeEntries(
      entries,
      await erasedAmong(
        em,
        entries.map((e) => e.actor),
      ),
    );
    for (const entry of entries) em.persist(entry);
  };
}

/**
 * The audit consumer's batch handlers for all three topics: each batch's audit entries
 * commit with its processed-event records in one transaction of `database`.
 */
export function auditHandlers(database: Database): TopicBatchHandlers {
  return transactionalHandlers(database, AUDIT_GROUP, {
    'user-events': auditEffect('user-events'),
    'interview-events': auditEffect('interview-events'),
    'system-events': auditEffect('system-events'),
  });
}

/**
 * An event of a type or version this build's catalog does not know, validated against its
 * schema in the registry (a newer producer's): the audit trail records it too, once. Only with
 * SCHEMA_REGISTRY_URL; without, such an event is dead-lettered as unknown.
 */
export function auditUnknownVersion(database: Database): UnknownVersionHandler {
  return async (event, { topic }) => {
    await handleOnce(database, AUDIT_GROUP, event, async (em) => {
      em.persist(auditEntryOf(topic, event, new Date()));
    });
  };
}
