import { Migration } from '@mikro-orm/migrations';
import type { Knex } from '@mikro-orm/knex';
import { PortableMigration } from '../../../lib/database';

/** The interviews' event streams (`interview_event`): see `entities/stream-event.ts`. */
export class CreateEventStreamTable extends PortableMigration {
  change(schema: Knex.SchemaBuilder): Knex.SchemaBuilder {
    return schema.createTable('interview_event', (t) => {
      t.increments('id').primary();
      t.string('interview_id', 36).notNullable();
      t.integer('sequence').notNullable();
      t.string('event_id', 64).notNullable().unique();
      t.string('event_type', 128).notNullable();
      t.string('version', 16).notNullable();
      t.timestamp('occurred_at', { useTz: true }).notNullable();
      t.text('envelope').notNullable();
      t.text('facts').nullable();
      // One event per place in a stream; reading a stream is a range scan of this index.
      t.unique(['interview_id', 'sequence'], { indexName: 'interview_event_stream_uq' });
    });
  }
}

interface OutboxRow {
  event_id: string;
  event: string;
}

/**
 * Fills the streams of interviews that existed before them, from the outbox (which keeps every
 * event it published) and the question and answer rows (the facts the events do not carry).
 * Runs once, after {@link CreateEventStreamTable}; a database without interviews has nothing to do.
 */
export class BackfillEventStreams extends Migration {
  override async up(): Promise<void> {
    const schema = this.config.get('schema');
    const knex = this.getKnex();
    const table = (name: string) => (schema ? knex(name).withSchema(schema) : knex(name));
    const outbox = (await this.execute(
      table('outbox')
        .select('event_id', 'event')
        .where('topic', 'interview-events')
        .orderBy('id', 'asc'),
    )) as unknown as OutboxRow[];
    if (outbox.length === 0) return;
    const questions = (await this.execute(
      table('questions').select('id', 'interview_id', 'position', 'text'),
    )) as unknown as { id: string; interview_id: string; position: number; text: string }[];
    const answers = (await this.execute(table('answers').select('id', 'content'))) as unknown as {
      id: string;
      content: string;
    }[];
    const questionsOf = new Map<string, { id: string; position: number; text: string }[]>();
    for (const q of [...questions].sort((a, b) => a.position - b.position)) {
      const list = questionsOf.get(q.interview_id) ?? [];
      list.push({ id: q.id, position: q.position, text: q.text });
      questionsOf.set(q.interview_id, list);
    }
    const contentOf = new Map(answers.map((a) => [a.id, a.content]));
    const sequences = new Map<string, number>();
    for (const row of outbox) {
      const envelope = JSON.parse(row.event) as {
        eventType: string;
        version: string;
        timestamp: string;
        payload: { interviewId: string; answerId?: string };
      };
      const interviewId = envelope.payload.interviewId;
      const sequence = (sequences.get(interviewId) ?? 0) + 1;
      sequences.set(interviewId, sequence);
      const facts =
        envelope.eventType === 'interview.created'
          ? { questions: questionsOf.get(interviewId) ?? [] }
          : envelope.eventType === 'interview.answer_submitted'
            ? { content: contentOf.get(envelope.payload.answerId ?? '') ?? '' }
            : null;
      await this.execute(
        table('interview_event').insert({
          interview_id: interviewId,
          sequence,
          event_id: row.event_id,
          event_type: envelope.eventType,
          version: envelope.version,
          occurred_at: new Date(envelope.timestamp),
          envelope: row.event,
          facts: facts === null ? null : JSON.stringify(facts),
        }),
      );
    }
  }
}
