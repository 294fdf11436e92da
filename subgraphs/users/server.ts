/** The users subgraph, described for the shared runtime (`createSubgraph`): wiring only. */
import { join } from 'node:path';
import type { SubgraphDefinition } from '../shared/subgraph';
import { createContext, type SubgraphContext } from './context';
import { usersConsumers } from './consumers';
import { entities } from './entities';
import { erasureWorkers } from './erasure';
import { migrations } from './migrations';
import { resolvers } from './resolvers';

export const usersSubgraph: SubgraphDefinition<SubgraphContext> = {
  name: 'users',
  service: 'user-service',
  schemaPath: join(__dirname, 'schema.graphql'),
  resolvers,
  entities,
  migrations,
  context: createContext,
  consumers: usersConsumers,
  workers: erasureWorkers,
};
