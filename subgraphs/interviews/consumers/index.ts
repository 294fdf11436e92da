/**
 * The interviews service's event consumers, in `interview-service-group`: a new user gets default
 * interview preferences (`user.registered`), and a user who signs in
 * gets their paused interviews back (`user.authenticated` resumes each, publishing its own
 * `interview.resumed` with trigger `user_authenticated`). Effects, outbox events and the
 * processed-event record commit in one transaction, so a redelivered event changes nothing.
 */
import type { EntityManager } from '@mikro-orm/core';
import { CONSUMER_GROUPS, type EventEnvelope, type EventHandler } from '../../../events';
import { handleOnce } from '../../../events/consumers';
import { InterviewEventFactory } from '../../../events/factories';
import { enqueueEvent } from '../../../events/outbox';
import type { Database } from '../../../lib/database';
import type { Logger } from '../../../lib/logger';
import type { ConsumerDefinition } from '../../shared/subgraph';
import { defaultPreferences, InterviewEntity, InterviewPreferencesEntity } from '../entities';
import { transition } from '../lifecycle';

export const INTERVIEWS_GROUP = CONSUMER_GROUPS.interviews;

/** Sets up the default preferences of a new user, unless they exist. */
export async function setUpPreferences(
  em: EntityManager,
  event: EventEnvelope<'user.registered'>,
): Promise<void> {
  const { userId } = event.payload;
  if (await em.findOne(InterviewPreferencesEntity, { userId })) return;
  em.persist(defaultPreferences(userId, new Date(event.timestamp)));
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
    enqueueEvent(
      em,
      'interview-events',
      InterviewEventFactory.create(
        'interview.resumed',
        {
          interviewId: interview.id,
          candidateId: interview.candidateId,
          resumedAt: now.toISOString(),
          trigger: 'user_authenticated',
        },
        { timestamp: now },
      ),
    );
    resumed++;
  }
  return resumed;
}

export function userEventsHandler(database: Database, log: Logger): EventHandler<'user-events'> {
  return async (event) => {
    if (event.eventType === 'user.registered') {
      await handleOnce(database, INTERVIEWS_GROUP, event, (em) => setUpPreferences(em, event));
      return;
    }
    if (event.eventType !== 'user.authenticated') return;
    await handleOnce(database, INTERVIEWS_GROUP, event, async (em) => {
      const resumed = await resumePausedInterviews(em, event);
      if (resumed > 0) {
        log.info('resumed paused interviews on sign-in', {
          userId: event.payload.userId,
          resumed,
          eventId: event.eventId,
        });
      }
    });
  };
}

export function interviewsConsumers({
  database,
  logger,
}: {
  database: Database;
  logger: Logger;
}): ConsumerDefinition[] {
  return [
    {
      groupId: INTERVIEWS_GROUP,
      handlers: {
        'user-events': userEventsHandler(
          database,
          logger.child({ consumer: INTERVIEWS_GROUP, topic: 'user-events' }),
        ),
      },
    },
  ];
}
