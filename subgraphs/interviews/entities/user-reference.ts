/**
 * A user as this subgraph knows one: only the federation key. The users subgraph resolves
 * every other field.
 */
export interface UserReference {
  __typename: 'User';
  id: string;
}

/** The {@link UserReference} of user `id`, for a field of type `User`. */
export function userReference(id: string): UserReference {
  return { __typename: 'User', id };
}
