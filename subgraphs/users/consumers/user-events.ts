/**
 * `user-events`, as the users service sees them: registration creates the profile, sign-in and
 * sign-out are logged. Every effect runs through `handleOnce`, so a redelivered event (same
 * eventId) changes nothing.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { EventEnvelope, EventHandler } from '../../../events';
import { handleOnce } from '../../../events/consumers';
import type { Database } from '../../../lib/database';
import type { Logger } from '../../../lib/logger';
import { User, newActivity, newUser } from '../entities';

/** Thrown when a registration names an email another user already has: it goes to the DLQ. */
export class EmailTakenError extends Error {
  override readonly name = 'EmailTakenError';
  constructor(userId: string, email: string, owner: string) {
    super(`cannot register user ${userId}: email ${email} already belongs to user ${owner}`);
  }
}

/** Creates the profile when it does not exist yet, with a REGISTRATION activity. */
export async function onUserRegistered(
  em: EntityManager,
  event: EventEnvelope<'user.registered'>,
  log: Logger,
): Promise<void> {
  const { userId, email, firstName, lastName, company, registrationMethod } = event.payload;
  if (await em.findOne(User, { id: userId })) {
    // A second registration (e.g. a re-sent webhook) must not overwrite what the user edited.
    log.info('user already registered; profile left as it is', { userId, eventId: event.eventId });
    return;
  }
  const owner = await em.findOne(User, { email });
  if (owner) throw new EmailTakenError(userId, email, owner.id);
  em.persist(
    newUser({
      id: userId,
      email,
      firstName,
      lastName,
      company,
      createdAt: new Date(event.timestamp),
    }),
  );
  // The activity row has a foreign key to the user, which the unit of work does not know about
  // (no relation is mapped), so it could order the inserts the other way round: write the user
  // first, inside the same transaction.
  await em.flush();
  em.persist(
    newActivity({
      userId,
      kind: 'REGISTRATION',
      event,
      description: `registered via ${registrationMethod}`,
    }),
  );
}

/** Records the sign-in time (never moving it backwards) and a LOGIN activity. */
export async function onUserAuthenticated(
  em: EntityManager,
  event: EventEnvelope<'user.authenticated'>,
  log: Logger,
): Promise<void> {
  const { userId, authMethod } = event.payload;
  const user = await em.findOne(User, { id: userId });
  if (!user) {
    log.warn('sign-in of a user without a profile; not recorded', {
      userId,
      eventId: event.eventId,
    });
    return;
  }
  const at = new Date(event.timestamp);
  if (!user.lastLoginAt || user.lastLoginAt < at) user.lastLoginAt = at;
  em.persist(
    newActivity({ userId, kind: 'LOGIN', event, description: `signed in via ${authMethod}` }),
  );
}

/** Records a LOGOUT activity with its reason. */
export async function onUserLoggedOut(
  em: EntityManager,
  event: EventEnvelope<'user.logged_out'>,
  log: Logger,
): Promise<void> {
  const { userId, reason } = event.payload;
  if (!(await em.findOne(User, { id: userId }))) {
    log.warn('sign-out of a user without a profile; not recorded', {
      userId,
      eventId: event.eventId,
    });
    return;
  }
  em.persist(newActivity({ userId, kind: 'LOGOUT', event, description: `signed out (${reason})` }));
}

export function userEventsHandler(
  database: Database,
  groupId: string,
  log: Logger,
): EventHandler<'user-events'> {
  return async (event) => {
    switch (event.eventType) {
      case 'user.registered':
        await handleOnce(database, groupId, event, (em) => onUserRegistered(em, event, log));
        return;
      case 'user.authenticated':
        await handleOnce(database, groupId, event, (em) => onUserAuthenticated(em, event, log));
        return;
      case 'user.logged_out':
        await handleOnce(database, groupId, event, (em) => onUserLoggedOut(em, event, log));
        return;
      case 'user.profile_updated':
        // Published by this service, with its activity recorded in the same transaction.
        return;
      default: {
        const unhandled: never = event;
        return unhandled;
      }
    }
  };
}
