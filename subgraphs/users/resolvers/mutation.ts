import type { MutationResolvers } from '../generated/resolvers-types';

export const Mutation: MutationResolvers = {
  // GraphQL leaves an omitted input field out of `input` and passes an explicit null as null:
  // exactly the "omitted: unchanged, null: clear" the service expects.
  updateProfile: (_parent, { input }, { users }) => users.updateProfile(input),
  requestAccountErasure: (_parent, { userId }, { erasure }) => erasure.request(userId),
};
