import type { Knex } from '@mikro-orm/knex';
import { PortableMigration } from '../../../lib/database';

/**
 * Each user's language and time zone (`user.registered` 2.0). Users registered before keep what
 * a 1.0 registration meant: `en` and `UTC`, as the event's upcaster says.
 */
export class AddLocaleAndTimeZone extends PortableMigration {
  change(schema: Knex.SchemaBuilder): Knex.SchemaBuilder {
    return schema.alterTable('users', (t) => {
      t.string('locale', 35).notNullable().defaultTo('en');
      t.string('time_zone', 64).notNullable().defaultTo('UTC');
    });
  }
}
