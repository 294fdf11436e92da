/**
 * The GraphQL context of the users subgraph. Generated resolver types import
 * `SubgraphContext` from here (`contextType: '../context#SubgraphContext'` in codegen.ts).
 */
import type { RequestScope } from '../shared/subgraph';
import { ErasureService } from './erasure/service';
import { UserService } from './user-service';

/** What every resolver of the subgraph gets. */
export interface SubgraphContext {
  /** The request-scoped domain service: every resolver goes through it. */
  users: UserService;
  /** Account erasure requests and their sagas. */
  erasure: ErasureService;
}

/** Builds the context of one request (the shared runtime calls it with a fresh EntityManager fork). */
export function createContext(scope: RequestScope): SubgraphContext {
  return { users: new UserService(scope), erasure: new ErasureService(scope) };
}
