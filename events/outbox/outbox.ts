/**
 * The transactional outbox: a mutation writes its state change and its events in one database
 * transaction; the relay publishes the rows in order and marks them sent. A broker outage
 * therefore delays events but never loses them, and never fails a mutation.
 */
// DateTimeType, not 'datetime': with libSQL the string form makes every loaded row look dirty.
import { DateTimeType, EntitySchema, type EntityManager } from '@mikro-orm/core';
import type { Knex } from '@mikro-orm/knex';
import { PortableMigration } from '../../lib/database';
import { activeTraceparent } from '../../lib/tracing';
import type { DomainEvent, EventOn } from '../catalog';
import type { Topic } from '../topics';
import { aggregateKey, parseEvent } from '../validate';

/** One event waiting in (or published from) the outbox: a row of `outbox`. */
export class OutboxMessage {
  /** Insertion order, which is publish order. */
  id!: number;
  eventId!: string;
  topic!: Topic;
  eventType!: string;
  aggregateId!: string;
  /** The whole envelope, as JSON. */
  event!: string;
  createdAt!: Date;
  sentAt: Date | null = null;
  attempts = 0;
  lastError: string | null = null;
  /**
   * The trace context (`traceparent`) of the request that enqueued it, for the message's
   * headers. In memory only, not a column: a row the relay reads back from the table (after a
   * restart or a broker outage) goes out without it, its trace then starting at the consumer.
   */
  traceContext?: string;
}

/** The MikroORM mapping of {@link OutboxMessage}. */
export const OutboxMessageSchema = new EntitySchema<OutboxMessage>({
  class: OutboxMessage,
  tableName: 'outbox',
  properties: {
    id: { type: 'integer', primary: true, autoincrement: true },
    eventId: { type: 'string', fieldName: 'event_id', unique: true },
    topic: { type: 'string' },
    eventType: { type: 'string', fieldName: 'event_type' },
    aggregateId: { type: 'string', fieldName: 'aggregate_id' },
    event: { type: 'text' },
    createdAt: { type: DateTimeType, fieldName: 'created_at' },
    sentAt: { type: DateTimeType, fieldName: 'sent_at', nullable: true },
    attempts: { type: 'integer' },
    lastError: { type: 'text', fieldName: 'last_error', nullable: true },
    // Not a column: see OutboxMessage.traceContext.
    traceContext: { type: 'string', persist: false, nullable: true },
  },
});

/** Creates the outbox table; every service that publishes lists it among its migrations. */
export class CreateOutboxTable extends PortableMigration {
  change(schema: Knex.SchemaBuilder): Knex.SchemaBuilder {
    return schema.createTable('outbox', (t) => {
      t.increments('id').primary();
      t.string('event_id', 64).notNullable().unique();
      t.string('topic', 255).notNullable();
      t.string('event_type', 128).notNullable();
      t.string('aggregate_id', 255).notNullable();
      t.text('event').notNullable();
      t.timestamp('created_at', { useTz: true }).notNullable();
      t.timestamp('sent_at', { useTz: true }).nullable();
      t.integer('attempts').notNullable().defaultTo(0);
      t.text('last_error').nullable();
      // The relay's query: unsent rows in id order.
      t.index(['sent_at', 'id'], 'outbox_unsent_idx');
    });
  }
}

/**
 * Adds an event to the outbox inside the caller's unit of work; it is written when the
 * caller's transaction commits, together with the state change. Returns the row: hand it to the
 * relay after the commit (`relay.committed([row])`, a subgraph's `eventsCommitted([row])`) and it
 * is published without the relay reading the table.
 * @throws {EventValidationError} when the event breaks its contract: the mutation fails.
 */
export function enqueueEvent<T extends Topic>(
  em: EntityManager,
  topic: T,
  event: EventOn<T>,
): OutboxMessage {
  const valid: DomainEvent = parseEvent(event, topic);
  const row = new OutboxMessage();
  row.eventId = valid.eventId;
  row.topic = topic;
  row.eventType = valid.eventType;
  row.aggregateId = aggregateKey(valid);
  row.event = JSON.stringify(valid);
  row.createdAt = new Date(valid.timestamp);
  const traceparent = activeTraceparent();
  if (traceparent) row.traceContext = traceparent;
  em.persist(row);
  return row;
}
