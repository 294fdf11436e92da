import type { QueryResolvers } from '../generated/resolvers-types';

export const Query: QueryResolvers = {
  me: (_parent, _args, { users }) => users.me(),
  user: (_parent, { id }, { users }) => users.user(id),
  users: (_parent, { first, after }, { users }) => users.users({ first, after }),
};
