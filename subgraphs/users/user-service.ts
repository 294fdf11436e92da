/**
 * The users domain: who may read which profile, how a profile changes, and the event that
 * announces a change. Request-scoped: one instance per GraphQL request, built from its
 * {@link RequestScope} (its own EntityManager fork and the caller's identity).
 *
 * The pure rules (input validation, diffing) are exported functions, so they are unit-tested
 * without a database; cursors and page sizes are the shared `../shared/pagination.ts`.
 */
import { takeWriteLock } from '../../lib/database';
import { UserEventFactory } from '../../events';
import { enqueueEvent, type OutboxMessage } from '../../events/outbox';
import { DomainError, ForbiddenError, InvalidInputError } from '../../contracts/errors';
import { requireAdmin, requireIdentity, requireSelfOrAdmin } from '../../contracts/identity';
import { keysetQuery, pageSize, toPage, type Page } from '../shared/pagination';
import type { RequestScope } from '../shared/subgraph';
import { PROFILE_FIELDS, User, UserActivity, profileActivity, type ProfileField } from './entities';

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

/** Profile fields with their values, e.g. before and after a change. */
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

/** One page of `Query.users`: the `UserConnection` as the schema shapes it. */
export interface UserPage extends Page<User> {
  /** Every user, on all pages. */
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

/** Profiles on behalf of one request's caller. */
export class UserService {
  /** @param scope The request's EntityManager fork, caller and outbox wake-up. */
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

  /**
   * All users, oldest first, for admins; keyset-paginated on (createdAt, id).
   * @throws {InvalidInputError} on `first` out of {@link USERS_PAGE_SIZE}, or a malformed `after`.
   */
  async users(args: {
    first: number | null | undefined;
    /** The `cursor` of the last edge already seen (or `pageInfo.endCursor`). */
    after?: string | null | undefined;
  }): Promise<UserPage> {
    requireAdmin(this.scope.identity);
    const first = pageSize('first', args.first, USERS_PAGE_SIZE);
    const page = keysetQuery<User>({}, { first, after: args.after, direction: 'asc' });
    const rows = await this.scope.em.find(User, page.where, page.options);
    const totalCount = await this.scope.em.count(User, {});
    return { ...toPage(rows, first), totalCount };
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
      await takeWriteLock(em);
      const user = await em.findOne(User, { id: who.userId });
      if (!user) throw new ProfileNotFoundError(who.userId);
      // While its erasure runs (and for good once erased) the profile changes no more.
      if (user.suspendedAt) {
        throw new ForbiddenError('Your account is suspended while its erasure runs (or erased)');
      }
      const diff = diffProfile(user, changes);
      if (!diff) return { user, published: false };
      for (const field of diff.updatedFields) user[field] = diff.newValues[field] ?? null;
      const event = UserEventFactory.createUserProfileUpdated(user.id, diff.updatedFields, {
        previousValues: diff.previousValues,
        newValues: diff.newValues,
      });
      em.persist(profileActivity(event));
      row = enqueueEvent(em, 'user-events', event);
      return { user, published: true };
    });
    if (published) this.scope.eventsCommitted(row ? [row] : undefined);
    return user;
  }
}
