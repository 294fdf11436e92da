/**
 * The users database's migrations, in order. Names are recorded in `mikro_orm_migrations`:
 * never rename or reorder one that has shipped; append.
 */
import type { MigrationObject } from '@mikro-orm/core';
import { CreateProcessedEventTable } from '../../../events/consumers';
import { CreateOutboxTable, CreateRelayLeaseTable } from '../../../events/outbox';
import { AddActivityDetails } from './add-activity-details';
import { AddLocaleAndTimeZone } from './add-locale-time-zone';
import { CreateUserActivityTable } from './create-user-activity';
import { CreateErasureSagaTable } from './create-erasure-saga';
import { CreateUsersTable } from './create-users';

export const migrations: MigrationObject[] = [
  { name: '0001-outbox', class: CreateOutboxTable },
  { name: '0002-processed-event', class: CreateProcessedEventTable },
  { name: '0003-users', class: CreateUsersTable },
  { name: '0004-user-activity', class: CreateUserActivityTable },
  { name: '0005-activity-details', class: AddActivityDetails },
  { name: '0006-relay-lease', class: CreateRelayLeaseTable },
  { name: '0007-locale-time-zone', class: AddLocaleAndTimeZone },
  { name: '0008-erasure-saga', class: CreateErasureSagaTable },
];
