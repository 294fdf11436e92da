/** The reporting subgraph, wired: read models built from events, and the audit trail. */
import { join } from 'node:path';
import { CONSUMER_GROUPS } from '../../events';
import { ProcessedEventSchema } from '../../events/consumers';
import { OutboxMessageSchema } from '../../events/outbox';
import type { SubgraphDefinition } from '../shared/subgraph';
import { AUDIT_GROUP, auditHandlers, auditUnknownVersion } from './consumers/audit';
import { createInterviewEventsHandlers } from './consumers/interview-events';
import { contextWith, type SubgraphContext } from './context';
import type { DeadLetterStore } from '../../events/dead-letters';
import { AuditEntrySchema } from './entities/audit-entry';
import { InterviewReportSchema } from './entities/interview-report';
import { ErasedSubjectSchema, reportingErasureEffect } from './erasure';
import { transactionalHandlers } from '../../events/consumers';
import { migrations } from './migrations';
import { resolvers } from './resolvers';

/** What a reporting subgraph may be given beyond the shared runtime. */
export interface ReportingOptions {
  /**
   * The dead-letter tooling behind the admin fields `deadLetters` and `replayDeadLetters`, on
   * the subgraph's cluster and topic prefix; its owner stops it. Without, those fields answer
   * SERVICE_UNAVAILABLE. (The shared runtime hands definitions no Kafka client of their own.)
   */
  deadLetters?: DeadLetterStore | undefined;
}

/** The reporting subgraph's definition, with `options`. */
export function createReportingSubgraph(
  options: ReportingOptions = {},
): SubgraphDefinition<SubgraphContext> {
  return { ...reportingSubgraph, context: contextWith(options.deadLetters) };
}

/** The reporting subgraph without dead-letter tooling (see {@link createReportingSubgraph}). */
export const reportingSubgraph: SubgraphDefinition<SubgraphContext> = {
  name: 'reporting',
  service: 'reporting-service',
  schemaPath: join(__dirname, 'schema.graphql'),
  resolvers,
  // The outbox is polled by the shared runtime's relay even though reporting publishes nothing.
  entities: [
    InterviewReportSchema,
    ProcessedEventSchema,
    OutboxMessageSchema,
    AuditEntrySchema,
    ErasedSubjectSchema,
  ],
  migrations,
  context: contextWith(undefined),
  consumers: ({ database, logger, eventsCommitted, erasure }) => [
    {
      groupId: CONSUMER_GROUPS.reporting,
      handlers: {
        ...createInterviewEventsHandlers({
          database,
          groupId: CONSUMER_GROUPS.reporting,
          logger: logger.child({ consumer: 'interview-events' }),
        }),
        // The erasure saga's anonymize-reporting, in this group so a rebuild replays it.
        ...transactionalHandlers(database, CONSUMER_GROUPS.reporting, {
          'system-events': reportingErasureEffect({
            options: erasure,
            eventsCommitted,
            logger: logger.child({ consumer: 'erasure' }),
          }),
        }),
      },
    },
    // The audit trail of all topics (who, what, when, source), in a group of its own.
    {
      groupId: AUDIT_GROUP,
      handlers: auditHandlers(database),
      options: { onUnknownVersion: auditUnknownVersion(database) },
    },
  ],
};
