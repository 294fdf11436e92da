import type { Knex } from '@mikro-orm/knex';
import { PortableMigration } from '../../../lib/database';

/** The audit trail, read oldest first, by actor and by event type. */
export class CreateAuditTable extends PortableMigration {
  change(schema: Knex.SchemaBuilder): Knex.SchemaBuilder {
    return schema.createTable('audit_entries', (t) => {
      t.string('event_id', 64).primary();
      t.string('topic', 255).notNullable();
      t.string('event_type', 128).notNullable();
      t.string('source', 64).notNullable();
      t.string('actor', 255).nullable();
      t.string('subject', 255).nullable();
      t.timestamp('occurred_at', { useTz: true }).notNullable();
      t.timestamp('recorded_at', { useTz: true }).notNullable();
      t.index(['occurred_at', 'event_id']);
      t.index(['actor', 'occurred_at']);
    });
  }
}
