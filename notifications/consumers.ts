/**
 * The notification service's handlers, in `notification-service-group`. Each event queues at most
 * one email, in the transaction that records it as processed (`handleBatch`, one per batch), so a
 * redelivered event queues nothing; the delivery loop, woken after the commit, sends what was
 * queued.
 *
 * - `user.registered` remembers the recipient and welcomes them (once per user: a second
 *   registration of the same user is not welcomed again);
 * - `user.profile_updated` keeps the recipient's address and name current;
 * - `interview.created` remembers the interview's title for later subject lines;
 * - `interview.scheduled`, `interview.completed` and `interview.cancelled` write to the
 *   candidate (not for the erasure saga's cancellations: its confirmation tells of them). A candidate the service never heard of is an error: the event is retried, then
 *   dead-lettered with `handler.failed`, to be replayed once the registration is in.
 */
import type { EntityManager } from '@mikro-orm/core';
import {
  CONSUMER_GROUPS,
  type DomainEvent,
  type EventEnvelope,
  type TopicBatchHandlers,
} from '../events';
import { inRuns, transactionalHandlers, type BatchEffect } from '../events/consumers';
import { ERASURE_CANCEL_REASON } from '../events/catalog/erasure';
import type { ErasureOptions } from '../events/erasure/options';
import { erasureParticipant, type ErasureStepWork } from '../events/erasure/participant';
import type { Database } from '../lib/database';
import type { Logger } from '../lib/logger';
import { Email, FORGOTTEN_ADDRESS, KnownInterview, Recipient } from './entities';
import {
  interviewCancelledEmail,
  interviewCompletedEmail,
  interviewScheduledEmail,
  erasureConfirmationEmail,
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
  em.persist(emailOf(event, to, content));
}

function emailOf(event: DomainEvent, to: Recipient, content: MessageContent): Email {
  const email = new Email();
  Object.assign(email, {
    eventId: event.eventId,
    eventType: event.eventType,
    userId: to.userId,
    to: to.email,
    createdAt: new Date(event.timestamp),
    ...content,
  });
  return email;
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

/**
 * Consecutive registrations with one lookup: each new recipient is remembered and welcomed (once
 * per user). Resolves with how many emails were queued.
 */
export async function welcomeAll(
  em: EntityManager,
  events: EventEnvelope<'user.registered'>[],
): Promise<number> {
  const ids = [...new Set(events.map((e) => e.payload.userId))];
  const known = new Set((await em.find(Recipient, { userId: { $in: ids } })).map((r) => r.userId));
  const recipients: Recipient[] = [];
  const emails: Email[] = [];
  for (const event of events) {
    const { userId, email, firstName, lastName, timeZone } = event.payload;
    if (known.has(userId)) continue;
    known.add(userId);
    const at = new Date(event.timestamp);
    const recipient = new Recipient();
    Object.assign(recipient, {
      userId,
      email,
      firstName: firstName ?? null,
      lastName: lastName ?? null,
      timeZone,
      registeredAt: at,
      updatedAt: at,
    });
    recipients.push(recipient);
    emails.push(emailOf(event, recipient, welcomeEmail(recipient)));
  }
  if (recipients.length === 0) return 0;
  // Native inserts: the rows need no change tracking. Later events of the batch load them from
  // the transaction like any other row.
  await em.insertMany(Recipient, recipients);
  await em.insertMany(Email, emails);
  return emails.length;
}

/** What one event does to the database; resolves with whether an email was queued. */
export async function notify(em: EntityManager, event: DomainEvent): Promise<boolean> {
  switch (event.eventType) {
    case 'user.registered':
      return (await welcomeAll(em, [event])) > 0;
    case 'user.profile_updated': {
      const recipient = await em.findOne(Recipient, { userId: event.payload.userId });
      const values = event.payload.newValues ?? {};
      if (!recipient || recipient.forgottenAt) return false;
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
      // The erasure saga's cancellations: its confirmation email tells of the erasure.
      if (
        event.eventType === 'interview.cancelled' &&
        event.payload.reason === ERASURE_CANCEL_REASON
      ) {
        return false;
      }
      const { candidateId, interviewId } = event.payload;
      const to = await recipientOf(em, candidateId, event);
      // Erased (forget-recipient): nothing more goes to them, and that is no failure.
      if (to.forgottenAt) return false;
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

const isRegistration = (event: DomainEvent): event is EventEnvelope<'user.registered'> =>
  event.eventType === 'user.registered';

/**
 * What a batch of either topic does: runs of registrations share their lookup; `queued` wakes
 * delivery once the batch that queued emails committed.
 */
export function notificationEffect(queued: () => void): BatchEffect {
  return (events, { em, afterCommit }) =>
    inRuns(
      events,
      isRegistration,
      async (registrations) => {
        if ((await welcomeAll(em, registrations)) > 0) afterCommit(queued);
      },
      async (event) => {
        if (await notify(em, event)) afterCommit(queued);
      },
    );
}

/**
 * The erasure saga's `forget-recipient`: the confirmation email is queued (to the address, the
 * last time it is used), the recipient keeps no address or name, the user's earlier emails keep
 * no address or words, and those not sent yet never will be. Repeated, it finds the recipient
 * forgotten and does nothing. The confirmation's own address is erased once it is sent
 * (`delivery.ts`).
 */
export const forgetRecipient: ErasureStepWork = async (em, { userId, now, command }) => {
  const recipient = await em.findOne(Recipient, { userId });
  if (!recipient || recipient.forgottenAt) return 0;
  const earlier = { userId, eventId: { $ne: command.eventId } };
  await em.nativeUpdate(
    Email,
    { ...earlier, sentAt: null, failedAt: null },
    { failedAt: now, lastError: 'account erased before it was sent' },
  );
  const emails = await em.nativeUpdate(Email, earlier, {
    to: FORGOTTEN_ADDRESS,
    subject: '[erased]',
    text: '',
    html: '',
  });
  queue(em, command, recipient, erasureConfirmationEmail(recipient));
  Object.assign(recipient, {
    email: FORGOTTEN_ADDRESS,
    firstName: null,
    lastName: null,
    updatedAt: now,
    forgottenAt: now,
  });
  return emails + 1;
};

/** What the erasure saga needs of the notification service's consumer. */
export interface NotificationErasureDeps {
  options?: ErasureOptions | undefined;
  /** Wakes the outbox relay once a batch that replied to the saga has committed. */
  eventsCommitted: () => void;
}

/**
 * The handlers of the three topics: each batch records its events and their emails once;
 * `system-events` carries the erasure saga's commands (`forget-recipient`).
 */
export function notificationHandlers(
  database: Database,
  queued: () => void,
  log: Logger,
  erasure?: NotificationErasureDeps,
): TopicBatchHandlers {
  const effect = notificationEffect(queued);
  const saga = erasure
    ? erasureParticipant({
        service: 'notification-service',
        steps: { 'forget-recipient': forgetRecipient },
        eventsCommitted: () => {
          erasure.eventsCommitted();
          queued();
        },
        logger: log,
        faults: erasure.options?.faults ?? [],
      })
    : undefined;
  return transactionalHandlers(
    database,
    NOTIFICATIONS_GROUP,
    {
      'user-events': effect,
      'interview-events': effect,
      ...(saga ? { 'system-events': saga } : {}),
    },
    (duplicates) => {
      for (const event of duplicates) {
        log.info('event already handled; no second email', {
          eventId: event.eventId,
          eventType: event.eventType,
        });
      }
    },
  );
}
