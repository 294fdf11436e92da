/** The per-request GraphQL context of the reporting subgraph (codegen's `contextType`). */
import type { RequestScope } from '../shared/subgraph';
import { ReportService } from './report-service';

/** What the reporting resolvers get: the request's {@link ReportService}. */
export interface SubgraphContext {
  /** Request-scoped: the request's EntityManager fork and the caller's identity. */
  reports: ReportService;
}

/** The context of one request, from its {@link RequestScope}. */
export function createContext(scope: RequestScope): SubgraphContext {
  return { reports: new ReportService(scope) };
}
