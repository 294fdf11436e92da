/**
 * Starts one subgraph for a test: its own database (random SQLite file or PostgreSQL schema),
 * its own topic prefix on the real broker, a free port. `stop()` closes all of it and drops
 * the PostgreSQL schema.
 */
import { Client } from 'pg';
import type { DatabaseConfig } from '../config';
import { loadConfig } from '../config';
import {
  createSubgraph,
  type RunningSubgraph,
  type SubgraphDefinition,
} from '../subgraphs/shared/subgraph';
import { encodeIdentity, IDENTITY_HEADER, type Identity } from '../subgraphs/shared/identity';
import { randomDatabaseName, testBrokers } from './helpers';

export interface GraphQLResponse<TData = Record<string, unknown>> {
  status: number;
  data?: TData | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

/** POSTs a GraphQL operation, as the gateway would, with an optional identity. */
export async function graphql<TData = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  identity?: Identity,
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<TData>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(identity ? { [IDENTITY_HEADER]: encodeIdentity(identity) } : {}),
      ...headers,
    },
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
