/**
 * Factories in the design's style: they fill `eventId` (UUID), `timestamp` (ISO-8601),
 * `version` and `source`, and validate the result, so a factory never returns a bad event.
 */
import { randomUUID } from 'node:crypto';
import type { EventEnvelope, EventType, PayloadOf } from './catalog';
import { definitionOf } from './catalog';
import type { Source } from './envelope';
import { REGISTRATION_DEFAULTS } from './catalog/user';
import { parseEvent } from './validate';

type Optional<T, K extends keyof T> = Omit<T, K> & Partial<Pick<T, K>>;

/** Options every factory takes: a fixed clock or id source (for tests and for the outbox). */
export interface EventMeta {
  /** @default randomUUID() */
  eventId?: string;
  /** @default new Date() */
  timestamp?: Date;
}

/**
 * Builds and validates one event.
 * @throws {EventValidationError} when the payload breaks its schema.
 */
export function createEvent<T extends EventType>(
  eventType: T,
  source: Source,
  payload: PayloadOf<T>,
  meta: EventMeta = {},
): EventEnvelope<T> {
  const event = {
    eventId: meta.eventId ?? randomUUID(),
    eventType,
    timestamp: (meta.timestamp ?? new Date()).toISOString(),
    version: definitionOf(eventType).current,
    source,
    payload,
  };
  return parseEvent(event) as EventEnvelope<T>;
}

type UserAuthenticated = PayloadOf<'user.authenticated'>;
type UserRegistered = PayloadOf<'user.registered'>;
type UserProfileUpdated = PayloadOf<'user.profile_updated'>;

/** User events. The gateway publishes the first three, the users service the last. */
export const UserEventFactory = {
  createUserAuthenticated(
    userId: string,
    email: string,
    sessionId: string,
    details: Optional<
      Pick<UserAuthenticated, 'authMethod' | 'ipAddress' | 'userAgent'>,
      'authMethod'
    > = {},
    meta?: EventMeta,
  ): EventEnvelope<'user.authenticated'> {
    const { authMethod = 'oauth2', ...rest } = details;
    return createEvent(
      'user.authenticated',
      'api-gateway',
      { userId, email, sessionId, authMethod, ...rest },
      meta,
    );
  },

  createUserRegistered(
    userId: string,
    email: string,
    profile: Pick<UserRegistered, 'firstName' | 'lastName' | 'company'> & {
      /** @default 'en' */
      locale?: string | undefined;
      /** @default 'UTC' */
      timeZone?: string | undefined;
    } = {},
    meta?: EventMeta,
  ): EventEnvelope<'user.registered'> {
    const { locale, timeZone, ...names } = profile;
    return createEvent(
      'user.registered',
      'api-gateway',
      {
        userId,
        email,
        registrationMethod: 'authentik',
        ...names,
        locale: locale ?? REGISTRATION_DEFAULTS.locale,
        timeZone: timeZone ?? REGISTRATION_DEFAULTS.timeZone,
      },
      meta,
    );
  },

  createUserLoggedOut(
    userId: string,
    sessionId: string,
    reason: PayloadOf<'user.logged_out'>['reason'] = 'manual',
    meta?: EventMeta,
  ): EventEnvelope<'user.logged_out'> {
    return createEvent('user.logged_out', 'api-gateway', { userId, sessionId, reason }, meta);
  },

  createUserProfileUpdated(
    userId: string,
    updatedFields: string[],
    values: Pick<UserProfileUpdated, 'previousValues' | 'newValues'> = {},
    meta?: EventMeta,
  ): EventEnvelope<'user.profile_updated'> {
    return createEvent(
      'user.profile_updated',
      'user-service',
      { userId, updatedFields, ...values },
      meta,
    );
  },
};

type InterviewType = Extract<EventType, `interview.${string}`>;

/** Interview lifecycle events, published by the interviews service. */
export const InterviewEventFactory = {
  create<T extends InterviewType>(
    eventType: T,
    payload: PayloadOf<T>,
    meta?: EventMeta,
  ): EventEnvelope<T> {
    return createEvent(eventType, 'interview-service', payload, meta);
  },
};

type SystemType = 'service.started' | 'service.stopped' | 'handler.failed';

/** System events; any service may publish them about itself. */
export const SystemEventFactory = {
  create<T extends SystemType>(
    eventType: T,
    source: Source,
    payload: PayloadOf<T>,
    meta?: EventMeta,
  ): EventEnvelope<T> {
    return createEvent(eventType, source, payload, meta);
  },
};
