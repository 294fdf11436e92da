import type { Knex } from '@mikro-orm/knex';
import { PortableMigration } from '../../../lib/database';

/** The interviews an erasure saga cancelled: see `entities/erasure-cancellation.ts`. */
export class CreateErasureCancellationTable extends PortableMigration {
  change(schema: Knex.SchemaBuilder): Knex.SchemaBuilder {
    return schema.createTable('erasure_cancellation', (t) => {
      t.string('saga_id', 64).notNullable();
      t.string('interview_id', 36).notNullable();
      t.string('previous_status', 32).notNullable();
      t.timestamp('cancelled_at', { useTz: true }).notNullable();
      t.timestamp('restored_at', { useTz: true }).nullable();
      t.primary(['saga_id', 'interview_id']);
    });
  }
}
