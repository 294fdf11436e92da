/**
 * The activity log: one row per event that concerns a user, written by the event handlers (and
 * by `updateProfile`, in the same transaction as the event it publishes).
 */
import { randomUUID } from 'node:crypto';
import { EntitySchema } from '@mikro-orm/core';
import type { EventEnvelope } from '../../../events';

/** What an activity is about; the `kind` column's check constraint lists the same. */
export const ACTIVITY_KINDS = ['REGISTRATION', 'LOGIN', 'LOGOUT', 'PROFILE', 'INTERVIEW'] as const;
export type ActivityKind = (typeof ACTIVITY_KINDS)[number];

/** One row of the activity log (`user_activity`): see the module's comment. */
export class UserActivity {
  id!: string;
  userId!: string;
  kind!: ActivityKind;
  /** The event that recorded it, e.g. `user.authenticated`. */
  eventType!: string;
  eventId!: string;
  occurredAt!: Date;
  description!: string;
  /** The recording event's payload, as JSON; null for rows written before it was kept. */
  details: string | null = null;
}

/** The MikroORM mapping of {@link UserActivity}. */
export const UserActivitySchema = new EntitySchema<UserActivity>({
  class: UserActivity,
  tableName: 'user_activity',
  properties: {
    id: { type: 'string', primary: true },
    userId: { type: 'string', fieldName: 'user_id' },
    kind: { type: 'string' },
    eventType: { type: 'string', fieldName: 'event_type' },
    eventId: { type: 'string', fieldName: 'event_id' },
    occurredAt: { type: 'datetime', fieldName: 'occurred_at' },
    description: { type: 'text' },
    details: { type: 'text', nullable: true },
  },
  indexes: [{ name: 'user_activity_user_occurred_idx', properties: ['userId', 'occurredAt'] }],
});

/** An activity row for one event; `occurredAt` is the event's timestamp, `details` its payload. */
export function newActivity(fields: {
  userId: string;
  kind: ActivityKind;
  event: { eventId: string; eventType: string; timestamp: string; payload: object };
  description: string;
}): UserActivity {
  const activity = new UserActivity();
  activity.id = randomUUID();
  activity.userId = fields.userId;
  activity.kind = fields.kind;
  activity.eventType = fields.event.eventType;
  activity.eventId = fields.event.eventId;
  activity.occurredAt = new Date(fields.event.timestamp);
  activity.description = fields.description;
  activity.details = JSON.stringify(fields.event.payload);
  return activity;
}

/**
 * The PROFILE activity of a profile update: what `updateProfile` writes with the event, and what
 * the consumer writes when it finds none (a rebuild of the activity from the topics).
 */
export function profileActivity(event: EventEnvelope<'user.profile_updated'>): UserActivity {
  return newActivity({
    userId: event.payload.userId,
    kind: 'PROFILE',
    event,
    description: `updated ${event.payload.updatedFields.join(', ')}`,
  });
}

/**
 * `UserActivity.details`: the payload's fields in order; strings as they are, others as JSON.
 * @throws {SyntaxError} when the stored `details` is not JSON.
 */
export function activityDetails(
  activity: Pick<UserActivity, 'details'>,
): { name: string; value: string | null }[] {
  if (!activity.details) return [];
  const payload = JSON.parse(activity.details) as Record<string, unknown>;
  return Object.entries(payload).map(([name, value]) => ({
    name,
    value: value === null ? null : typeof value === 'string' ? value : JSON.stringify(value),
  }));
}
