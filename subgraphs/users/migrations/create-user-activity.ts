import type { Knex } from '@mikro-orm/knex';
import { PortableMigration } from '../../../lib/database';

/** Creates `user_activity`, its rows deleted with their user; `details` came later (0005). */
export class CreateUserActivityTable extends PortableMigration {
  change(schema: Knex.SchemaBuilder): Knex.SchemaBuilder {
    // knex does not qualify a referenced table with the builder's schema, and PostgreSQL's
    // search_path does not name ours: qualify it here.
    const dbSchema = this.config.get('schema');
    const users = dbSchema ? `${dbSchema}.users` : 'users';
    return schema.createTable('user_activity', (t) => {
      t.uuid('id').primary();
      t.string('user_id', 255).notNullable().references('id').inTable(users).onDelete('CASCADE');
      t.string('kind', 32).notNullable().checkIn(
        // Spelled out, not imported: a shipped migration must not change with the code.
        ['REGISTRATION', 'LOGIN', 'LOGOUT', 'PROFILE', 'INTERVIEW'],
        'user_activity_kind_check',
      );
      t.string('event_type', 128).notNullable();
      t.string('event_id', 64).notNullable();
      t.timestamp('occurred_at', { useTz: true }).notNullable();
      t.text('description').notNullable();
      // `User.recentActivity`: a user's latest rows first.
      t.index(['user_id', 'occurred_at'], 'user_activity_user_occurred_idx');
      // One event records at most one activity per user, whatever the handlers do.
      t.unique(['user_id', 'event_id'], { indexName: 'user_activity_event_unique' });
    });
  }
}
