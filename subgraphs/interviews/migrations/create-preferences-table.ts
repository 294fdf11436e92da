import type { Knex } from '@mikro-orm/knex';
import { PortableMigration } from '../../../lib/database';

/** Interview preferences, one row per registered candidate. */
export class CreatePreferencesTable extends PortableMigration {
  change(schema: Knex.SchemaBuilder): Knex.SchemaBuilder {
    return schema.createTable('interview_preferences', (t) => {
      t.string('user_id', 255).primary();
      t.string('timezone', 64).notNullable();
      t.integer('reminder_minutes_before').notNullable();
      t.boolean('auto_resume').notNullable();
      t.timestamp('created_at', { useTz: true }).notNullable();
      t.timestamp('updated_at', { useTz: true }).notNullable();
    });
  }
}
