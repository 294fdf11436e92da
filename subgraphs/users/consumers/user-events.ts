/**
 * `user-events`, as the users service sees them: registration creates the profile, sign-in and
 * sign-out are logged. Effects run a batch per transaction through `handleBatch`, so a redelivered
 * event (same eventId) changes nothing.
 */
import type { EntityManager } from '@mikro-orm/core';
import { DomainError } from '../../../contracts/errors';
import type { EventEnvelope, EventOn } from '../../../events';
import { inRuns, type BatchEffect } from '../../../events/consumers';
import type { Logger } from '../../../lib/logger';
import { User, UserActivity, newActivity, newUser, profileActivity } from '../entities';

/**
 * Thrown when a registration names an email another user already has: `CONFLICT`, which
 * retrying cannot mend, so the consumer dead-letters the event at its first attempt.
 */
export class EmailTakenError extends DomainError {
  override readonly name = 'EmailTakenError';
  constructor(userId: string, email: string, owner: string) {
    super(
      'CONFLICT',
      `cannot register user ${userId}: email ${email} already belongs to user ${owner}`,
      {
        userId,
        owner,
      },
    );
  }
}

/** Creates the profile when it does not exist yet, with a REGISTRATION activity. */
export function onUserRegistered(
  em: EntityManager,
  event: EventEnvelope<'user.registered'>,
  log: Logger,
): Promise<void> {
  return onUsersRegistered(em, [event], log);
}

/**
 * {@link onUserRegistered} for consecutive registrations, in order, with their lookups in one
 * query: a registration sees the profiles the earlier ones of the run created.
 * @throws {EmailTakenError} for the first registration naming another user's email; the batch
 *   then rolls back and is replayed one event at a time, which dead-letters only that one.
 */
export async function onUsersRegistered(
  em: EntityManager,
  events: EventEnvelope<'user.registered'>[],
  log: Logger,
): Promise<void> {
  const ids = [...new Set(events.map((e) => e.payload.userId))];
  const emails = [...new Set(events.map((e) => e.payload.email))];
  const known = await em.find(User, { $or: [{ id: { $in: ids } }, { email: { $in: emails } }] });
  const byId = new Map(known.map((u) => [u.id, u]));
  const byEmail = new Map(known.map((u) => [u.email, u]));
  const users: User[] = [];
  const activities: UserActivity[] = [];
  for (const event of events) {
    const { userId, email, firstName, lastName, company, locale, timeZone, registrationMethod } =
      event.payload;
    if (byId.has(userId)) {
      // A second registration (e.g. a re-sent webhook) must not overwrite what the user edited.
      log.info('user already registered; profile left as it is', {
        userId,
        eventId: event.eventId,
      });
      continue;
    }
    const owner = byEmail.get(email);
    if (owner) throw new EmailTakenError(userId, email, owner.id);
    const user = newUser({
      id: userId,
      email,
      firstName,
      lastName,
      company,
      locale,
      timeZone,
      createdAt: new Date(event.timestamp),
    });
    users.push(user);
    byId.set(userId, user);
    byEmail.set(email, user);
    activities.push(
      newActivity({
        userId,
        kind: 'REGISTRATION',
        event,
        description: `registered via ${registrationMethod}`,
      }),
    );
  }
  if (users.length === 0) return;
  // Native inserts, users first: the activity rows have a foreign key to their user. The rows
  // are not managed by this EntityManager; later events of the batch load them like any other.
  await em.insertMany(User, users);
  await em.insertMany(UserActivity, activities);
}

/** Records the sign-in time (never moving it backwards) and a LOGIN activity. */
export async function onUserAuthenticated(
  em: EntityManager,
  event: EventEnvelope<'user.authenticated'>,
  log: Logger,
): Promise<void> {
  const { userId, authMethod } = event.payload;
  // An erased profile (erasure saga) records nothing more.
  const user = await em.findOne(User, { id: userId, erasedAt: null });
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
  if (!(await em.findOne(User, { id: userId, erasedAt: null }))) {
    log.warn('sign-out of a user without a profile; not recorded', {
      userId,
      eventId: event.eventId,
    });
    return;
  }
  em.persist(newActivity({ userId, kind: 'LOGOUT', event, description: `signed out (${reason})` }));
}

/**
 * The PROFILE activity of a profile update, unless it is there. `updateProfile` writes it in the
 * transaction that publishes the event, so live this finds it and does nothing; replayed into a
 * fresh store (`npm run rebuild -- users`) it writes the same row (but its random id).
 */
export async function onUserProfileUpdated(
  em: EntityManager,
  event: EventEnvelope<'user.profile_updated'>,
): Promise<void> {
  const { userId } = event.payload;
  if (!(await em.findOne(User, { id: userId, erasedAt: null }))) return;
  if (await em.findOne(UserActivity, { userId, eventId: event.eventId })) return;
  em.persist(profileActivity(event));
}

const isRegistration = (event: EventOn<'user-events'>): event is EventEnvelope<'user.registered'> =>
  event.eventType === 'user.registered';

/** What a batch of user-events does; runs of registrations share their lookups. */
export function userEventsEffect(log: Logger): BatchEffect<EventOn<'user-events'>> {
  return (events, { em }) =>
    inRuns(
      events,
      isRegistration,
      (registrations) => onUsersRegistered(em, registrations, log),
      async (event) => {
        switch (event.eventType) {
          case 'user.registered':
            return onUserRegistered(em, event, log);
          case 'user.authenticated':
            return onUserAuthenticated(em, event, log);
          case 'user.logged_out':
            return onUserLoggedOut(em, event, log);
          case 'user.profile_updated':
            return onUserProfileUpdated(em, event);
          default: {
            const unhandled: never = event;
            return unhandled;
          }
        }
      },
    );
}
