/**
 * The event envelope, exactly as the platform's event design fixes it:
 * `{ eventId, eventType, timestamp, version, source, payload }`.
 */
import { z } from 'zod';

/** Services that publish events; an envelope's `source` is one of these. */
export const SOURCES = [
  'api-gateway',
  'user-service',
  'interview-service',
  'notification-service',
  'reporting-service',
  'audit-service',
] as const;
export type Source = (typeof SOURCES)[number];

/**
 * The envelope's own fields. The payload is only checked to be an object here; the catalog
 * entry of `eventType` at `version` checks it field by field.
 */
export const envelopeSchema = z.strictObject({
  eventId: z.uuid({ error: 'must be a UUID' }),
  eventType: z.string().min(1, 'must name an event type'),
  timestamp: z.iso.datetime({ offset: true, error: 'must be an ISO-8601 date-time' }),
  version: z.string().min(1, 'must name a version, e.g. "1.0"'),
  source: z.enum(SOURCES, { error: `must be one of ${SOURCES.join(', ')}` }),
  payload: z.record(z.string(), z.unknown(), { error: 'must be an object' }),
});
