/**
 * The notification service's own database: whom it can write to (from `user.registered` and
 * `user.profile_updated`), what it knows of interviews (from `interview.created`, for the
 * subject lines), and the emails themselves, one per event, each queued in the same
 * transaction that marks its event processed and sent afterwards by the delivery loop.
 */
// DateTimeType, not 'datetime': with libSQL the string form makes every loaded row look dirty.
import { DateTimeType, EntitySchema } from '@mikro-orm/core';
import type { Knex } from '@mikro-orm/knex';
import { PortableMigration } from '../lib/database';

/** What a forgotten address reads afterwards (erasure saga), in recipients and emails. */
export const FORGOTTEN_ADDRESS = 'erased@erased.invalid';

/** Someone the service can write to: who registered, with their latest name and address. */
export class Recipient {
  userId!: string;
  email!: string;
  firstName: string | null = null;
  lastName: string | null = null;
  /** IANA time zone, from `user.registered` (`UTC` for 1.0 registrations): how times are written. */
  timeZone = 'UTC';
  registeredAt!: Date;
  updatedAt!: Date;
  /**
   * When the account erasure saga made the service forget the address (`forget-recipient`): the
   * row stays, with no address or name, so later events of the user send nothing and fail nothing.
   */
  forgottenAt: Date | null = null;
}

/** The MikroORM mapping of {@link Recipient} (`recipients`). */
export const RecipientSchema = new EntitySchema<Recipient>({
  class: Recipient,
  tableName: 'recipients',
  properties: {
    userId: { type: 'string', primary: true, fieldName: 'user_id' },
    email: { type: 'string' },
    firstName: { type: 'string', fieldName: 'first_name', nullable: true },
    lastName: { type: 'string', fieldName: 'last_name', nullable: true },
    timeZone: { type: 'string', fieldName: 'time_zone' },
    registeredAt: { type: DateTimeType, fieldName: 'registered_at' },
    updatedAt: { type: DateTimeType, fieldName: 'updated_at' },
    forgottenAt: { type: DateTimeType, fieldName: 'forgotten_at', nullable: true },
  },
});

/** What `interview.created` said of an interview, so later emails can name it. */
export class KnownInterview {
  interviewId!: string;
  candidateId!: string;
  title!: string;
  position!: string;
}

/** The MikroORM mapping of {@link KnownInterview} (`interviews`). */
export const KnownInterviewSchema = new EntitySchema<KnownInterview>({
  class: KnownInterview,
  tableName: 'interviews',
  properties: {
    interviewId: { type: 'string', primary: true, fieldName: 'interview_id' },
    candidateId: { type: 'string', fieldName: 'candidate_id' },
    title: { type: 'string' },
    position: { type: 'string' },
  },
});

/** One email, keyed by the event that caused it: a redelivered event cannot queue a second. */
export class Email {
  eventId!: string;
  eventType!: string;
  userId!: string;
  to!: string;
  subject!: string;
  text!: string;
  html!: string;
  /** The event's time; orders delivery and names the `.eml` file. */
  createdAt!: Date;
  sentAt: Date | null = null;
  /** Set when the server refused the message for good (an SMTP 5xx); it is not retried. */
  failedAt: Date | null = null;
  attempts = 0;
  lastError: string | null = null;
}

/** The MikroORM mapping of {@link Email} (`emails`). */
export const EmailSchema = new EntitySchema<Email>({
  class: Email,
  tableName: 'emails',
  properties: {
    eventId: { type: 'string', primary: true, fieldName: 'event_id' },
    eventType: { type: 'string', fieldName: 'event_type' },
    userId: { type: 'string', fieldName: 'user_id' },
    to: { type: 'string', fieldName: 'to_address' },
    subject: { type: 'string' },
    text: { type: 'text' },
    html: { type: 'text' },
    createdAt: { type: DateTimeType, fieldName: 'created_at' },
    sentAt: { type: DateTimeType, fieldName: 'sent_at', nullable: true },
    failedAt: { type: DateTimeType, fieldName: 'failed_at', nullable: true },
    attempts: { type: 'integer' },
    lastError: { type: 'text', fieldName: 'last_error', nullable: true },
  },
});

/** The service's MikroORM mappings, as `openDatabase` takes them. */
export const entities = [RecipientSchema, KnownInterviewSchema, EmailSchema];

/** Creates the `recipients`, `interviews` and `emails` tables. */
export class CreateNotificationTables extends PortableMigration {
  change(schema: Knex.SchemaBuilder): Knex.SchemaBuilder {
    return schema
      .createTable('recipients', (t) => {
        t.string('user_id', 255).primary();
        t.string('email', 320).notNullable();
        t.string('first_name', 200).nullable();
        t.string('last_name', 200).nullable();
        t.timestamp('registered_at', { useTz: true }).notNullable();
        t.timestamp('updated_at', { useTz: true }).notNullable();
      })
      .createTable('interviews', (t) => {
        t.string('interview_id', 255).primary();
        t.string('candidate_id', 255).notNullable();
        t.string('title', 200).notNullable();
        t.string('position', 200).notNullable();
      })
      .createTable('emails', (t) => {
        t.string('event_id', 64).primary();
        t.string('event_type', 128).notNullable();
        t.string('user_id', 255).notNullable();
        t.string('to_address', 320).notNullable();
        t.text('subject').notNullable();
        t.text('text').notNullable();
        t.text('html').notNullable();
        t.timestamp('created_at', { useTz: true }).notNullable();
        t.timestamp('sent_at', { useTz: true }).nullable();
        t.timestamp('failed_at', { useTz: true }).nullable();
        t.integer('attempts').notNullable().defaultTo(0);
        t.text('last_error').nullable();
        // The delivery loop's query: unsent, not failed, oldest first.
        t.index(['sent_at', 'failed_at', 'created_at']);
        t.index(['user_id']);
      });
  }
}

/** Each recipient's time zone (`user.registered` 2.0); earlier recipients keep UTC. */
export class AddRecipientTimeZone extends PortableMigration {
  change(schema: Knex.SchemaBuilder): Knex.SchemaBuilder {
    return schema.alterTable('recipients', (t) => {
      t.string('time_zone', 64).notNullable().defaultTo('UTC');
    });
  }
}

/** When a recipient was forgotten (the erasure saga's `forget-recipient`). */
export class AddRecipientForgottenAt extends PortableMigration {
  change(schema: Knex.SchemaBuilder): Knex.SchemaBuilder {
    return schema.alterTable('recipients', (t) => {
      t.timestamp('forgotten_at', { useTz: true }).nullable();
    });
  }
}
