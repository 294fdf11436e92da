/** System events: every service announces its lifecycle and its failed handlers. */
import { z } from 'zod';
import { SOURCES } from '../envelope';
import { defineEvent } from './define';

const service = z.enum(SOURCES);
const id = z.string().min(1, 'must not be empty');

/** What every system event shares: its topic, any service may send it, keyed by that service. */
const systemEvent = {
  topic: 'system-events',
  sources: SOURCES,
  key: (p: { service: string }) => p.service,
} as const;

export const serviceStarted = defineEvent({
  type: 'service.started',
  ...systemEvent,
  versions: {
    '1.0': z.strictObject({
      service,
      instanceId: id,
      hostname: id,
      pid: z.number().int().positive(),
    }),
  },
  example: { service: 'user-service', instanceId: 'user-service-1', hostname: 'host', pid: 4242 },
});

export const serviceStopped = defineEvent({
  type: 'service.stopped',
  ...systemEvent,
  versions: {
    '1.0': z.strictObject({
      service,
      instanceId: id,
      reason: z.enum(['shutdown', 'error']),
      uptimeSeconds: z.number().min(0),
    }),
  },
  example: {
    service: 'user-service',
    instanceId: 'user-service-1',
    reason: 'shutdown',
    uptimeSeconds: 60,
  },
});

export const handlerFailed = defineEvent({
  type: 'handler.failed',
  ...systemEvent,
  versions: {
    '1.0': z.strictObject({
      service,
      groupId: id,
      topic: id,
      partition: z.number().int().min(0),
      offset: z.string().regex(/^\d+$/, 'must be a Kafka offset'),
      /** Absent when the message was not a valid event at all. */
      eventId: z.string().min(1).optional(),
      eventType: z.string().min(1).optional(),
      error: z.string().min(1),
      attempts: z.number().int().min(0),
      deadLetterTopic: id,
    }),
  },
  example: {
    service: 'reporting-service',
    groupId: 'reporting-service-group',
    topic: 'interview-events',
    partition: 0,
    offset: '17',
    eventId: '9b2f7f0e-3d5c-4c1b-9a57-0c1f2e3d4b5a',
    eventType: 'interview.completed',
    error: 'database is locked',
    attempts: 4,
    deadLetterTopic: 'interview-events.dlq',
  },
});

export const systemEvents = [serviceStarted, serviceStopped, handlerFailed];
