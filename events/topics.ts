/** Topics and consumer groups of the event design. */

/** Every logical topic, in no particular order. */
export const TOPICS = ['user-events', 'interview-events', 'system-events'] as const;
/** A logical topic name. Deployments and tests may map it to another physical name. */
export type Topic = (typeof TOPICS)[number];

/** Where messages go that are invalid or whose handler keeps failing. */
export function deadLetterTopic(topic: string): string {
  return `${topic}.dlq`;
}

/** The design's consumer groups: one per service, so each service sees every event. */
export const CONSUMER_GROUPS = {
  users: 'user-service-group',
  interviews: 'interview-service-group',
  notifications: 'notification-service-group',
  reporting: 'reporting-service-group',
  audit: 'audit-service-group',
} as const;

/** Whether `value` is one of the logical {@link TOPICS} (not a physical name mapped to one). */
export function isTopic(value: string): value is Topic {
  return (TOPICS as readonly string[]).includes(value);
}
