/** The per-request GraphQL context of the reporting subgraph (codegen's `contextType`). */
import type { RequestScope } from '../shared/subgraph';
import { ReportService } from './report-service';

export interface SubgraphContext {
  /** Request-scoped: the request's EntityManager fork and the caller's identity. */
  reports: ReportService;
}

export function createContext(scope: RequestScope): SubgraphContext {
  return { reports: new ReportService(scope) };
}
