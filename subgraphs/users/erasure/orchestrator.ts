/**
 * The erasure saga's orchestrator, in the users service: it feeds the stored saga one input at a
 * time (`decide`), stores the new state and enqueues what the machine decided (commands to the
 * participants, the outcome, alerts) in the outbox, all in the caller's transaction.
 *
 * Replies arrive through the users consumer group (`user-service-group`, on `system-events`);
 * the timer (`createErasureTimer`) re-requests a step whose reply is late and retries a failed
 * one once its backoff is over. All state is in `erasure_saga`, so a process killed at any point
 * resumes every open saga at its next tick after a restart.
 */
import { OptimisticLockError, type EntityManager } from '@mikro-orm/core';
import type { EventOn } from '../../../events';
import type { BatchEffect } from '../../../events/consumers';
import { createEvent } from '../../../events/factories';
import { enqueueEvent, type OutboxMessage } from '../../../events/outbox';
import type { ErasureTiming } from '../../../events/erasure/options';
import { takeWriteLock, type Database } from '../../../lib/database';
import type { Logger } from '../../../lib/logger';
import type { WorkerDefinition } from '../../shared/subgraph';
import { decide, type SagaEffect, type SagaInput } from './machine';
import { assignState, ErasureSaga } from './saga';

/** The events of a decision's effects, in order. */
function eventsOf(
  saga: ErasureSaga,
  effects: readonly SagaEffect[],
  now: Date,
): EventOn<'system-events'>[] {
  const meta = { timestamp: now };
  return effects.map((effect) => {
    switch (effect.kind) {
      case 'request':
        return createEvent(
          'erasure.step_requested',
          'user-service',
          { sagaId: saga.id, userId: saga.userId, step: effect.step, attempt: effect.attempt },
          meta,
        );
      case 'alert':
        return createEvent(
          'erasure.alert',
          'user-service',
          {
            sagaId: saga.id,
            step: effect.step,
            attempts: effect.attempts,
            lastError: effect.lastError.slice(0, 2000),
          },
          meta,
        );
      case 'completed':
        return createEvent('erasure.completed', 'user-service', { sagaId: saga.id }, meta);
      case 'failed':
        return createEvent(
          'erasure.failed',
          'user-service',
          { sagaId: saga.id, step: effect.step, reason: effect.reason.slice(0, 2000) },
          meta,
        );
      default: {
        const unknown: never = effect;
        throw new Error(`unknown saga effect ${JSON.stringify(unknown)}`);
      }
    }
  });
}

/**
 * Feeds `input` to a loaded saga inside `em`'s transaction: the row is updated and the decided
 * events enqueued; resolves with the outbox rows (empty when the input changed nothing).
 */
export function advanceSaga(
  em: EntityManager,
  saga: ErasureSaga,
  input: SagaInput,
  now: Date,
  timing: ErasureTiming,
): OutboxMessage[] {
  const decision = decide(saga, input, now, timing);
  if (!decision.changed) return [];
  assignState(saga, decision.state, now);
  return eventsOf(saga, decision.effects, now).map((event) =>
    enqueueEvent(em, 'system-events', event),
  );
}

/**
 * The orchestrator's part of the users group's `system-events` effect: a participant's reply
 * advances its saga. Replies to unknown sagas (another deployment's, a deleted row) are skipped.
 */
export function orchestratorEffect(options: {
  timing: ErasureTiming;
  eventsCommitted: () => void;
  logger: Logger;
}): BatchEffect<EventOn<'system-events'>> {
  return async (events, { em, afterCommit }) => {
    for (const event of events) {
      let input: SagaInput;
      if (event.eventType === 'erasure.step_completed') {
        input = {
          type: 'step_completed',
          step: event.payload.step,
          attempt: event.payload.attempt,
        };
      } else if (event.eventType === 'erasure.step_failed') {
        const { step, attempt, reason, retryable } = event.payload;
        input = {
          type: 'step_failed',
          step,
          attempt,
          reason: `${event.source}: ${reason}`,
          retryable,
        };
      } else continue;
      const saga = await em.findOne(ErasureSaga, { id: event.payload.sagaId });
      if (!saga) {
        options.logger.warn('reply for an unknown erasure saga', {
          sagaId: event.payload.sagaId,
          eventId: event.eventId,
        });
        continue;
      }
      const rows = advanceSaga(em, saga, input, new Date(), options.timing);
      if (rows.length > 0) afterCommit(options.eventsCommitted);
    }
  };
}

/**
 * The orchestrator's timer: every `tickMs`, each open saga whose `dueAt` has passed gets a tick
 * (in a transaction of its own), which re-requests a late step, retries a failed one after its
 * backoff, or gives up on a step before the pivot. Replicas may all run it: the saga's
 * optimistic lock lets one of them win each tick.
 */
export function createErasureTimer(options: {
  database: Database;
  timing: ErasureTiming;
  rowsCommitted: (rows?: readonly OutboxMessage[]) => void;
  logger: Logger;
  /** @default () => new Date() */
  now?: () => Date;
}): WorkerDefinition & { tick(): Promise<number> } {
  const { database, timing, logger } = options;
  const clock = options.now ?? (() => new Date());
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = false;

  /** One round; resolves with how many sagas it advanced. */
  async function tick(): Promise<number> {
    const now = clock();
    const due = await database
      .fork()
      .find(
        ErasureSaga,
        { status: { $in: ['running', 'compensating'] }, dueAt: { $lte: now } },
        { fields: ['id'], limit: 100, orderBy: { dueAt: 'asc' } },
      );
    let advanced = 0;
    for (const { id } of due) {
      if (stopped) break;
      try {
        const rows = await database.fork().transactional(async (em) => {
          await takeWriteLock(em);
          const saga = await em.findOne(ErasureSaga, { id });
          return saga ? advanceSaga(em, saga, { type: 'tick' }, now, timing) : [];
        });
        if (rows.length > 0) {
          advanced++;
          options.rowsCommitted(rows);
        }
      } catch (error) {
        // Another replica, or the consumer, changed the saga first: the next round sees it.
        if (!(error instanceof OptimisticLockError)) throw error;
      }
    }
    return advanced;
  }

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = tick()
        .catch((error: unknown) =>
          logger.warn('erasure timer round failed', {
            error: error instanceof Error ? error.message : String(error),
          }),
        )
        .finally(schedule);
    }, timing.tickMs);
    timer.unref();
  };

  return {
    name: 'erasure timer',
    tick,
    start() {
      stopped = false;
      schedule();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
