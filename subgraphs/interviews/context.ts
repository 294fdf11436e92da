/**
 * The per-request GraphQL context of the interviews subgraph. Codegen's resolver types import
 * {@link SubgraphContext} from here (`../context#SubgraphContext`).
 */
import type { RequestScope } from '../shared/subgraph';
import { InterviewService } from './interview-service';

export interface SubgraphContext {
  /** The domain service, bound to this request's EntityManager and caller. */
  interviews: InterviewService;
}

export function createContext(scope: RequestScope): SubgraphContext {
  return { interviews: new InterviewService(scope) };
}
