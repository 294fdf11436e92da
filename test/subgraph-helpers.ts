/**
 * Starts one subgraph for a test: its own database (random SQLite file or PostgreSQL schema),
 * its own topic prefix on the real broker, a free port. `stop()` closes all of it and drops
 * the PostgreSQL schema.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import type { DatabaseConfig } from '../config';
import { loadConfig } from '../config';
import {
  createSubgraph,
  type RunningSubgraph,
  type SubgraphDefinition,
} from '../subgraphs/shared/subgraph';
import { encodeIdentity, IDENTITY_HEADER, type Identity } from '../contracts/identity';
import { INTERNAL_TOKEN_HEADER, signInternalToken } from '../contracts/internal-token';
import { randomDatabaseName, testBrokers } from './helpers';

/**
 * The internal token key of this test file's subgraphs and gateways: random per run (jest loads
 * this module once per test file), so no test depends on a fixed key.
 */
export const TEST_INTERNAL_TOKEN_SECRET = randomBytes(48).toString('base64url');

export interface GraphQLResponse<TData = Record<string, unknown>> {
  status: number;
  data?: TData | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

/**
 * POSTs a GraphQL operation with an optional identity, to a subgraph or to a gateway: it sends
 * the identity both as the gateway's internal token (signed with
 * {@link TEST_INTERNAL_TOKEN_SECRET}; what a subgraph reads) and as the development `x-identity`
 * header (what a gateway outside production reads). Each ignores the other's header. Without an
 * identity, the token says anonymous. `headers` override both.
 */
export async function graphql<TData = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  identity?: Identity,
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<TData>> {
  return postGraphQL<TData>(url, query, variables, {
    [INTERNAL_TOKEN_HEADER]: await signInternalToken(TEST_INTERNAL_TOKEN_SECRET, identity ?? null),
    ...(identity ? { [IDENTITY_HEADER]: encodeIdentity(identity) } : {}),
    ...headers,
  });
}

/**
 * POSTs a GraphQL operation with exactly these headers: no token unless one is given, e.g. as a
 * caller going around the gateway would.
 */
export async function postGraphQL<TData = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<TData>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as Omit<GraphQLResponse<TData>, 'status'>;
  return { status: response.status, ...body };
}

/** Drops a PostgreSQL schema once everything using it has stopped. */
export async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end();
  }
}

export interface TestSubgraph extends RunningSubgraph {
  stop(): Promise<void>;
}

export async function startTestSubgraph<TContext extends object>(
  definition: SubgraphDefinition<TContext>,
  database: DatabaseConfig,
  topicPrefix: string,
): Promise<TestSubgraph> {
  const config = loadConfig();
  const name = randomDatabaseName(definition.name);
  const subgraph = createSubgraph(
    { ...definition, name },
    {
      host: '127.0.0.1',
      port: 0,
      database,
      kafka: { ...config.kafka, brokers: testBrokers(), handlerRetryMs: 10 },
      topicPrefix,
      production: false,
      internalTokenSecret: TEST_INTERNAL_TOKEN_SECRET,
    },
  );
  const running = await subgraph.start();
  return {
    ...running,
    async stop() {
      await subgraph.stop();
      const schema = running.database.schema;
      if (schema && database.url) await dropSchema(database.url, schema);
    },
  };
}
