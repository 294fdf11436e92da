/**
 * The GraphQL context of the users subgraph. Generated resolver types import
 * `SubgraphContext` from here (`contextType: '../context#SubgraphContext'` in codegen.ts).
 */
import type { RequestScope } from '../shared/subgraph';
import { UserService } from './user-service';

export interface SubgraphContext {
  /** The request-scoped domain service: every resolver goes through it. */
  users: UserService;
}

export function createContext(scope: RequestScope): SubgraphContext {
  return { users: new UserService(scope) };
}
