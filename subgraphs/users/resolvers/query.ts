import type { QueryResolvers } from '../generated/resolvers-types';
import { sagaStatusOf } from './erasure';

/** The caller, a user by id, and the keyset-paginated `users` (the service returns the connection). */
export const Query: QueryResolvers = {
  me: (_parent, _args, { users }) => users.me(),
  user: (_parent, { id }, { users }) => users.user(id),
  users: (_parent, { first, after }, { users }) => users.users({ first, after }),
  accountErasure: (_parent, { id }, { erasure }) => erasure.saga(id),
  accountErasures: (_parent, { status, first, after }, { erasure }) =>
    erasure.sagas({ status: status ? sagaStatusOf(status) : null, first, after }),
};
