/**
 * Reporting's part in the account erasure saga (`anonymize-reporting`): the erased user's
 * reports and audit entries name no one any more. The step leaves a tombstone, the SHA-256 of
 * the user's id (not the id), which both consumers of the service check when they write a row,
 * so a row written after the step (a late interview event, a later saga event, a rebuild that
 * replays the topics in another order) is anonymized too.
 */
import { createHash } from 'node:crypto';
import { DateTimeType, EntitySchema, type EntityManager } from '@mikro-orm/core';
import type { Knex } from '@mikro-orm/knex';
import type { EventOn } from '../../events';
import type { BatchEffect } from '../../events/consumers';
import type { ErasureOptions } from '../../events/erasure/options';
import { erasureParticipant } from '../../events/erasure/participant';
import { PortableMigration } from '../../lib/database';
import type { Logger } from '../../lib/logger';
import { AuditEntry } from './entities/audit-entry';
import { InterviewReport } from './entities/interview-report';

/** What an erased user is called in reports (`candidateId`) and audit entries (`actor`). */
export const ERASED = 'erased';

/** A user erased from the read models, known by the hash of their id only. */
export class ErasedSubject {
  subjectHash!: string;
  erasedAt!: Date;
}

export const ErasedSubjectSchema = new EntitySchema<ErasedSubject>({
  class: ErasedSubject,
  tableName: 'erased_subjects',
  properties: {
    subjectHash: { type: 'string', primary: true, fieldName: 'subject_hash' },
    erasedAt: { type: DateTimeType, fieldName: 'erased_at' },
  },
});

export class CreateErasedSubjectsTable extends PortableMigration {
  change(schema: Knex.SchemaBuilder): Knex.SchemaBuilder {
    return schema.createTable('erased_subjects', (t) => {
      t.string('subject_hash', 64).primary();
      t.timestamp('erased_at', { useTz: true }).notNullable();
    });
  }
}

const hashOf = (id: string) => createHash('sha256').update(id).digest('hex');

/** The ids among `ids` that belong to erased users. */
export async function erasedAmong(
  em: EntityManager,
  ids: Iterable<string | null>,
): Promise<Set<string>> {
  const byHash = new Map<string, string>();
  for (const id of ids) if (id && id !== ERASED) byHash.set(hashOf(id), id);
  if (byHash.size === 0) return new Set();
  const rows = await em.find(
    ErasedSubject,
    { subjectHash: { $in: [...byHash.keys()] } },
    { fields: ['subjectHash'], disableIdentityMap: true },
  );
  return new Set(rows.map((r) => byHash.get(r.subjectHash) as string));
}

/** Anonymizes audit entries in place (not persisted): an erased actor, and its session, go. */
export function anonymizeEntries(entries: readonly AuditEntry[], erased: Set<string>): void {
  for (const entry of entries) {
    if (!entry.actor || !erased.has(entry.actor)) continue;
    entry.actor = ERASED;
    // A session's hash is the user's; an interview's id names no one.
    if (entry.topic === 'user-events') entry.subject = null;
  }
}

/** Leaves the tombstone of `userId` (once). */
async function bury(em: EntityManager, userId: string, now: Date): Promise<void> {
  const subjectHash = hashOf(userId);
  if (await em.findOne(ErasedSubject, { subjectHash })) return;
  em.create(ErasedSubject, { subjectHash, erasedAt: now });
  await em.flush();
}

/** The audit side of the step: tombstone, then the user's entries anonymized. */
export async function anonymizeAuditEntries(
  em: EntityManager,
  userId: string,
  now: Date,
): Promise<number> {
  await bury(em, userId, now);
  const affected = await em.nativeUpdate(
    AuditEntry,
    { actor: userId, topic: 'user-events' },
    { actor: ERASED, subject: null },
  );
  return affected + (await em.nativeUpdate(AuditEntry, { actor: userId }, { actor: ERASED }));
}

/** `anonymize-reporting`: the tombstone, the user's reports and audit entries. */
export async function anonymizeReporting(
  em: EntityManager,
  userId: string,
  now: Date,
): Promise<number> {
  const audit = await anonymizeAuditEntries(em, userId, now);
  const reports = await em.find(InterviewReport, { candidateId: userId });
  for (const report of reports) report.candidateId = ERASED;
  return audit + reports.length;
}

/** The `system-events` effect of `reporting-service-group`: runs the step and replies. */
export function reportingErasureEffect(deps: {
  options: ErasureOptions | undefined;
  eventsCommitted: () => void;
  logger: Logger;
}): BatchEffect<EventOn<'system-events'>> {
  return erasureParticipant({
    service: 'reporting-service',
    steps: {
      'anonymize-reporting': (em, { userId, now }) => anonymizeReporting(em, userId, now),
    },
    eventsCommitted: deps.eventsCommitted,
    logger: deps.logger,
    faults: deps.options?.faults ?? [],
  });
}

/**
 * What the audit consumer does with an `anonymize-reporting` command besides recording it: the
 * audit side of the step, so a rebuild of the audit trail alone anonymizes it too. No reply:
 * the reporting group answers.
 */
export async function auditErasure(
  em: EntityManager,
  events: readonly EventOn<'system-events'>[],
): Promise<void> {
  for (const event of events) {
    if (event.eventType !== 'erasure.step_requested') continue;
    if (event.payload.step !== 'anonymize-reporting') continue;
    await anonymizeAuditEntries(em, event.payload.userId, new Date(event.timestamp));
  }
}
