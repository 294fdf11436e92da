/**
 * The users service's steps of the erasure saga (it is also the orchestrator): each runs in the
 * users group's batch transaction and is idempotent, resolving with how many rows it changed.
 */
import type { ErasureStepWork } from '../../../events/erasure/participant';
import { newUser, User, UserActivity } from '../entities';

/** The address an erased profile keeps: the column is unique and required, and names no one. */
export const erasedEmail = (sagaId: string): string => `erased-${sagaId}@erased.invalid`;

/** `suspend-account`: the account is suspended (the profile refuses changes). */
export const suspendAccount: ErasureStepWork = async (em, { userId, now }) => {
  const user = await em.findOne(User, { id: userId });
  if (!user || user.suspendedAt) return 0;
  user.suspendedAt = now;
  return 1;
};

/** `restore-account` (compensation): the account is active again, unless it was erased. */
export const restoreAccount: ErasureStepWork = async (em, { userId }) => {
  const user = await em.findOne(User, { id: userId });
  if (!user || !user.suspendedAt || user.erasedAt) return 0;
  user.suspendedAt = null;
  return 1;
};

/**
 * `erase-profile`: email, names, company and last sign-in gone, the activity log (which keeps
 * the events' payloads: emails, IP addresses, user agents) deleted. The row stays, suspended
 * and marked erased, so the id still resolves and a replayed registration does not recreate it;
 * the consumers record no activity of an erased profile any more, whatever the order of topics.
 */
export const eraseProfile: ErasureStepWork = async (em, { userId, sagaId, now }) => {
  const user = await em.findOne(User, { id: userId });
  if (!user) {
    // Only in a replay (a rebuild) that reads this command before the registration: the erased
    // row stands in, so the registration replayed later recreates nothing.
    const tombstone = newUser({ id: userId, email: erasedEmail(sagaId), createdAt: now });
    Object.assign(tombstone, { suspendedAt: now, erasedAt: now });
    em.persist(tombstone);
    return 1;
  }
  const activities = await em.nativeDelete(UserActivity, { userId });
  if (user.erasedAt) return activities;
  Object.assign(user, {
    email: erasedEmail(sagaId),
    firstName: null,
    lastName: null,
    company: null,
    lastLoginAt: null,
    suspendedAt: user.suspendedAt ?? now,
    erasedAt: now,
  });
  return activities + 1;
};
