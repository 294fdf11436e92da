import { DateTimeType, EntitySchema } from '@mikro-orm/core';

/**
 * One event of an interview's event stream (`interview_event`), appended in the transaction of
 * the change it records and never deleted: the stream is what the interview's state is rebuilt
 * from (`../history.ts`) and what `Interview.history` returns.
 *
 * `envelope` is the event exactly as it was published to `interview-events`; `facts` holds what
 * the service keeps but does not publish (question texts, answer contents), so the stream alone
 * gives the whole interview while the topic carries no candidate's words.
 */
export class StreamEventEntity {
  /** Insertion order over all streams. */
  id!: number;
  interviewId!: string;
  /** 1-based position in the interview's stream; equals the interview's `version` after it. */
  sequence!: number;
  eventId!: string;
  eventType!: string;
  /** The envelope's schema version (upcast to the current one when read). */
  version!: string;
  occurredAt!: Date;
  /** The published envelope, as JSON. */
  envelope!: string;
  /** The unpublished facts of the event, as JSON; null for events that have none. */
  facts: string | null = null;
}

export const StreamEventSchema = new EntitySchema<StreamEventEntity>({
  class: StreamEventEntity,
  tableName: 'interview_event',
  properties: {
    id: { type: 'integer', primary: true, autoincrement: true },
    interviewId: { type: 'string', fieldName: 'interview_id' },
    sequence: { type: 'integer' },
    eventId: { type: 'string', fieldName: 'event_id', unique: true },
    eventType: { type: 'string', fieldName: 'event_type' },
    version: { type: 'string' },
    occurredAt: { type: DateTimeType, fieldName: 'occurred_at' },
    envelope: { type: 'text' },
    facts: { type: 'text', nullable: true },
  },
});
