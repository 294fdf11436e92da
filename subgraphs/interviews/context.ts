/**
 * The per-request GraphQL context of the interviews subgraph. Codegen's resolver types import
 * {@link SubgraphContext} from here (`../context#SubgraphContext`).
 */
import type { RequestScope } from '../shared/subgraph';
import { InterviewService } from './interview-service';
import { createInterviewLoaders } from './loaders';
import { PreferencesService } from './preferences-service';

/** What every resolver of the subgraph gets: the domain services, bound to one request. */
export interface SubgraphContext {
  /** Interviews, their questions and answers, with this request's batch loaders. */
  interviews: InterviewService;
  /** The interview preferences of users. */
  preferences: PreferencesService;
}

/**
 * Builds the context of one request (the shared runtime calls it per request, with a fresh
 * EntityManager fork): its services and its own loaders, so nothing memoized outlives the
 * request or crosses to another caller.
 */
export function createContext(scope: RequestScope): SubgraphContext {
  return {
    interviews: new InterviewService(scope, createInterviewLoaders(scope.em)),
    preferences: new PreferencesService(scope),
  };
}
