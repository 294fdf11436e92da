import type { Knex } from '@mikro-orm/knex';
import { PortableMigration } from '../../../lib/database';

/** Creates `erasure_saga`, and the users' `suspended_at` and `erased_at`. */
export class CreateErasureSagaTable extends PortableMigration {
  change(schema: Knex.SchemaBuilder): Knex.SchemaBuilder {
    return schema
      .alterTable('users', (t) => {
        t.timestamp('suspended_at', { useTz: true }).nullable();
        t.timestamp('erased_at', { useTz: true }).nullable();
      })
      .createTable('erasure_saga', (t) => {
        t.uuid('id').primary();
        t.string('user_id', 255).notNullable();
        t.string('requested_by', 255).notNullable();
        t.string('status', 32).notNullable();
        t.string('current_step', 64).nullable();
        t.string('waiting_for', 16).nullable();
        t.timestamp('due_at', { useTz: true }).nullable();
        t.text('steps').notNullable();
        t.text('reason').nullable();
        t.string('failed_step', 64).nullable();
        // One open saga per user: null once ended, and nulls never collide.
        t.string('open_user_id', 255).nullable().unique({ indexName: 'erasure_saga_open_user' });
        t.timestamp('created_at', { useTz: true }).notNullable();
        t.timestamp('updated_at', { useTz: true }).notNullable();
        t.timestamp('ended_at', { useTz: true }).nullable();
        t.integer('version').notNullable().defaultTo(1);
        t.index(['user_id'], 'erasure_saga_user_idx');
        // The timer's query: open sagas due.
        t.index(['status', 'due_at'], 'erasure_saga_due_idx');
        t.index(['created_at', 'id'], 'erasure_saga_created_idx');
      });
  }
}
