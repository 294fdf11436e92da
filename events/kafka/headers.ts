import type { IHeaders } from 'kafkajs';

/** Header names this platform sets on every event message. */
export const EVENT_HEADERS = {
  eventId: 'event-id',
  eventType: 'event-type',
  version: 'event-version',
  source: 'event-source',
  contentType: 'content-type',
  /** The registry id of the payload's schema, when a schema registry is configured. */
  schemaId: 'schema-id',
} as const;

/** Header names added to a dead-lettered message; the original headers are kept beside them. */
export const DEAD_LETTER_HEADERS = {
  reason: 'dlq-reason',
  originalTopic: 'dlq-original-topic',
  originalPartition: 'dlq-original-partition',
  originalOffset: 'dlq-original-offset',
  groupId: 'dlq-group-id',
  service: 'dlq-service',
  attempts: 'dlq-attempts',
  failedAt: 'dlq-failed-at',
} as const;

/** Kafka headers as plain strings (repeated headers keep their last value). */
export function readHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last !== undefined) out[name] = last.toString();
  }
  return out;
}
