/**
 * The users domain: who may read which profile, how a profile changes, and the event that
 * announces a change. Request-scoped: one instance per GraphQL request, built from its
 * {@link RequestScope} (its own EntityManager fork and the caller's identity).
 *
 * The pure rules (input validation, diffing, cursors, page sizes) are exported functions, so
 * they are unit-tested without a database.
 */
import type { FilterQuery } from '@mikro-orm/core';
import { UserEventFactory } from '../../events';
import { enqueueEvent, type OutboxMessage } from '../../events/outbox';
import { DomainError, InvalidInputError } from '../../contracts/errors';
import { requireAdmin, requireIdentity, requireSelfOrAdmin } from '../../contracts/identity';
import type { RequestScope } from '../shared/subgraph';
import { PROFILE_FIELDS, User, UserActivity, newActivity, type ProfileField } from './entities';

/** Longest profile value, after trimming; matches the columns and the event catalog. */
export const PROFILE_MAX_LENGTH = 200;
/** Bounds of `users(first)`. */
export const USERS_PAGE_SIZE = { min: 1, max: 100 } as const;
/** Bounds of `User.recentActivity(first)`. */
export const ACTIVITY_PAGE_SIZE = { min: 1, max: 50 } as const;

/** `updateProfile`'s input: an absent field stays as it is, `null` clears it. */
export type ProfileInput = { readonly [F in ProfileField]?: string | null | undefined };

/** Validated changes: only the fields the caller sent, trimmed. */
export type ProfileChanges = Partial<Record<ProfileField, string | null>>;

export type ProfileValues = Partial<Record<ProfileField, string | null>>;

/** What actually changes; the payload of `user.profile_updated`. */
export interface ProfileDiff {
  /** In {@link PROFILE_FIELDS} order. */
  updatedFields: ProfileField[];
  previousValues: ProfileValues;
  newValues: ProfileValues;
}

/**
 * Validates `updateProfile`'s input: trims strings; an empty (or blank) string is refused,
 * since `null` is how a field is cleared.
 * @throws {InvalidInputError} naming the first bad field, e.g. `input.firstName`.
 */
export function parseProfileInput(input: ProfileInput): ProfileChanges {
  const changes: ProfileChanges = {};
  for (const field of PROFILE_FIELDS) {
    const value = input[field];
    if (value === undefined) continue;
    if (value === null) {
      changes[field] = null;
      continue;
    }
    const trimmed = value.trim();
    if (trimmed === '') {
      throw new InvalidInputError(`input.${field}`, 'must not be empty; send null to clear it');
    }
    if (trimmed.length > PROFILE_MAX_LENGTH) {
      throw new InvalidInputError(
        `input.${field}`,
        `must be at most ${PROFILE_MAX_LENGTH} characters, got ${trimmed.length}`,
      );
    }
    changes[field] = trimmed;
  }
  return changes;
}

/** The fields whose value would change, or `null` when nothing would. */
export function diffProfile(
  current: Readonly<Record<ProfileField, string | null>>,
  changes: ProfileChanges,
): ProfileDiff | null {
  const diff: ProfileDiff = { updatedFields: [], previousValues: {}, newValues: {} };
  for (const field of PROFILE_FIELDS) {
    const next = changes[field];
    if (next === undefined || next === current[field]) continue;
    diff.updatedFields.push(field);
    diff.previousValues[field] = current[field];
    diff.newValues[field] = next;
  }
  return diff.updatedFields.length > 0 ? diff : null;
}

/**
 * A page size argument within bounds. `null` (sent explicitly, overriding the default) is
 * refused like any other out-of-range value.
 * @throws {InvalidInputError}
 */
export function pageSize(
  argument: string,
  value: number | null | undefined,
  bounds: { readonly min: number; readonly max: number },
): number {
  if (value === null || value === undefined || value < bounds.min || value > bounds.max) {
    throw new InvalidInputError(
      argument,
      `must be between ${bounds.min} and ${bounds.max}, got ${String(value)}`,
    );
  }
  return value;
}

/** Where a page of `users` starts: after this (createdAt, id). */
export interface UserCursor {
  createdAt: Date;
  id: string;
}

/** An opaque cursor: clients pass it back, they do not read it. */
export function encodeCursor(user: Pick<User, 'createdAt' | 'id'>): string {
  return Buffer.from(JSON.stringify([user.createdAt.toISOString(), user.id])).toString('base64url');
}

