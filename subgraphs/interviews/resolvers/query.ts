import { fromGraphQLStatus } from './status';
import type { QueryResolvers } from '../generated/resolvers-types';

/** `interview` and the keyset-paginated `interviews` (the service returns the connection). */
export const Query: QueryResolvers = {
  interview: (_root, { id }, { interviews }) => interviews.interview(id),

  interviews: (_root, { filter, first, after }, { interviews }) =>
    interviews.list({
      statuses: filter?.status?.map(fromGraphQLStatus),
      candidateId: filter?.candidateId,
      first,
      after,
    }),
};
