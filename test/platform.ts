/**
 * The whole platform in one test process: the three subgraphs (each with its own database,
 * outbox relay and consumers) on free ports, composed into a supergraph, behind the gateway.
 * Everything shares one topic prefix on the given brokers, so tests never see each other's events,
 * and one internal token key (`TEST_INTERNAL_TOKEN_SECRET`). The gateway authenticates callers as
 * `gateway/main.ts` does: the development `x-identity` header, outside production only. The
 * gateway serves live subscriptions, reading with the platform's `api-gateway` Kafka service.
 */
import { readFileSync } from 'node:fs';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import type { DatabaseConfig } from '../config';
import { KafkaService } from '../events';
import { createSchemaRegistry } from '../events/registry';
import { EVENTS_SCHEMA_FILE, EVENTS_SUBGRAPH } from '../events/subgraph';
import { createSignIn, type SignIn } from '../gateway/auth/sign-in';
import { SESSIONS_GROUP } from '../gateway/auth/suspension';
import { databaseSignInStores, openGatewayDatabase } from '../gateway/auth/store';
import { createGateway, type Gateway } from '../gateway/gateway';
import { authenticator } from '../gateway/identity';
import type { Database } from '../lib/database';
import { createLogger } from '../lib/logger';
import { interviewsSubgraph } from '../subgraphs/interviews/server';
import { reportingSubgraph } from '../subgraphs/reporting/server';
import { usersSubgraph } from '../subgraphs/users/server';
import { loadConfig } from '../config';
import {
  createSubgraph,
  type RunningSubgraph,
  type Subgraph,
  type SubgraphDefinition,
} from '../subgraphs/shared/subgraph';
import { UserEventFactory, type EventEnvelope } from '../events';
import type { Identity } from '../contracts/identity';
import type { ErasureOptions } from '../events/erasure/options';
import {
  deleteTopicsWithPrefix,
  randomDatabaseName,
  testBrokers,
  testDatabases,
  testKafka,
  topicPrefix,
} from './helpers';
import {
  dropSchema,
  graphql,
  TEST_INTERNAL_TOKEN_SECRET,
  type GraphQLResponse,
} from './subgraph-helpers';

export interface TestPlatform {
  gatewayUrl: string;
  gateway: Gateway;
  /** The composed supergraph, subgraphs on their test ports (for more gateways). */
  supergraphSdl: string;
  subgraphs: Record<'users' | 'interviews' | 'reporting', RunningSubgraph>;
  /** Publishes as the gateway would (`api-gateway`), e.g. `user.registered`. */
  gatewayEvents: KafkaService;
  /** The prefix of every topic and group of this platform. */
  topicPrefix: string;
  /**
   * Registers `who` as the gateway does, with `user.registered` (its email, else
   * `<userId>@example.com`); resolves once published, before the profile exists.
   */
  register(
    who: Identity,
    profile?: Parameters<typeof UserEventFactory.createUserRegistered>[2],
  ): Promise<EventEnvelope<'user.registered'>>;
  /**
   * Another gateway instance of the same deployment: the same subgraphs, Kafka and (with
   * sign-in) the same sign-in database, its own process state. Stopped by `stop` if still running.
   */
  anotherGateway(): Promise<{ url: string; stop(): Promise<void> }>;
  stop(): Promise<void>;
}

export interface TestPlatformOptions {
  /** @default testBrokers() */
  brokers?: string[];
  /** @default SQLite in a folder of its own */
  database?: DatabaseConfig;
  /**
   * The prefix of the platform's topics and groups, whose topics are then the caller's to
   * delete. @default a prefix of its own (`platform-…`), whose topics `stop` deletes
   */
  topicPrefix?: string;
  production?: boolean;
  /** A schema registry every service registers with and validates unknown versions through. */
  schemaRegistryUrl?: string;
  /** Per subgraph, the erasure saga's timing (users) and injected faults (tests of the saga). */
  erasure?: Partial<Record<'users' | 'interviews' | 'reporting', ErasureOptions>>;
  /** Live subscription settings of the gateway (it always serves them). */
  subscriptions?: { queueLimit?: number; recentEvents?: number };
  /** Sign-in against an OpenID provider, with the gateway on `port` (registered at the IdP). */
  signIn?: {
    issuer: string;
    clientSecret: string;
    publicUrl: string;
    webhookSecret: string;
    port: number;
  };
}

