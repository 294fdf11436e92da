/**
 * Idempotent event handling: a handler's effects and the record that it handled the event
 * commit in one transaction, so a redelivered event changes nothing.
 */
// DateTimeType, not 'datetime': with libSQL the string form makes every loaded row look dirty.
import { DateTimeType, EntitySchema, type EntityManager } from '@mikro-orm/core';
import type { Knex } from '@mikro-orm/knex';
import { type Database, PortableMigration, takeWriteLock } from '../../lib/database';
import type { DomainEvent } from '../catalog';

/** That consumer group `groupId` handled event `eventId`: the row {@link handleOnce} checks. */
export class ProcessedEvent {
  eventId!: string;
  groupId!: string;
  eventType!: string;
  processedAt!: Date;
}

/** The MikroORM mapping of {@link ProcessedEvent} (`processed_event`, keyed by event and group). */
export const ProcessedEventSchema = new EntitySchema<ProcessedEvent>({
  class: ProcessedEvent,
  tableName: 'processed_event',
  properties: {
    eventId: { type: 'string', fieldName: 'event_id', primary: true },
    groupId: { type: 'string', fieldName: 'group_id', primary: true },
    eventType: { type: 'string', fieldName: 'event_type' },
    processedAt: { type: DateTimeType, fieldName: 'processed_at' },
  },
});

/** Creates the processed-event table; every service that consumes lists it among its migrations. */
export class CreateProcessedEventTable extends PortableMigration {
  change(schema: Knex.SchemaBuilder): Knex.SchemaBuilder {
    return schema.createTable('processed_event', (t) => {
      t.string('event_id', 64).notNullable();
      t.string('group_id', 255).notNullable();
      t.string('event_type', 128).notNullable();
      t.timestamp('processed_at', { useTz: true }).notNullable();
      t.primary(['event_id', 'group_id']);
    });
  }
}

/**
 * Runs `effect` in a transaction on a fresh EntityManager, unless this group already handled
 * the event; the {@link ProcessedEvent} record commits with the effect's writes.
 * @param groupId the consumer group: each group handles an event once.
 * @param effect writes through the `em` it is given; it must not commit on its own.
 * @returns `true` when `effect` ran and committed, `false` for a duplicate.
 * @throws whatever `effect` or the database throws; the transaction is then rolled back, the
 * event is not recorded, and a redelivery runs `effect` again.
 */
export async function handleOnce(
  database: Database,
  groupId: string,
  /** A catalog event, or one validated through the schema registry (only its id and type). */
  event: Pick<DomainEvent, 'eventId'> & { eventType: string },
  effect: (em: EntityManager) => Promise<void>,
): Promise<boolean> {
  return database.fork().transactional(async (em) => {
    await takeWriteLock(em);
    const seen = await em.findOne(ProcessedEvent, { eventId: event.eventId, groupId });
    if (seen) return false;
    const record = new ProcessedEvent();
    record.eventId = event.eventId;
    record.groupId = groupId;
    record.eventType = event.eventType;
    record.processedAt = new Date();
    em.persist(record);
    await effect(em);
    return true;
  });
}
