/**
 * The platform's processes, once: what `npm start` runs (scripts/start.ts), what the end-to-end
 * tests spawn (test/processes.ts) and what docker-compose.yml must declare (its check,
 * deploy/docker-compose.test.ts).
 */

/** A variable of config/index.ts that holds a service's port. */
export type PortVariable =
  'USERS_PORT' | 'INTERVIEWS_PORT' | 'REPORTING_PORT' | 'NOTIFICATIONS_PORT' | 'GATEWAY_PORT';

/** One process of the platform. */
export interface ServiceDefinition {
  name: ServiceName;
  /** The entry point without extension, relative to the project (or dist/) root. */
  entry: string;
  /** The variable its port is read from. */
  portVariable: PortVariable;
  /** `subgraph`: the gateway routes GraphQL to it. */
  kind: 'subgraph' | 'worker' | 'gateway';
  /** Its own database (or PostgreSQL schema), named after it; the gateway's is optional. */
  database: boolean;
  /** Signs or checks the gateway's internal identity tokens, so it needs INTERNAL_TOKEN_SECRET. */
  internalToken: boolean;
  /** Node.js flags before the entry point. */
  nodeFlags: readonly string[];
}

/**
 * Node.js flags the gateway process runs with (`npm start`, docker-compose.yml, the Dockerfile).
 *
 * `--max-semi-space-size=4` (MiB): V8's young generation grows to its default maximum (16 MiB
 * per semi-space) while the gateway builds its schemas and query planner at start, and keeps
 * that size while idle: about 25 MB of an idle gateway's RSS (measured with `npm run
 * bench:memory`). Request garbage is small, so a 4 MiB young generation collects it just as
 * well, a little more often.
 */
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4'];

export const SUBGRAPH_NAMES = ['users', 'interviews', 'reporting'] as const;
export type SubgraphName = (typeof SUBGRAPH_NAMES)[number];
export type ServiceName = SubgraphName | 'notifications' | 'gateway';

const subgraph = (name: SubgraphName, portVariable: PortVariable): ServiceDefinition => ({
  name,
  entry: `subgraphs/${name}/main`,
  portVariable,
  kind: 'subgraph',
  database: true,
  internalToken: true,
  nodeFlags: [],
});

/** In start order: the subgraphs, the notification service, then the gateway that fronts them. */
export const SERVICES: readonly ServiceDefinition[] = [
  subgraph('users', 'USERS_PORT'),
  subgraph('interviews', 'INTERVIEWS_PORT'),
  subgraph('reporting', 'REPORTING_PORT'),
  {
    name: 'notifications',
    entry: 'notifications/main',
    portVariable: 'NOTIFICATIONS_PORT',
    kind: 'worker',
    database: true,
    internalToken: false,
    nodeFlags: [],
  },
  {
    name: 'gateway',
    entry: 'gateway/main',
    portVariable: 'GATEWAY_PORT',
    kind: 'gateway',
    database: false,
    internalToken: true,
    nodeFlags: GATEWAY_NODE_FLAGS,
  },
];

/** The service called `name`. */
export function service(name: ServiceName): ServiceDefinition {
  const found = SERVICES.find((s) => s.name === name);
  if (!found) throw new Error(`No service ${name}`);
  return found;
}
