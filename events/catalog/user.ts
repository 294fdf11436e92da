/** User events, field by field as the platform's event design specifies them. */
import { z } from 'zod';
import { defineEvent } from './define';

const id = z.string().min(1, 'must not be empty');
const email = z.email({ error: 'must be an email address' });
const name = z.string().min(1).max(200);

/** What every user event shares: its topic, keyed by the user. */
const userEvent = {
  topic: 'user-events',
  key: (p: { userId: string }) => p.userId,
} as const;

export const userAuthenticated = defineEvent({
  type: 'user.authenticated',
  ...userEvent,
  sources: ['api-gateway'],
  versions: {
    '1.0': z.strictObject({
      userId: id,
      email,
      sessionId: id,
      authMethod: z.enum(['oauth2', 'jwt_refresh']),
      ipAddress: z.string().min(1).optional(),
      userAgent: z.string().min(1).optional(),
    }),
  },
  example: {
    userId: 'u-1',
    email: 'ada@example.com',
    sessionId: 's-1',
    authMethod: 'oauth2',
    ipAddress: '203.0.113.7',
    userAgent: 'Mozilla/5.0',
  },
});

/** user.registered 1.0's payload: who, how, and the profile the identity provider knew. */
const registered1 = z.strictObject({
  userId: id,
  email,
  registrationMethod: z.enum(['authentik']),
  firstName: name.optional(),
  lastName: name.optional(),
  company: name.optional(),
});

/** A BCP 47 language tag, as `Intl` knows them (`en`, `fr-CA`, `zh-Hant-TW`). */
export const locale = z
  .string()
  .max(35)
  .regex(/^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/, {
    error: 'must be a BCP 47 language tag, e.g. "en-GB"',
    abort: true,
  })
  .refine(
    (tag) => {
      try {
        return Intl.getCanonicalLocales(tag).length === 1;
      } catch {
        return false;
      }
    },
    { error: 'must be a BCP 47 language tag, e.g. "en-GB"' },
  );

/** An IANA time zone (`Europe/Paris`, `UTC`), as `Intl` knows them. */
export const timeZone = z
  .string()
  .min(1)
  .max(64)
  .refine(
    (zone) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: zone });
        return true;
      } catch {
        return false;
      }
    },
    { error: 'must be an IANA time zone, e.g. "Europe/Paris"' },
  );

/** What a 1.0 registration meant: the product spoke English and kept time in UTC. */
export const REGISTRATION_DEFAULTS = { locale: 'en', timeZone: 'UTC' } as const;

export const userRegistered = defineEvent({
  type: 'user.registered',
  ...userEvent,
  sources: ['api-gateway'],
  current: '2.0',
  versions: {
    '1.0': registered1,
    /** 2.0: the user's language and time zone, required (emails, reminders, dates in the app). */
    '2.0': registered1.extend({ locale, timeZone }),
  },
  upcast: { '1.0': (payload) => ({ ...REGISTRATION_DEFAULTS, ...payload }) },
  example: {
    userId: 'u-1',
    email: 'ada@example.com',
    registrationMethod: 'authentik',
    firstName: 'Ada',
    lastName: 'Lovelace',
    company: 'Analytical Engines',
    locale: 'en-GB',
    timeZone: 'Europe/London',
  },
});

export const userLoggedOut = defineEvent({
  type: 'user.logged_out',
  ...userEvent,
  sources: ['api-gateway'],
  versions: {
    '1.0': z.strictObject({
      userId: id,
      sessionId: id,
      reason: z.enum(['manual', 'timeout', 'security']),
    }),
  },
  example: { userId: 'u-1', sessionId: 's-1', reason: 'manual' },
});

/** Profile values are plain JSON scalars: the fields of a profile are strings or null. */
const profileValues = z.record(
  z.string(),
  z.union([z.string(), z.number(), z.boolean(), z.null()]),
);

export const userProfileUpdated = defineEvent({
  type: 'user.profile_updated',
  ...userEvent,
  sources: ['user-service'],
  versions: {
    '1.0': z.strictObject({
      userId: id,
      updatedFields: z.array(z.string().min(1)).min(1, 'name at least one updated field'),
      previousValues: profileValues.optional(),
      newValues: profileValues.optional(),
    }),
  },
  example: {
    userId: 'u-1',
    updatedFields: ['company'],
    previousValues: { company: 'Analytical Engines' },
    newValues: { company: 'Difference Engines' },
  },
});

export const userEvents = [userAuthenticated, userRegistered, userLoggedOut, userProfileUpdated];
