/**
 * The reporting read model as `npm run rebuild -- reporting` rebuilds it: the interview reports
 * (`reporting-service-group`) and the audit trail (`audit-service-group`), with their
 * processed-event records, built by the consumers `server.ts` wires, on every topic they read.
 */
import { CONSUMER_GROUPS } from '../../events';
import { processedEventTable, type ReadModel } from '../../events/rebuild';
import { AUDIT_GROUP } from './consumers/audit';
import { reportingSubgraph } from './server';

const groups = [CONSUMER_GROUPS.reporting, AUDIT_GROUP];

export const reportingReadModel: ReadModel = {
  name: 'reporting',
  service: reportingSubgraph.service,
  database: {
    name: reportingSubgraph.name,
    entities: reportingSubgraph.entities,
    migrations: reportingSubgraph.migrations,
  },
  groups,
  // The audit trail first, then the reports, erasures last: an erasure (system-events) in
  // reporting-service-group anonymizes the reports and audit entries already there.
  replayOrder: [
    { group: AUDIT_GROUP, topics: ['user-events', 'interview-events', 'system-events'] },
    { group: CONSUMER_GROUPS.reporting, topics: ['interview-events'] },
    { group: CONSUMER_GROUPS.reporting, topics: ['system-events'] },
  ],
  tables: [
    {
      name: 'interview_report',
      key: ['interview_id'],
      ignore: {
        version:
          'the optimistic-lock counter: one step per write, and a replay writes in other batches',
      },
    },
    {
      name: 'audit_entries',
      key: ['event_id'],
      ignore: { recorded_at: 'the wall clock when the entry was recorded' },
      eventColumn: 'event_id',
    },
    {
      // The erasure tombstones both groups write and check (erasure.ts).
      name: 'erased_subjects',
      key: ['subject_hash'],
      ignore: { erased_at: 'when the tombstone was written' },
    },
    processedEventTable(groups),
  ],
  consumers: ({ database, logger }) => {
    // No relay to wake (the fresh store's outbox is discarded); erasure with its defaults.
    const deps = { database, logger, eventsCommitted: () => undefined, erasure: {} };
    return reportingSubgraph.consumers?.(deps) ?? [];
  },
};
