import { DateTimeType, EntitySchema } from '@mikro-orm/core';

/** How a candidate's interviews behave; created with defaults when the user registers. */
export class InterviewPreferencesEntity {
  userId!: string;
  /** An IANA time zone, e.g. Europe/Berlin: how schedules are shown to the candidate. */
  timezone!: string;
  /** Minutes before a scheduled interview that a reminder goes out; 0 for none. */
  reminderMinutesBefore!: number;
  /** Resume paused interviews when the candidate signs in. */
  autoResume!: boolean;
  createdAt!: Date;
  updatedAt!: Date;
}

/** What a new candidate starts with. */
export const DEFAULT_PREFERENCES = {
  timezone: 'UTC',
  reminderMinutesBefore: 30,
  autoResume: true,
} as const;

/**
 * New preferences of `userId`, not persisted: {@link DEFAULT_PREFERENCES} in the user's own time
 * zone when known (their registration's), both times `now`.
 */
export function defaultPreferences(
  userId: string,
  now: Date,
  timezone: string = DEFAULT_PREFERENCES.timezone,
): InterviewPreferencesEntity {
  const preferences = new InterviewPreferencesEntity();
  Object.assign(preferences, {
    userId,
    ...DEFAULT_PREFERENCES,
    timezone,
    createdAt: now,
    updatedAt: now,
  });
  return preferences;
}

/** The MikroORM mapping of {@link InterviewPreferencesEntity} (`interview_preferences`). */
export const InterviewPreferencesSchema = new EntitySchema<InterviewPreferencesEntity>({
  class: InterviewPreferencesEntity,
  tableName: 'interview_preferences',
  properties: {
    userId: { type: 'string', primary: true, fieldName: 'user_id' },
    timezone: { type: 'string' },
    reminderMinutesBefore: { type: 'integer', fieldName: 'reminder_minutes_before' },
    autoResume: { type: 'boolean', fieldName: 'auto_resume' },
    createdAt: { type: DateTimeType, fieldName: 'created_at' },
    updatedAt: { type: DateTimeType, fieldName: 'updated_at' },
  },
});
