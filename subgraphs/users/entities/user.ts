/**
 * A user's profile. The id is the identity provider's user id, so every service names a user
 * the same way without a lookup.
 */
import { EntitySchema } from '@mikro-orm/core';

/** Profile fields a user may change with `updateProfile`. */
export const PROFILE_FIELDS = ['firstName', 'lastName', 'company'] as const;
export type ProfileField = (typeof PROFILE_FIELDS)[number];

/** A user's profile (`users`): see the module's comment. */
export class User {
  id!: string;
  email!: string;
  firstName: string | null = null;
  lastName: string | null = null;
  company: string | null = null;
  /** BCP 47 language tag, from `user.registered` (`en` for 1.0 registrations). */
  locale = 'en';
  /** IANA time zone, from `user.registered` (`UTC` for 1.0 registrations). */
  timeZone = 'UTC';
  createdAt!: Date;
  lastLoginAt: Date | null = null;
  /** Set while an account erasure runs (`suspend-account`); the profile then refuses changes. */
  suspendedAt: Date | null = null;
  /** When the profile was erased (`erase-profile`): email, names and company are gone. */
  erasedAt: Date | null = null;
}

/** The MikroORM mapping of {@link User}. */
export const UserSchema = new EntitySchema<User>({
  class: User,
  // `user` is a reserved word in PostgreSQL.
  tableName: 'users',
  properties: {
    id: { type: 'string', primary: true },
    email: { type: 'string', unique: true },
    firstName: { type: 'string', fieldName: 'first_name', nullable: true },
    lastName: { type: 'string', fieldName: 'last_name', nullable: true },
    company: { type: 'string', nullable: true },
    locale: { type: 'string' },
    timeZone: { type: 'string', fieldName: 'time_zone' },
    createdAt: { type: 'datetime', fieldName: 'created_at' },
    lastLoginAt: { type: 'datetime', fieldName: 'last_login_at', nullable: true },
    suspendedAt: { type: 'datetime', fieldName: 'suspended_at', nullable: true },
    erasedAt: { type: 'datetime', fieldName: 'erased_at', nullable: true },
  },
});

/** A new profile, not persisted; names and company null unless given, never signed in. */
export function newUser(fields: {
  id: string;
  email: string;
  createdAt: Date;
  firstName?: string | undefined;
  lastName?: string | undefined;
  company?: string | undefined;
  locale?: string | undefined;
  timeZone?: string | undefined;
}): User {
  const user = new User();
  user.id = fields.id;
  user.email = fields.email;
  user.firstName = fields.firstName ?? null;
  user.lastName = fields.lastName ?? null;
  user.company = fields.company ?? null;
  if (fields.locale !== undefined) user.locale = fields.locale;
  if (fields.timeZone !== undefined) user.timeZone = fields.timeZone;
  user.createdAt = fields.createdAt;
  return user;
}
