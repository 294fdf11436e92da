import { activityDetails } from '../entities';
import type { UserActivityResolvers, UserResolvers } from '../generated/resolvers-types';

/**
 * The parent value is the `User` entity (codegen mapper); its scalar fields resolve by default,
 * and DateTime serializes the entity's `Date`s. Activity rows are returned as they are, too.
 */
export const User: UserResolvers = {
  __resolveReference: (reference, { users }) => users.user(reference.id),
  recentActivity: (user, { first }, { users }) => users.recentActivity(user.id, first),
  suspended: (user) => user.suspendedAt !== null,
};

export const UserActivity: UserActivityResolvers = {
  details: (activity) => activityDetails(activity),
};
