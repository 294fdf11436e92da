/**
 * A service's part in the account erasure saga: the `system-events` effect of its consumer
 * group that runs the erasure steps it owns and replies to the orchestrator through its outbox,
 * in the transaction of the batch (so the step's writes, the processed-event record and the
 * reply commit together).
 *
 * Each step's work runs in a nested transaction (a savepoint): when it throws, its writes are
 * rolled back and the reply is `erasure.step_failed` (retryable unless the error says
 * otherwise); the batch itself still commits, so a failing step never blocks the consumer.
 * Steps must be idempotent: the orchestrator requests a step again when its reply is late, and
 * a rebuild (`npm run rebuild`) replays the commands.
 */
import type { EntityManager } from '@mikro-orm/core';
import { isRetriable } from '../../contracts/errors';
import type { Logger } from '../../lib/logger';
import type { EventEnvelope, EventOn } from '../catalog';
import type { ErasureFault, ErasureStep } from '../catalog/erasure';
import type { BatchEffect } from '../consumers/batch';
import type { Source } from '../envelope';
import { createEvent } from '../factories';
import { enqueueEvent } from '../outbox';

/** What a step gets: the user, the saga, and the time of the command. */
export interface ErasureStepContext {
  sagaId: string;
  userId: string;
  now: Date;
  /** The command's own event, e.g. for the id of an email it causes. */
  command: EventEnvelope<'erasure.step_requested'>;
}

/** A step's work, inside the batch's transaction; resolves with how many records it changed. */
export type ErasureStepWork = (em: EntityManager, context: ErasureStepContext) => Promise<number>;

export interface ErasureParticipantOptions {
  /** The service replying; it must be one of the reply events' sources. */
  service: Source;
  /** The steps this service runs. */
  steps: Partial<Record<ErasureStep, ErasureStepWork>>;
  /** Wakes the relay once a batch that replied has committed. */
  eventsCommitted: () => void;
  logger: Logger;
  /** Failures injected by tests; see {@link ErasureFault}. @default [] */
  faults?: readonly ErasureFault[];
}

/** Counts injected faults per step, so `times` is honoured (per process). */
function faultInjector(faults: readonly ErasureFault[]) {
  const used = new Map<ErasureStep, number>();
  return (step: ErasureStep): ErasureFault | undefined => {
    const fault = faults.find((f) => f.step === step);
    if (!fault) return undefined;
    const count = used.get(step) ?? 0;
    if (count >= (fault.times ?? Infinity)) return undefined;
    used.set(step, count + 1);
    return fault;
  };
}

const message = (error: unknown) =>
  (error instanceof Error ? error.message : String(error)).slice(0, 2000) || 'failed';

/**
 * The effect on `system-events` that runs this service's erasure steps; other system events are
 * ignored. Combine it with other `system-events` effects of the group with `inRuns` or call it
 * from one.
 */
export function erasureParticipant(
  options: ErasureParticipantOptions,
): BatchEffect<EventOn<'system-events'>> {
  const injected = faultInjector(options.faults ?? []);
  const log = options.logger.child({ erasure: options.service });
  return async (events, { em, afterCommit }) => {
    for (const event of events) {
      if (event.eventType !== 'erasure.step_requested') continue;
      const { sagaId, userId, step, attempt } = event.payload;
      const work = options.steps[step];
      if (!work) continue;
      const now = new Date();
      let reply: EventOn<'system-events'>;
      try {
        const fault = injected(step);
        if (fault && !fault.afterWork) throw new Error(`fault injected into ${step}`);
        const affected = await em.transactional((inner) =>
          work(inner, { sagaId, userId, now, command: event }),
        );
        if (fault) throw new Error(`fault injected into ${step} after its work`);
        reply = createEvent(
          'erasure.step_completed',
          options.service,
          { sagaId, step, attempt, affected },
          { timestamp: now },
        );
        log.info('erasure step done', { sagaId, step, attempt, affected });
      } catch (error) {
        reply = createEvent(
          'erasure.step_failed',
          options.service,
          { sagaId, step, attempt, reason: message(error), retryable: isRetriable(error) },
          { timestamp: now },
        );
        log.warn('erasure step failed', { sagaId, step, attempt, error: message(error) });
      }
      enqueueEvent(em, 'system-events', reply);
      afterCommit(options.eventsCommitted);
    }
  };
}
