/** The interviews subgraph, described for the shared runtime (`createSubgraph`): wiring only. */
import { join } from 'node:path';
import type { SubgraphDefinition } from '../shared/subgraph';
import { interviewsConsumers } from './consumers';
import { createContext, type SubgraphContext } from './context';
import { entities } from './entities';
import { migrations } from './migrations';
import { resolvers } from './resolvers';

export const interviewsSubgraph: SubgraphDefinition<SubgraphContext> = {
  name: 'interviews',
  service: 'interview-service',
  schemaPath: join(__dirname, 'schema.graphql'),
  resolvers,
  entities,
  migrations,
  context: createContext,
  consumers: interviewsConsumers,
};
