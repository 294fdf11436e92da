/**
 * The account erasure saga, orchestrated by the users service: `definition.ts` (steps as data),
 * `machine.ts` (the pure state machine), `saga.ts` (the stored saga), `orchestrator.ts` (replies
 * and the timer), `steps.ts` (this service's own steps), `service.ts` (the GraphQL side).
 */
import type { EventOn } from '../../../events';
import type { BatchEffect } from '../../../events/consumers';
import { erasureTiming, type ErasureOptions } from '../../../events/erasure/options';
import { erasureParticipant } from '../../../events/erasure/participant';
import type { Logger } from '../../../lib/logger';
import type { WorkerDefinition, WorkerDeps } from '../../shared/subgraph';
import { createErasureTimer, orchestratorEffect } from './orchestrator';
import { eraseProfile, restoreAccount, suspendAccount } from './steps';

/**
 * The users group's `system-events` effect: each event in order, first as a command to this
 * service (its own steps), then as a reply to the orchestrator.
 */
export function erasureSystemEventsEffect(deps: {
  options: ErasureOptions;
  eventsCommitted: () => void;
  logger: Logger;
}): BatchEffect<EventOn<'system-events'>> {
  const participant = erasureParticipant({
    service: 'user-service',
    steps: {
      'suspend-account': suspendAccount,
      'restore-account': restoreAccount,
      'erase-profile': eraseProfile,
    },
    eventsCommitted: deps.eventsCommitted,
    logger: deps.logger,
    faults: deps.options.faults ?? [],
  });
  const orchestrator = orchestratorEffect({
    timing: erasureTiming(deps.options),
    eventsCommitted: deps.eventsCommitted,
    logger: deps.logger,
  });
  return async (events, tx) => {
    for (const event of events) {
      await participant([event], tx);
      await orchestrator([event], tx);
    }
  };
}

/** The orchestrator's timer, for `createSubgraph`. */
export function erasureWorkers(deps: WorkerDeps): WorkerDefinition[] {
  return [
    createErasureTimer({
      database: deps.database,
      timing: erasureTiming(deps.erasure),
      rowsCommitted: deps.rowsCommitted,
      logger: deps.logger.child({ worker: 'erasure-timer' }),
    }),
  ];
}
