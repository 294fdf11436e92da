import type { Knex } from '@mikro-orm/knex';
import { PortableMigration } from '../../../lib/database';

/** The interview_report read model; candidate_id is indexed for per-user stats. */
export class CreateInterviewReportTable extends PortableMigration {
  change(schema: Knex.SchemaBuilder): Knex.SchemaBuilder {
    return schema.createTable('interview_report', (t) => {
      t.string('interview_id', 255).notNullable().primary();
      t.string('candidate_id', 255).notNullable().index('interview_report_candidate_id_index');
      t.string('status', 32).notNullable();
      t.integer('answers').notNullable();
      t.integer('total_questions').notNullable();
      t.integer('word_count').notNullable();
      t.integer('duration_seconds').nullable();
      t.integer('score').nullable();
      t.boolean('completed').notNullable();
      t.timestamp('started_at', { useTz: true }).nullable();
      t.timestamp('last_event_at', { useTz: true }).notNullable();
      t.integer('version').notNullable().defaultTo(1);
    });
  }
}