/**
 * Starts the platform (see the top of this file); `stop` stops all of it, drops its PostgreSQL
 * schemas and, unless `topicPrefix` was given, deletes its topics. Fails with everything
 * started so far stopped.
 */
export async function startTestPlatform(
  platformOptions: TestPlatformOptions = {},
): Promise<TestPlatform> {
  const ownTopics = platformOptions.topicPrefix === undefined;
  const options = {
    ...platformOptions,
    brokers: platformOptions.brokers ?? testBrokers(),
    database: platformOptions.database ?? testDatabases()[0]!.config,
    topicPrefix: platformOptions.topicPrefix ?? topicPrefix('platform'),
  };
  const config = loadConfig();
  const logger = createLogger(process.env.TEST_LOG_LEVEL === 'debug' ? 'debug' : 'silent');
  const definitions = {
    users: usersSubgraph,
    interviews: interviewsSubgraph,
    reporting: reportingSubgraph,
  };
  const instances: { subgraph: Subgraph; running?: RunningSubgraph }[] = [];
  const running: Partial<TestPlatform['subgraphs']> = {};
  let gateway: Gateway | undefined;
  let gatewayEvents: KafkaService | undefined;
  let signIn: SignIn | undefined;

  let gatewayDatabase: Database | undefined;
  const others: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const stopOther of others) await stopOther();
    await gateway?.stop();
    await signIn?.stop();
    await gatewayEvents?.stop();
    await gatewayDatabase?.close();
    if (gatewayDatabase?.schema && options.database.url) {
      await dropSchema(options.database.url, gatewayDatabase.schema);
    }
    for (const instance of instances.reverse()) {
      await instance.subgraph.stop();
      const schema = instance.running?.database.schema;
      if (schema && options.database.url) await dropSchema(options.database.url, schema);
    }
    if (ownTopics) await deleteTopicsWithPrefix(options.topicPrefix, options.brokers);
  };

  try {
    const startOne = async <C extends object>(
      key: keyof typeof definitions,
      definition: SubgraphDefinition<C>,
    ) => {
      const subgraph = createSubgraph(
        { ...definition, name: randomDatabaseName(definition.name) },
        {
          host: '127.0.0.1',
          port: 0,
          database: options.database,
          kafka: {
            ...config.kafka,
            brokers: options.brokers,
            handlerRetryMs: 10,
            ...(options.schemaRegistryUrl ? { schemaRegistryUrl: options.schemaRegistryUrl } : {}),
          },
          topicPrefix: options.topicPrefix,
          production: options.production ?? false,
          internalTokenSecret: TEST_INTERNAL_TOKEN_SECRET,
          ...(options.erasure?.[key] ? { erasure: options.erasure[key] } : {}),
          logger: logger.child({ subgraph: key }),
        },
      );
      const instance: (typeof instances)[number] = { subgraph };
      instances.push(instance);
      instance.running = await subgraph.start();
      running[key] = instance.running;
    };
    await startOne('users', usersSubgraph);
    await startOne('interviews', interviewsSubgraph);
    await startOne('reporting', reportingSubgraph);
    const subgraphs = running as TestPlatform['subgraphs'];

    const composed = composeServices([
      ...(Object.keys(definitions) as (keyof typeof definitions)[]).map((name) => ({
        name,
        url: subgraphs[name].url,
        typeDefs: parse(readFileSync(definitions[name].schemaPath, 'utf8')),
      })),
      {
        name: EVENTS_SUBGRAPH,
        url: 'http://events.invalid/graphql',
        typeDefs: parse(readFileSync(EVENTS_SCHEMA_FILE, 'utf8')),
      },
    ]);
    if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join('\n'));

    gatewayEvents = testKafka('api-gateway', options.topicPrefix, {
      brokers: options.brokers,
      ...(options.schemaRegistryUrl
        ? { schemaRegistry: createSchemaRegistry({ url: options.schemaRegistryUrl }) }
        : {}),
    });
    await gatewayEvents.start();
    if (options.signIn) {
      gatewayDatabase = await openGatewayDatabase(options.database, {
        name: randomDatabaseName('gateway'),
      });
    }
    const events = gatewayEvents;
    const signInDatabase = gatewayDatabase;
    /** One gateway instance (and its sign-in), on `port`. */
    const instance = (port: number) => {
      let instanceSignIn: SignIn | undefined;
      if (options.signIn && signInDatabase) {
        const { issuer, clientSecret, publicUrl, webhookSecret } = options.signIn;
        instanceSignIn = createSignIn({
          identity: {
            ...config.identity,
            issuer,
            clientSecret,
            publicUrl,
            webhookSecret,
            audience: config.identity.clientId,
          },
          kafka: events,
          stores: databaseSignInStores({
            database: signInDatabase,
            secret: TEST_INTERNAL_TOKEN_SECRET,
            kafka: events,
            logger,
          }),
          logger,
        });
        instanceSignIn.start();
      }
      const instanceGateway = createGateway({
        supergraphSdl: composed.supergraphSdl,
        host: '127.0.0.1',
        port,
        maxDepth: config.gateway.maxDepth,
        maxFields: config.gateway.maxFields,
        maxBodyBytes: config.gateway.maxBodyBytes,
        corsOrigins: config.gateway.corsOrigins,
        production: options.production ?? false,
        logger,
        internalTokenSecret: TEST_INTERNAL_TOKEN_SECRET,
        authenticate: authenticator(options.production ?? false, instanceSignIn?.authenticate),
        ...(instanceSignIn ? { routes: instanceSignIn.routes } : {}),
        subscriptions: { kafka: events, ...options.subscriptions },
      });
      return { gateway: instanceGateway, signIn: instanceSignIn };
    };
    ({ gateway, signIn } = instance(options.signIn?.port ?? 0));
    // As gateway/main.ts: an account the erasure saga suspends loses its sessions.
    if (signIn) await events.subscribe('system-events', SESSIONS_GROUP, signIn.onSystemEvent);
    const { url: gatewayUrl } = await gateway.start();
    return {
      gatewayUrl,
      gateway,
      supergraphSdl: composed.supergraphSdl,
      subgraphs,
      gatewayEvents,
      topicPrefix: options.topicPrefix,
      async register(who, profile) {
        const email = who.email ?? `${who.userId}@example.com`;
        const event = UserEventFactory.createUserRegistered(who.userId, email, profile);
        await events.publishEvent('user-events', event);
        return event;
      },
      async anotherGateway() {
        const other = instance(0);
        const { url } = await other.gateway.start();
        let stopped = false;
        const stopOther = async () => {
          if (stopped) return;
          stopped = true;
          await other.gateway.stop();
          await other.signIn?.stop();
        };
        others.push(stopOther);
        return { url, stop: stopOther };
      },
      stop,
    };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}

