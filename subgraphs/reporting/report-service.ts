/**
 * Queries on the reporting read models, with their authorization. One instance per request:
 * it holds the request's EntityManager fork and the caller's identity.
 */
import { type EntityManager, type FilterQuery, sql } from '@mikro-orm/core';
import { EntityManager as SqlEntityManager } from '@mikro-orm/knex';
import { CONSUMER_GROUPS } from '../../events';
import { ProcessedEvent } from '../../events/consumers';
import {
  isAdmin,
  requireAdmin,
  requireIdentity,
  requireSelfOrAdmin,
} from '../../contracts/identity';
import { ForbiddenError, InvalidInputError } from '../../contracts/errors';
import type { RequestScope } from '../shared/subgraph';
import { AuditEntry } from './entities/audit-entry';
import { InterviewReport } from './entities/interview-report';

/** A candidate's figures, from the reports of their interviews. */
export interface CandidateStats {
  /** Interviews the reporting service has seen for the candidate. */
  interviewsCreated: number;
  interviewsCompleted: number;
  interviewsCancelled: number;
  /** Questions answered over all their interviews. */
  answersSubmitted: number;
  /** Mean score of completed interviews; null before the first completion. */
  averageScore: number | null;
}

/** Platform-wide figures over every report. */
export interface PlatformFigures {
  interviews: number;
  /** Started and not finished: `in_progress` or `paused`. */
  inProgress: number;
  completed: number;
  cancelled: number;
  /** Questions answered over all interviews. */
  answers: number;
  /** Mean score of completed interviews; null before the first completion. */
  averageScore: number | null;
  /** interview-events recorded as handled by the reporting consumer group. */
  eventsProcessed: number;
}

/** What one aggregate query over reports gives: the platform figures but the events. */
type Totals = Omit<PlatformFigures, 'eventsProcessed'>;

/** Aggregates come back as numbers (SQLite) or strings (PostgreSQL bigint/numeric). */
const toNumber = (value: unknown): number => (value === null ? 0 : Number(value));

/**
 * The reporting queries of one request, each checking the caller's identity first: see the
 * module's comment.
 */
export class ReportService {
  private readonly em: SqlEntityManager;

  /** @throws when `scope.em` is not an SQL EntityManager (neither libSQL nor PostgreSQL). */
  constructor(private readonly scope: Pick<RequestScope, 'em' | 'identity'>) {
    this.em = sqlManager(scope.em);
  }

  /**
   * The report of an interview, for its candidate or an admin; null while no event of the
   * interview was seen.
   * @throws UNAUTHENTICATED without an identity; FORBIDDEN for anyone else.
   */
  async reportFor(interviewId: string): Promise<InterviewReport | null> {
    const who = requireIdentity(this.scope.identity);
    const report = await this.em.findOne(InterviewReport, { interviewId });
    if (!report) return null;
    if (report.candidateId !== who.userId && !isAdmin(who)) {
      throw new ForbiddenError(
        `Only the candidate or an administrator may see the report of interview ${interviewId}`,
      );
    }
    return report;
  }

  /**
   * A user's figures as a candidate, for themself or an admin.
   * @throws UNAUTHENTICATED without an identity; FORBIDDEN for anyone else.
   */
  async statsFor(userId: string): Promise<CandidateStats> {
    requireSelfOrAdmin(this.scope.identity, userId);
    const totals = await this.totals({ candidateId: userId });
    return {
      interviewsCreated: totals.interviews,
      interviewsCompleted: totals.completed,
      interviewsCancelled: totals.cancelled,
      answersSubmitted: totals.answers,
      averageScore: totals.averageScore,
    };
  }

  /**
   * The audit trail, oldest first; admins only.
   * @param options - `actor` and `eventTypes` filter; `first` caps the count (1-1000, default 100).
   * @throws UNAUTHENTICATED without an identity; FORBIDDEN for non-admins; BAD_USER_INPUT when
   * `first` is out of range.
   */
  async auditTrail(options: {
    actor?: string | null | undefined;
    eventTypes?: readonly string[] | null | undefined;
    first?: number | null | undefined;
  }): Promise<AuditEntry[]> {
    requireAdmin(this.scope.identity);
    const first = options.first ?? 100;
    if (!Number.isInteger(first) || first < 1 || first > 1000) {
      throw new InvalidInputError('first', 'must be 1-1000');
    }
    const where: FilterQuery<AuditEntry> = {};
    if (options.actor != null) where.actor = options.actor;
    if (options.eventTypes != null) where.eventType = { $in: [...options.eventTypes] };
    return this.scope.em.find(AuditEntry, where, {
      orderBy: [{ occurredAt: 'asc' }, { recordedAt: 'asc' }, { eventId: 'asc' }],
      limit: first,
    });
  }

  /**
   * Platform-wide figures, for admins only.
   * @throws UNAUTHENTICATED without an identity; FORBIDDEN for non-admins.
   */
  async platformStats(): Promise<PlatformFigures> {
    requireAdmin(this.scope.identity);
    const totals = await this.totals({});
    const eventsProcessed = await this.em.count(ProcessedEvent, {
      groupId: CONSUMER_GROUPS.reporting,
    });
    return { ...totals, eventsProcessed };
  }

  /** One aggregate query over the reports matching `where`. */
  private async totals(where: FilterQuery<InterviewReport>): Promise<Totals> {
    const row = await this.em
      .createQueryBuilder(InterviewReport, 'r')
      .select([
        sql`count(*)`.as('interviews'),
        sql`sum(case when r.status in ('in_progress', 'paused') then 1 else 0 end)`.as(
          'in_progress',
        ),
        sql`sum(case when r.completed then 1 else 0 end)`.as('completed'),
        sql`sum(case when r.status = 'cancelled' then 1 else 0 end)`.as('cancelled'),
        sql`sum(r.answers)`.as('answers'),
        sql`avg(case when r.completed then r.score end)`.as('average_score'),
      ])
      .where(where)
      .execute<Record<string, unknown> | undefined>('get', false);
    const averageScore = row?.['average_score'];
    return {
      interviews: toNumber(row?.['interviews'] ?? 0),
      inProgress: toNumber(row?.['in_progress'] ?? 0),
      completed: toNumber(row?.['completed'] ?? 0),
      cancelled: toNumber(row?.['cancelled'] ?? 0),
      answers: toNumber(row?.['answers'] ?? 0),
      averageScore:
        averageScore === null || averageScore === undefined ? null : Number(averageScore),
    };
  }
}

/** The SQL flavour of the EntityManager, which both our drivers (libSQL, PostgreSQL) provide. */
function sqlManager(em: EntityManager): SqlEntityManager {
  if (!(em instanceof SqlEntityManager)) {
    throw new Error('the reporting service needs an SQL driver (SQLite or PostgreSQL)');
  }
  return em;
}
