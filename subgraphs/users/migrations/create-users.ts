import type { Knex } from '@mikro-orm/knex';
import { PortableMigration } from '../../../lib/database';

/** Creates `users`: profiles keyed by the identity provider's id, one per email. */
export class CreateUsersTable extends PortableMigration {
  change(schema: Knex.SchemaBuilder): Knex.SchemaBuilder {
    return schema.createTable('users', (t) => {
      // The identity provider's user id: not ours to choose, so a string of generous length.
      t.string('id', 255).primary();
      t.string('email', 320).notNullable().unique({ indexName: 'users_email_unique' });
      t.string('first_name', 200).nullable();
      t.string('last_name', 200).nullable();
      t.string('company', 200).nullable();
      t.timestamp('created_at', { useTz: true }).notNullable();
      t.timestamp('last_login_at', { useTz: true }).nullable();
      // `users(first, after)` pages by (created_at, id).
      t.index(['created_at', 'id'], 'users_created_idx');
    });
  }
}
