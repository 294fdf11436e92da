/**
 * The audit trail: one row per event on any topic (who, what, when, source), written by the
 * audit consumer in `audit-service-group`, read by admins through `auditTrail`.
 */
import { DateTimeType, EntitySchema } from '@mikro-orm/core';
import type { DomainEvent } from '../../../events';

/** One row of the audit trail (`audit_entries`), keyed by the event: see the module's comment. */
export class AuditEntry {
  eventId!: string;
  topic!: string;
  eventType!: string;
  /** The service that published the event. */
  source!: string;
  /** Whom it concerns: the user or candidate, or the service for system events. */
  actor!: string | null;
  /** What it concerns, e.g. the interview. */
  subject!: string | null;
  occurredAt!: Date;
  recordedAt!: Date;
}

/** The MikroORM mapping of {@link AuditEntry}. */
export const AuditEntrySchema = new EntitySchema<AuditEntry>({
  class: AuditEntry,
  tableName: 'audit_entries',
  properties: {
    eventId: { type: 'string', primary: true, fieldName: 'event_id' },
    topic: { type: 'string' },
    eventType: { type: 'string', fieldName: 'event_type' },
    source: { type: 'string' },
    actor: { type: 'string', nullable: true },
    subject: { type: 'string', nullable: true },
    occurredAt: { type: DateTimeType, fieldName: 'occurred_at' },
    recordedAt: { type: DateTimeType, fieldName: 'recorded_at' },
  },
});

/**
 * The audit entry of an event, not persisted: `actor` from the payload's `userId`, `candidateId`
 * or `service`, `subject` from its `interviewId`, `sessionId`, `instanceId` or `sagaId` (the first
 * present).
 * @param now - when it is recorded.
 */
export function auditEntryOf(
  topic: string,
  event: Pick<DomainEvent, 'eventId' | 'timestamp' | 'source'> & {
    eventType: string;
    payload: object;
  },
  now: Date,
): AuditEntry {
  const payload = event.payload as Record<string, unknown>;
  const text = (key: string) => (typeof payload[key] === 'string' ? payload[key] : null);
  const entry = new AuditEntry();
  Object.assign(entry, {
    eventId: event.eventId,
    topic,
    eventType: event.eventType,
    source: event.source,
    actor: text('userId') ?? text('candidateId') ?? text('service'),
    subject: text('interviewId') ?? text('sessionId') ?? text('instanceId') ?? text('sagaId'),
    occurredAt: new Date(event.timestamp),
    recordedAt: now,
  } satisfies AuditEntry);
  return entry;
}
