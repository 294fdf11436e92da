import type { QueryResolvers } from '../generated/resolvers-types';

export const Query: QueryResolvers = {
  me: (_parent, _args, { users }) => users.me(),
  user: (_parent, { id }, { users }) => users.user(id),
  users: async (_parent, { first, after }, { users }) => {
    const page = await users.users({ first, after: after ?? null });
    return {
      edges: page.users.map(({ cursor, user }) => ({ cursor, node: user })),
      pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.users.at(-1)?.cursor ?? null },
      totalCount: page.totalCount,
    };
  },
};
