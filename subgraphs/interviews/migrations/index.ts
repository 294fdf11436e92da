import type { MigrationObject } from '@mikro-orm/core';
import { CreateProcessedEventTable } from '../../../events/consumers';
import { CreateOutboxTable, CreateRelayLeaseTable } from '../../../events/outbox';
import { CreateInterviewTables } from './create-interview-tables';
import { CreatePreferencesTable } from './create-preferences-table';
import { BackfillEventStreams, CreateEventStreamTable } from './create-event-stream-table';
import { CreateErasureCancellationTable } from './create-erasure-cancellation-table';

/** In order; each runs once. Append, never edit a migration that has shipped. */
export const migrations: MigrationObject[] = [
  { name: '0001-outbox', class: CreateOutboxTable },
  { name: '0002-interview-tables', class: CreateInterviewTables },
  { name: '0003-processed-event', class: CreateProcessedEventTable },
  { name: '0004-interview-preferences', class: CreatePreferencesTable },
  { name: '0005-relay-lease', class: CreateRelayLeaseTable },
  { name: '0006-event-streams', class: CreateEventStreamTable },
  { name: '0007-backfill-event-streams', class: BackfillEventStreams },
  { name: '0008-erasure-cancellation', class: CreateErasureCancellationTable },
];
