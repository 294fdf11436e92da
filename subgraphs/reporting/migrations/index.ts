/** The reporting database's migrations, in order; each runs once. */
import type { MigrationObject } from '@mikro-orm/core';
import { CreateProcessedEventTable } from '../../../events/consumers';
import { CreateOutboxTable, CreateRelayLeaseTable } from '../../../events/outbox';
import { CreateAuditTable } from './create-audit-table';
import { CreateInterviewReportTable } from './create-interview-report-table';
import { CreateErasedSubjectsTable } from '../erasure';

export const migrations: MigrationObject[] = [
  { name: '0001-processed-event', class: CreateProcessedEventTable },
  { name: '0002-interview-report', class: CreateInterviewReportTable },
  // Reporting publishes no domain events yet, but the shared runtime always runs the outbox
  // relay, which polls this table (without it the relay fails each round and /ready says no).
  { name: '0003-outbox', class: CreateOutboxTable },
  { name: '0004-audit', class: CreateAuditTable },
  { name: '0005-relay-lease', class: CreateRelayLeaseTable },
  { name: '0006-erased-subjects', class: CreateErasedSubjectsTable },
];