/** @throws {InvalidInputError} on `after` when the cursor was not made by {@link encodeCursor}. */
export function decodeCursor(cursor: string): UserCursor {
  const invalid = () =>
    new InvalidInputError('after', 'is not a cursor returned by this API (use pageInfo.endCursor)');
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(decoded) || decoded.length !== 2) throw invalid();
  const [at, id] = decoded as unknown[];
  if (typeof at !== 'string' || typeof id !== 'string' || id === '') throw invalid();
  const createdAt = new Date(at);
  if (Number.isNaN(createdAt.getTime()) || createdAt.toISOString() !== at) throw invalid();
  return { createdAt, id };
}

export interface UserPage {
  users: { cursor: string; user: User }[];
  hasNextPage: boolean;
  totalCount: number;
}

/** Thrown by `updateProfile` before the user's `user.registered` has been handled. */
export class ProfileNotFoundError extends DomainError {
  constructor(userId: string) {
    super(
      'NOT_FOUND',
      `You have no profile yet (user ${userId}): it is created when your registration reaches the users service; try again shortly`,
      { entity: 'User', id: userId },
    );
  }
}

export class UserService {
  constructor(private readonly scope: RequestScope) {}

  /** The caller's profile, or `null` before their registration has been handled. */
  async me(): Promise<User | null> {
    const who = requireIdentity(this.scope.identity);
    return this.scope.em.findOne(User, { id: who.userId });
  }

  /**
   * A user by id, for the user themself or an admin (FORBIDDEN for anyone else); `null` when
   * there is no such user. Also answers entity references from other subgraphs.
   */
  async user(id: string): Promise<User | null> {
    requireSelfOrAdmin(this.scope.identity, id);
    return this.scope.em.findOne(User, { id });
  }

  /** All users, oldest first, for admins; keyset-paginated on (createdAt, id). */
  async users(args: { first: number | null | undefined; after: string | null }): Promise<UserPage> {
    requireAdmin(this.scope.identity);
    const first = pageSize('first', args.first, USERS_PAGE_SIZE);
    const after = args.after === null ? null : decodeCursor(args.after);
    const where: FilterQuery<User> = after
      ? {
          $or: [
            { createdAt: { $gt: after.createdAt } },
            { createdAt: after.createdAt, id: { $gt: after.id } },
          ],
        }
      : {};
    const rows = await this.scope.em.find(User, where, {
      orderBy: { createdAt: 'asc', id: 'asc' },
      limit: first + 1,
    });
    const totalCount = await this.scope.em.count(User, {});
    const page = rows.slice(0, first);
    return {
      users: page.map((user) => ({ cursor: encodeCursor(user), user })),
      hasNextPage: rows.length > first,
      totalCount,
    };
  }

  /** A user's latest activity, most recent first; self or admin. */
  async recentActivity(userId: string, first: number | null | undefined): Promise<UserActivity[]> {
    requireSelfOrAdmin(this.scope.identity, userId);
    const limit = pageSize('first', first, ACTIVITY_PAGE_SIZE);
    return this.scope.em.find(
      UserActivity,
      { userId },
      { orderBy: { occurredAt: 'desc', id: 'desc' }, limit },
    );
  }

  /**
   * Changes the caller's own profile. When something actually changes, the update, a PROFILE
   * activity and `user.profile_updated` (through the outbox) commit in one transaction;
   * otherwise nothing is written or published.
   * @throws {InvalidInputError} for a blank or too long value, before anything is read.
   * @throws {ProfileNotFoundError} before the caller's registration has been handled.
   */
  async updateProfile(input: ProfileInput): Promise<User> {
    const who = requireIdentity(this.scope.identity);
    const changes = parseProfileInput(input);
    let row: OutboxMessage | undefined;
    const { user, published } = await this.scope.em.transactional(async (em) => {
      const user = await em.findOne(User, { id: who.userId });
      if (!user) throw new ProfileNotFoundError(who.userId);
      const diff = diffProfile(user, changes);
      if (!diff) return { user, published: false };
      for (const field of diff.updatedFields) user[field] = diff.newValues[field] ?? null;
      const event = UserEventFactory.createUserProfileUpdated(user.id, diff.updatedFields, {
        previousValues: diff.previousValues,
        newValues: diff.newValues,
      });
      em.persist(
        newActivity({
          userId: user.id,
          kind: 'PROFILE',
          event,
          description: `updated ${diff.updatedFields.join(', ')}`,
        }),
      );
      row = enqueueEvent(em, 'user-events', event);
      return { user, published: true };
    });
    if (published) this.scope.eventsCommitted(row ? [row] : undefined);
    return user;
  }
}
