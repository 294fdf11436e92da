/**
 * A user as this subgraph knows one: only the federation key. The users subgraph resolves
 * every other field.
 */
export interface UserReference {
  __typename: 'User';
  id: string;
}

export function userReference(id: string): UserReference {
  return { __typename: 'User', id };
}
