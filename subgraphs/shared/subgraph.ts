/**
 * The runtime every subgraph shares: its database (migrations at start), its Kafka service,
 * the outbox relay, its consumers, and its GraphQL server. A subgraph's `server.ts` only
 * describes itself with a {@link SubgraphDefinition}; this file does the wiring once.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import type { EntityManager, EntitySchema, MigrationObject } from '@mikro-orm/core';
import { GraphQLError, parse } from 'graphql';
import type { DatabaseConfig, KafkaConfig } from '../../config';
import { openDatabase, type Database } from '../../lib/database';
import { createGraphQLHttpServer } from '../../lib/http-server';
import { Lifecycle } from '../../lib/lifecycle';
import { createMetricsRegistry, metricsRoute } from '../../lib/metrics';
import { silentLogger, type Logger } from '../../lib/logger';
import {
  KafkaService,
  type BatchSubscribeOptions,
  type Source,
  type TopicBatchHandlers,
} from '../../events';
import {
  createLease,
  createOutboxRelay,
  replicaId,
  type OutboxMessage,
  type OutboxRelay,
} from '../../events/outbox';

import { DomainError } from '../../contracts/errors';
import type { ErasureOptions } from '../../events/erasure/options';
import { formatSubgraphError } from './errors';
import type { Identity } from '../../contracts/identity';
import {
  assertInternalTokenSecret,
  INTERNAL_TOKEN_HEADER,
  verifyInternalToken,
} from '../../contracts/internal-token';

/** What `eventsCommitted` does: hands the committed rows to the relay, or wakes it. */
function committedTo(relay: OutboxRelay): (rows?: readonly OutboxMessage[]) => void {
  return (rows) => (rows && rows.length > 0 ? relay.committed(rows) : relay.notify());
}

/** What a request-scoped service gets: its own EntityManager and a way to wake the relay. */
export interface RequestScope {
  em: EntityManager;
  identity: Identity | null;
  /**
   * Call after a transaction that enqueued outbox events has committed, with the rows
   * `enqueueEvent` returned (published at once), or without (the relay reads the table).
   */
  eventsCommitted: (rows?: readonly OutboxMessage[]) => void;
  /** The account erasure saga's options (`SubgraphOptions.erasure`). @default {} */
  erasure?: ErasureOptions;
}

/**
 * One consumer group of the service: one Kafka consumer reading every topic it handles, a batch
 * at a time (`transactionalHandlers` in `events/consumers` builds the handlers).
 */
export interface ConsumerDefinition {
  groupId: string;
  handlers: TopicBatchHandlers;
  options?: BatchSubscribeOptions;
}

/** What a service's consumers are built from. */
export interface ConsumerDeps {
  database: Database;
  logger: Logger;
  /** Wakes the outbox relay: call after a consumer's transaction that enqueued events commits. */
  eventsCommitted: () => void;
  /** The account erasure saga's options (`SubgraphOptions.erasure`). @default {} */
  erasure?: ErasureOptions;
}

/**
 * A background loop of the service beyond its consumers (e.g. the erasure saga's timer),
 * started after the consumers and stopped before the relay.
 */
export interface WorkerDefinition {
  name: string;
  start(): void;
  stop(): Promise<void>;
}

/** What a service's workers are built from. */
export interface WorkerDeps extends ConsumerDeps {
  /** Hands committed outbox rows to the relay (or wakes it without rows). */
  rowsCommitted: (rows?: readonly OutboxMessage[]) => void;
}

/** What a subgraph's `server.ts` says of itself; {@link createSubgraph} wires the rest. */
export interface SubgraphDefinition<TContext extends object> {
  /** `users`, `interviews`, `reporting`: also the database (file or schema) name. */
  name: string;
  /** The `source` of the events it publishes. */
  service: Source;
  /** Path of the SDL file. */
  schemaPath: string;
  resolvers: GraphQLResolverMap<TContext>;
  // EntitySchema is invariant in its entity type; any entity goes here.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  entities: EntitySchema<any>[];
  migrations: MigrationObject[];
  /** Builds the per-request GraphQL context. */
  context: (scope: RequestScope) => TContext;
  /** Event consumers, given the opened database. */
  consumers?: (deps: ConsumerDeps) => ConsumerDefinition[];
  /** Background loops, given the opened database. */
  workers?: (deps: WorkerDeps) => WorkerDefinition[];
}

/** Where and with what a subgraph runs: its slice of the validated configuration. */
export interface SubgraphOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  database: DatabaseConfig;
  kafka: KafkaConfig & { brokers: string[] };
  /** For tests that need topics of their own. @default '' */
  topicPrefix?: string;
  production: boolean;
  /**
   * Key of the gateway's internal tokens (contracts/internal-token.ts). Every GraphQL request,
   * `_service` and `_entities` included, needs a valid token signed with it; others get 401.
   */
  internalTokenSecret: string;
  /**
   * `false` consumes one event per transaction, the pre-batch path (the benchmark's baseline).
   * @default true
   */
  batchConsumers?: boolean;
  /** The account erasure saga's timing and injected faults (tests). @default {} */
  erasure?: ErasureOptions;
  logger?: Logger;
}

/** A started subgraph: its GraphQL URL and its parts, for tests and benchmarks. */
export interface RunningSubgraph {
  url: string;
  database: Database;
  kafka: KafkaService;
  relay: OutboxRelay;
}

