/**
 * The interviews service's event consumers, in `interview-service-group`: a new user gets default
 * interview preferences in their time zone (`user.registered`), and a user who signs in gets their paused interviews
 * back (`user.authenticated` resumes each, publishing its own `interview.resumed` with trigger
 * `user_authenticated`). A batch's effects, outbox events and
 * processed-event records commit in one transaction, so a redelivered event changes nothing; the
 * relay is woken once the transaction that enqueued events committed.
 */
import type { EntityManager } from '@mikro-orm/core';
import { CONSUMER_GROUPS, type EventEnvelope, type EventOn } from '../../../events';
import { inRuns, transactionalHandlers, type BatchEffect } from '../../../events/consumers';
import { InterviewEventFactory } from '../../../events/factories';
import { recordEvent } from '../event-store';
import type { Logger } from '../../../lib/logger';
import type { ConsumerDefinition, ConsumerDeps } from '../../shared/subgraph';
import { erasureEffect } from './erasure';
import { defaultPreferences, InterviewEntity, InterviewPreferencesEntity } from '../entities';
import { transition } from '../lifecycle';

/** The service's consumer group (`interview-service-group`). */
export const INTERVIEWS_GROUP = CONSUMER_GROUPS.interviews;

/** Sets up the default preferences of a new user, unless they exist. */
export function setUpPreferences(
  em: EntityManager,
  event: EventEnvelope<'user.registered'>,
): Promise<void> {
  return setUpAllPreferences(em, [event]);
}

/** {@link setUpPreferences} for consecutive registrations, with one lookup. */
export async function setUpAllPreferences(
  em: EntityManager,
  events: EventEnvelope<'user.registered'>[],
): Promise<void> {
  const ids = [...new Set(events.map((e) => e.payload.userId))];
  const known = new Set(
    (await em.find(InterviewPreferencesEntity, { userId: { $in: ids } })).map((p) => p.userId),
  );
  for (const event of events) {
    const { userId, timeZone } = event.payload;
    if (known.has(userId)) continue;
    known.add(userId);
    em.persist(defaultPreferences(userId, new Date(event.timestamp), timeZone));
  }
}

/**
 * Resumes every paused interview of the user, unless they turned `autoResume` off; resolves with
 * how many.
 */
export async function resumePausedInterviews(
  em: EntityManager,
  event: EventEnvelope<'user.authenticated'>,
): Promise<number> {
  const preferences = await em.findOne(InterviewPreferencesEntity, {
    userId: event.payload.userId,
  });
  if (preferences && !preferences.autoResume) return 0;
  const paused = await em.find(InterviewEntity, {
    candidateId: event.payload.userId,
    status: 'paused',
  });
  const now = new Date();
  let resumed = 0;
  for (const interview of paused) {
    const step = transition(interview.status, 'resume');
    if (!step.allowed) continue;
    interview.status = step.to;
    interview.pausedAt = null;
    interview.updatedAt = now;
    recordEvent(em, interview.version + 1, {
      event: InterviewEventFactory.create(
        'interview.resumed',
        {
          interviewId: interview.id,
          candidateId: interview.candidateId,
          resumedAt: now.toISOString(),
          trigger: 'user_authenticated',
        },
        { timestamp: now },
      ),
    });
    resumed++;
  }
  return resumed;
}

const isRegistration = (event: EventOn<'user-events'>): event is EventEnvelope<'user.registered'> =>
  event.eventType === 'user.registered';

/** What a batch of user-events does; `eventsCommitted` wakes the relay after the commit. */
export function userEventsEffect(
  log: Logger,
  eventsCommitted: () => void,
): BatchEffect<EventOn<'user-events'>> {
  return (events, { em, afterCommit }) =>
    inRuns(
      events,
      isRegistration,
      (registrations) => setUpAllPreferences(em, registrations),
      async (event) => {
        if (event.eventType !== 'user.authenticated') return;
        const resumed = await resumePausedInterviews(em, event);
        if (resumed === 0) return;
        afterCommit(eventsCommitted);
        log.info('resumed paused interviews on sign-in', {
          userId: event.payload.userId,
          resumed,
          eventId: event.eventId,
        });
      },
    );
}

/**
 * The service's consumers, for `createSubgraph`: one group on `user-events`, each batch handled
 * in one transaction with its processed-event records.
 * @param deps - `eventsCommitted` wakes the relay after a batch that resumed interviews commits.
 */
export function interviewsConsumers({
  database,
  logger,
  eventsCommitted,
  erasure,
}: ConsumerDeps): ConsumerDefinition[] {
  return [
    {
      groupId: INTERVIEWS_GROUP,
      handlers: transactionalHandlers(database, INTERVIEWS_GROUP, {
        'user-events': userEventsEffect(
          logger.child({ consumer: INTERVIEWS_GROUP, topic: 'user-events' }),
          eventsCommitted,
        ),
        // The account erasure saga's interview steps (./erasure.ts).
        'system-events': erasureEffect({
          options: erasure,
          eventsCommitted,
          logger: logger.child({ consumer: INTERVIEWS_GROUP, topic: 'system-events' }),
        }),
      }),
    },
  ];
}
