import type { Knex } from '@mikro-orm/knex';
import { PortableMigration } from '../../../lib/database';

/** Keeps each activity's event payload (`UserActivity.details`); older rows stay null. */
export class AddActivityDetails extends PortableMigration {
  change(schema: Knex.SchemaBuilder): Knex.SchemaBuilder {
    return schema.alterTable('user_activity', (t) => {
      t.text('details').nullable();
    });
  }
}
