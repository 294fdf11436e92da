/**
 * Account erasure on behalf of one GraphQL request: who may ask for it, the duplicate rule, and
 * what admins and the user see of a saga. The saga itself runs in `orchestrator.ts`.
 */
import { takeWriteLock } from '../../../lib/database';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { DomainError } from '../../../contracts/errors';
import {
  isAdmin,
  requireAdmin,
  requireIdentity,
  requireSelfOrAdmin,
} from '../../../contracts/identity';
import { createEvent } from '../../../events/factories';
import { enqueueEvent, type OutboxMessage } from '../../../events/outbox';
import { erasureTiming } from '../../../events/erasure/options';
import { keysetQuery, pageSize, toPage, type Page } from '../../shared/pagination';
import type { RequestScope } from '../../shared/subgraph';
import { User } from '../entities';
import type { SagaStatus } from './machine';
import { advanceSaga } from './orchestrator';
import { ErasureSaga, newSaga } from './saga';

/** Bounds of `accountErasures(first)`. */
export const ERASURES_PAGE_SIZE = { min: 1, max: 100 } as const;

/** One page of `accountErasures`. */
export interface ErasurePage extends Page<ErasureSaga> {
  totalCount: number;
}

/** Erasure sagas on behalf of one request's caller. */
export class ErasureService {
  constructor(private readonly scope: RequestScope) {}

  /**
   * Starts the erasure of `userId`'s account (the user themself or an admin). While a saga for
   * the user is open, asking again returns that saga and starts none (the `open_user_id` unique
   * index decides between concurrent requests).
   * @throws {DomainError} FORBIDDEN for someone else's account, NOT_FOUND for an unknown user,
   *   CONFLICT for an account already erased.
   */
  async request(userId: string): Promise<ErasureSaga> {
    const who = requireSelfOrAdmin(this.scope.identity, userId);
    const open = await this.openSaga(userId);
    if (open) return open;
    let rows: OutboxMessage[] = [];
    try {
      const saga = await this.scope.em.fork().transactional(async (em) => {
        await takeWriteLock(em);
        const user = await em.findOne(User, { id: userId });
        if (!user) {
          throw new DomainError('NOT_FOUND', `No user ${userId}`, { entity: 'User', id: userId });
        }
        if (user.erasedAt) {
          throw new DomainError('CONFLICT', `The account of user ${userId} is already erased`, {
            userId,
          });
        }
        const now = new Date();
        const saga = newSaga(userId, who.userId, now);
        em.persist(saga);
        rows = [
          enqueueEvent(
            em,
            'system-events',
            createEvent(
              'erasure.requested',
              'user-service',
              { sagaId: saga.id, userId, requestedBy: who.userId },
              { timestamp: now },
            ),
          ),
          ...advanceSaga(em, saga, { type: 'start' }, now, erasureTiming(this.scope.erasure)),
        ];
        return saga;
      });
      this.scope.eventsCommitted(rows);
      return saga;
    } catch (error) {
      if (!(error instanceof UniqueConstraintViolationException)) throw error;
      // A concurrent request opened one first: that is the answer.
      const winner = await this.openSaga(userId);
      if (!winner) throw error;
      return winner;
    }
  }

  /** A saga by id: admins, or the user it erases; `null` when there is none (or not theirs). */
  async saga(id: string): Promise<ErasureSaga | null> {
    const who = requireIdentity(this.scope.identity);
    const saga = await this.scope.em.fork().findOne(ErasureSaga, { id });
    if (!saga) return null;
    if (saga.userId !== who.userId && !isAdmin(who)) return null;
    return saga;
  }

  /**
   * Sagas, newest first, for admins; keyset-paginated on (createdAt, id).
   * @throws {InvalidInputError} on `first` out of {@link ERASURES_PAGE_SIZE}, or a malformed `after`.
   */
  async sagas(args: {
    status?: SagaStatus | null | undefined;
    first: number | null | undefined;
    after?: string | null | undefined;
  }): Promise<ErasurePage> {
    requireAdmin(this.scope.identity);
    const first = pageSize('first', args.first, ERASURES_PAGE_SIZE);
    const filter = args.status ? { status: args.status } : {};
    const page = keysetQuery<ErasureSaga>(filter, { first, after: args.after, direction: 'desc' });
    const em = this.scope.em.fork();
    const rows = await em.find(ErasureSaga, page.where, page.options);
    const totalCount = await em.count(ErasureSaga, filter);
    return { ...toPage(rows, first), totalCount };
  }

  private openSaga(userId: string): Promise<ErasureSaga | null> {
    return this.scope.em.fork().findOne(ErasureSaga, { openUserId: userId });
  }
}
