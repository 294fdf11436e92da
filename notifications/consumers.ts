/**
 * The notification service's handlers, in `notification-service-group`. Each queues at most one
 * email per event, in the transaction that records the event as processed (`handleOnce`), so a
 * redelivered event queues nothing; the delivery loop sends what was queued.
 *
 * - `user.registered` remembers the recipient and welcomes them (once per user: a second
 *   registration of the same user is not welcomed again);
 * - `user.profile_updated` keeps the recipient's address and name current;
 * - `interview.created` remembers the interview's title for later subject lines;
 * - `interview.scheduled`, `interview.completed` and `interview.cancelled` write to the
 *   candidate. A candidate the service never heard of is an error: the event is retried, then
 *   dead-lettered with `handler.failed`, to be replayed once the registration is in.
 */
import type { EntityManager } from '@mikro-orm/core';
import { CONSUMER_GROUPS, type DomainEvent, type TopicHandlers } from '../events';
import { handleOnce } from '../events/consumers';
import type { Database } from '../lib/database';
import type { Logger } from '../lib/logger';
import { Email, KnownInterview, Recipient } from './entities';
import {
  interviewCancelledEmail,
  interviewCompletedEmail,
  interviewScheduledEmail,
  welcomeEmail,
  type MessageContent,
} from './templates';

export const NOTIFICATIONS_GROUP = CONSUMER_GROUPS.notifications;

/** The event names a user the service has no address for. */
export class UnknownRecipientError extends Error {
  override readonly name = 'UnknownRecipientError';
  constructor(userId: string, event: DomainEvent) {
    super(
      `no email address for user ${userId} (${event.eventType} ${event.eventId}): their user.registered has not been seen`,
    );
  }
}

function queue(em: EntityManager, event: DomainEvent, to: Recipient, content: MessageContent) {
  const email = new Email();
  Object.assign(email, {
    eventId: event.eventId,
    eventType: event.eventType,
    userId: to.userId,
    to: to.email,
    createdAt: new Date(event.timestamp),
    ...content,
  });
  em.persist(email);
}

async function recipientOf(
  em: EntityManager,
  userId: string,
  event: DomainEvent,
): Promise<Recipient> {
  const recipient = await em.findOne(Recipient, { userId });
  if (!recipient) throw new UnknownRecipientError(userId, event);
  return recipient;
}

/** What one event does to the database; resolves with whether an email was queued. */
export async function notify(em: EntityManager, event: DomainEvent): Promise<boolean> {
  switch (event.eventType) {
    case 'user.registered': {
      const { userId, email, firstName, lastName } = event.payload;
      if (await em.findOne(Recipient, { userId })) return false;
      const at = new Date(event.timestamp);
      const recipient = new Recipient();
      Object.assign(recipient, {
        userId,
        email,
        firstName: firstName ?? null,
        lastName: lastName ?? null,
        registeredAt: at,
        updatedAt: at,
      });
      em.persist(recipient);
      queue(em, event, recipient, welcomeEmail(recipient));
      return true;
    }
    case 'user.profile_updated': {
      const recipient = await em.findOne(Recipient, { userId: event.payload.userId });
      const values = event.payload.newValues ?? {};
      if (!recipient) return false;
      const text = (key: string) => (typeof values[key] === 'string' ? values[key] : undefined);
      const email = text('email');
      if (email) recipient.email = email;
      if ('firstName' in values) recipient.firstName = text('firstName') ?? null;
      if ('lastName' in values) recipient.lastName = text('lastName') ?? null;
      recipient.updatedAt = new Date(event.timestamp);
      return false;
    }
    case 'interview.created': {
      const { interviewId, candidateId, title, position } = event.payload;
      if (await em.findOne(KnownInterview, { interviewId })) return false;
      const known = new KnownInterview();
      Object.assign(known, { interviewId, candidateId, title, position });
      em.persist(known);
      return false;
    }
    case 'interview.scheduled':
    case 'interview.completed':
    case 'interview.cancelled': {
      const { candidateId, interviewId } = event.payload;
      const to = await recipientOf(em, candidateId, event);
      const interview = (await em.findOne(KnownInterview, { interviewId })) ?? undefined;
      const content =
        event.eventType === 'interview.scheduled'
          ? interviewScheduledEmail(to, interview, event.payload.scheduledFor)
          : event.eventType === 'interview.completed'
            ? interviewCompletedEmail(to, interview, event.payload)
            : interviewCancelledEmail(to, interview, event.payload.reason);
      queue(em, event, to, content);
      return true;
    }
    default:
      return false;
  }
}

/** The handlers of both topics: each records its event and its email once, then wakes delivery. */
export function notificationHandlers(
  database: Database,
  queued: () => void,
  log: Logger,
): Required<Pick<TopicHandlers, 'user-events' | 'interview-events'>> {
  const handle = async (event: DomainEvent) => {
    let emailed = false;
    const fresh = await handleOnce(database, NOTIFICATIONS_GROUP, event, async (em) => {
      emailed = await notify(em, event);
    });
    if (!fresh) {
      log.info('event already handled; no second email', {
        eventId: event.eventId,
        eventType: event.eventType,
      });
    }
    if (emailed) queued();
  };
  return { 'user-events': handle, 'interview-events': handle };
}
