/** The per-request GraphQL context of the reporting subgraph (codegen's `contextType`). */
import type { DeadLetterStore } from '../../events/dead-letters';
import type { RequestScope } from '../shared/subgraph';
import { DeadLetterService } from './dead-letter-service';
import { ReportService } from './report-service';

/** What the reporting resolvers get: the request's services. */
export interface SubgraphContext {
  /** Request-scoped: the request's EntityManager fork and the caller's identity. */
  reports: ReportService;
  /** The dead letters, for admins. */
  deadLetters: DeadLetterService;
}

/**
 * The context function of a reporting subgraph whose admins reach `deadLetters` (none: the
 * dead-letter fields answer SERVICE_UNAVAILABLE).
 */
export function contextWith(
  deadLetters: DeadLetterStore | undefined,
): (scope: RequestScope) => SubgraphContext {
  return (scope) => ({
    reports: new ReportService(scope),
    deadLetters: new DeadLetterService(scope.identity, deadLetters),
  });
}

/** The context of one request, from its {@link RequestScope}, without dead-letter tooling. */
export const createContext = contextWith(undefined);
