/**
 * The interviews service's part in the account erasure saga, on `system-events` in
 * `interview-service-group`: the step commands addressed to it run the steps of `../erasure.ts`
 * in the batch's transaction, with the reply to the orchestrator in the outbox.
 */
import type { EventOn } from '../../../events';
import type { BatchEffect } from '../../../events/consumers';
import type { ErasureOptions } from '../../../events/erasure/options';
import { erasureParticipant, type ErasureStepWork } from '../../../events/erasure/participant';
import type { Logger } from '../../../lib/logger';
import { anonymizeInterviews, cancelOpenInterviews, restoreInterviews } from '../erasure';

type Step = typeof cancelOpenInterviews;

/** A step of `../erasure.ts` as participant work: the count of interviews it changed. */
const work =
  (step: Step): ErasureStepWork =>
  async (em, { sagaId, userId, now }) =>
    (await step(em, { sagaId, userId, now })).interviewIds.length;

/** The `system-events` effect of `interview-service-group`. */
export function erasureEffect(deps: {
  options: ErasureOptions | undefined;
  eventsCommitted: () => void;
  logger: Logger;
}): BatchEffect<EventOn<'system-events'>> {
  return erasureParticipant({
    service: 'interview-service',
    steps: {
      'cancel-interviews': work(cancelOpenInterviews),
      'restore-interviews': work(restoreInterviews),
      'anonymize-interviews': work(anonymizeInterviews),
    },
    eventsCommitted: deps.eventsCommitted,
    logger: deps.logger,
    faults: deps.options?.faults ?? [],
  });
}