/** GraphQL at a gateway: `gql(query, variables?, who?)`, typed by its data. */
export type GatewayCaller = <T = Record<string, unknown>>(
  query: string,
  variables?: Record<string, unknown>,
  who?: Identity,
) => Promise<GraphQLResponse<T>>;

/**
 * A {@link GatewayCaller} at the gateway `url()` names (read at each call, so it may name a
 * platform started later, in `beforeAll`), as `defaultWho` unless a call says who.
 */
export function gatewayCaller(url: () => string, defaultWho: Identity): GatewayCaller {
  return (query, variables = {}, who = defaultWho) => graphql(url(), query, variables, who);
}

/**
 * Creates an interview through `gql` (as its default caller unless `who` is given), expecting
 * no errors; returns its id and the ids of its questions, in order.
 */
export async function createInterview(
  gql: GatewayCaller,
  input: { title: string; position: string; questions: string[] },
  who?: Identity,
): Promise<{ id: string; questions: string[] }> {
  const created = await gql<{ createInterview: { id: string; questions: { id: string }[] } }>(
    `mutation ($input: CreateInterviewInput!) { createInterview(input: $input) { id questions { id } } }`,
    { input },
    who,
  );
  expect(created.errors).toBeUndefined();
  const { id, questions } = created.data!.createInterview;
  return { id, questions: questions.map((q) => q.id) };
}