/** A subgraph built by {@link createSubgraph}. */
export interface Subgraph {
  /**
   * Opens the database (applying migrations), starts Kafka, the relay and the consumers, then
   * listens.
   * @throws when a part fails to start; what had started is stopped first.
   */
  start(): Promise<RunningSubgraph>;
  /** Stops the parts in reverse order: HTTP (draining requests), Apollo, relay, Kafka, database. */
  stop(): Promise<void>;
}

/**
 * The caller's identity from the gateway's internal token; no token, or one that does not
 * verify, is a 401 with the reason. Thrown from the context function, which Apollo Server runs
 * for every request, so nothing (not even `{ _service { sdl } }`) is answered without a token.
 */
async function identityOr401(req: IncomingMessage, secret: string): Promise<Identity | null> {
  try {
    const raw = req.headers[INTERNAL_TOKEN_HEADER];
    // Node joins a repeated custom header with ", ", which then fails as malformed.
    return await verifyInternalToken(secret, Array.isArray(raw) ? raw.join(', ') : raw);
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    throw new GraphQLError(error.message, {
      extensions: { code: error.code, http: { status: 401 } },
    });
  }
}

/**
 * A subgraph from its definition: see the module's comment. Nothing opens or listens until
 * `start()`; every GraphQL request needs the gateway's internal token (401 otherwise).
 * @throws from `start()` when `options.internalTokenSecret` is too short, the database or Kafka
 * cannot be reached, a migration fails, the SDL does not parse or the port is taken.
 */
export function createSubgraph<TContext extends object>(
  definition: SubgraphDefinition<TContext>,
  options: SubgraphOptions,
): Subgraph {
  const log = (options.logger ?? silentLogger).child({ subgraph: definition.name });
  const lifecycle = new Lifecycle(log);

  const stop = async () => {
    await lifecycle.stop();
    log.info('subgraph stopped');
  };

  return {
    start: () =>
      lifecycle.starting(async () => {
        assertInternalTokenSecret(options.internalTokenSecret);
        const database = lifecycle.use(
          'database',
          await openDatabase({
            name: definition.name,
            config: options.database,
            entities: definition.entities,
            migrations: definition.migrations,
            logger: log,
          }),
          (d) => d.close(),
        );
        const metrics = createMetricsRegistry('subgraph');
        metrics.setDefaultLabels({ subgraph: definition.name });
        const kafka = lifecycle.use(
          'kafka',
          KafkaService.fromConfig(
            definition.service,
            { ...options.kafka, topicPrefix: options.topicPrefix ?? options.kafka.topicPrefix },
            log,
            metrics,
          ),
          (k) => k.stop(),
        );
        await kafka.start();
        // Replicas of this subgraph share the database: the one holding the lease relays.
        const relay = lifecycle.use(
          'outbox relay',
          createOutboxRelay({
            database,
            kafka,
            logger: log,
            lease: createLease({ database, name: 'outbox-relay', holder: replicaId() }),
          }),
          (r) => r.stop(),
        );
        relay.start();
        const erasure = options.erasure ?? {};
        const deps: ConsumerDeps = {
          database,
          logger: log,
          eventsCommitted: relay.notify,
          erasure,
        };
        for (const consumer of definition.consumers?.(deps) ?? []) {
          await kafka.subscribeBatch(consumer.groupId, consumer.handlers, {
            ...(options.batchConsumers === false ? { batch: false } : {}),
            ...consumer.options,
          });
        }
        for (const worker of definition.workers?.({ ...deps, rowsCommitted: committedTo(relay) }) ??
          []) {
          lifecycle.use(worker.name, worker, (w) => w.stop());
          worker.start();
        }

        const typeDefs = parse(readFileSync(definition.schemaPath, 'utf8'));
        const apollo = new ApolloServer<TContext>({
          schema: buildSubgraphSchema({
            typeDefs,
            resolvers: definition.resolvers as GraphQLResolverMap<unknown>,
          }),
          formatError: formatSubgraphError(log),
          // Traces for Apollo usage reporting cost CPU on every request; we report nothing.
          plugins: [ApolloServerPluginInlineTraceDisabled()],
          includeStacktraceInErrorResponses: false,
          introspection: true,
          // main.ts owns shutdown; Apollo's own handler would race it and never settle.
          stopOnTerminationSignals: false,
          // Subgraphs sit behind the gateway, which does CSRF prevention for browsers.
          csrfPrevention: false,
        });
        await apollo.start();
        lifecycle.defer('apollo', () => apollo.stop());

        const http = createGraphQLHttpServer<TContext>({
          apollo,
          routes: { '/metrics': metricsRoute(metrics) },
          host: options.host,
          port: options.port,
          context: async (req: IncomingMessage) => {
            const identity = await identityOr401(req, options.internalTokenSecret);
            return definition.context({
              em: database.fork(),
              identity,
              eventsCommitted: committedTo(relay),
              erasure,
            });
          },
          readiness: async () => {
            const checks = {
              database: (await database.ping()) ? 'ok' : 'unreachable',
              kafka: kafka.ready() ? 'ok' : 'not ready',
              outbox: relay.ready() ? 'ok' : 'retrying',
            };
            return { ready: Object.values(checks).every((c) => c === 'ok'), checks };
          },
        });
        const { url } = await http.start();
        lifecycle.defer('http', () => http.stop());
        log.info('subgraph ready', { url });
        return { url, database, kafka, relay };
      }),
    stop,
  };
}
