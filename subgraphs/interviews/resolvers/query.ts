import { fromGraphQLStatus } from './status';
import type { QueryResolvers } from '../generated/resolvers-types';

export const Query: QueryResolvers = {
  interview: (_root, { id }, { interviews }) => interviews.interview(id),

  async interviews(_root, { filter, first, after }, { interviews }) {
    const page = await interviews.list({
      statuses: filter?.status?.map(fromGraphQLStatus),
      candidateId: filter?.candidateId,
      first,
      after,
    });
    return {
      edges: page.edges,
      pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor },
      totalCount: page.totalCount,
    };
  },
};
