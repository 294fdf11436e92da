import type { Knex } from '@mikro-orm/knex';
import { PortableMigration } from '../../../lib/database';

/** Interviews, their questions and answers. */
export class CreateInterviewTables extends PortableMigration {
  change(schema: Knex.SchemaBuilder): Knex.SchemaBuilder {
    // Foreign keys name the table with its schema: on PostgreSQL the service's tables live in a
    // schema of their own, which is not on the connection's search path.
    const name = this.config.get('schema');
    const table = (t: string) => (name ? `${name}.${t}` : t);
    /** A required column holding the id of a row of `target`, deleted with that row. */
    const belongsTo = (t: Knex.CreateTableBuilder, column: string, target: string) =>
      t
        .string(column, 36)
        .notNullable()
        .references('id')
        .inTable(table(target))
        .onDelete('CASCADE');
    return schema
      .createTable('interviews', (t) => {
        t.string('id', 36).primary();
        t.string('candidate_id', 255).notNullable();
        t.string('created_by', 255).notNullable();
        t.string('title', 200).notNullable();
        t.string('position', 200).notNullable();
        t.string('status', 32).notNullable();
        t.integer('question_count').notNullable();
        t.integer('answer_count').notNullable().defaultTo(0);
        t.timestamp('created_at', { useTz: true }).notNullable();
        t.timestamp('updated_at', { useTz: true }).notNullable();
        t.timestamp('scheduled_for', { useTz: true }).nullable();
        t.timestamp('started_at', { useTz: true }).nullable();
        t.timestamp('paused_at', { useTz: true }).nullable();
        t.timestamp('completed_at', { useTz: true }).nullable();
        t.timestamp('cancelled_at', { useTz: true }).nullable();
        t.string('cancel_reason', 500).nullable();
        t.integer('version').notNullable().defaultTo(1);
        // The listings: newest first, all (admins) or one candidate's.
        t.index(['created_at', 'id'], 'interviews_created_idx');
        t.index(['candidate_id', 'created_at', 'id'], 'interviews_candidate_created_idx');
      })
      .createTable('questions', (t) => {
        t.string('id', 36).primary();
        belongsTo(t, 'interview_id', 'interviews');
        t.integer('position').notNullable();
        t.text('text').notNullable();
        t.unique(['interview_id', 'position'], { indexName: 'questions_interview_position_uq' });
      })
      .createTable('answers', (t) => {
        t.string('id', 36).primary();
        belongsTo(t, 'interview_id', 'interviews');
        belongsTo(t, 'question_id', 'questions');
        t.text('content').notNullable();
        t.integer('word_count').notNullable();
        t.timestamp('submitted_at', { useTz: true }).notNullable();
        // One answer per question: a second submit, even a concurrent one, fails here.
        t.unique(['question_id'], { indexName: 'answers_question_uq' });
        t.index(['interview_id'], 'answers_interview_idx');
      });
  }
}
