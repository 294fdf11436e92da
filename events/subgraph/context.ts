/**
 * The GraphQL context of the events subgraph (codegen's `contextType`). Its fields are answered
 * from the event in hand, passed as the root value (see `eventRoot`), so the context is empty.
 */
export type SubgraphContext = Record<string, never>;
