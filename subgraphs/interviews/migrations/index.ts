import type { MigrationObject } from '@mikro-orm/core';
import { CreateProcessedEventTable } from '../../../events/consumers';
import { CreateOutboxTable, CreateRelayLeaseTable } from '../../../events/outbox';
import { CreateInterviewTables } from './create-interview-tables';
import { CreatePreferencesTable } from './create-preferences-table';

/** In order; each runs once. Append, never edit a migration that has shipped. */
export const migrations: MigrationObject[] = [
  { name: '0001-outbox', class: CreateOutboxTable },
  { name: '0002-interview-tables', class: CreateInterviewTables },
  { name: '0003-processed-event', class: CreateProcessedEventTable },
  { name: '0004-interview-preferences', class: CreatePreferencesTable },
  { name: '0005-relay-lease', class: CreateRelayLeaseTable },
];
