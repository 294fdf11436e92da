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
import { EVENTS_SCHEMA_FILE, EVENTS_SUBGRAPH } from '../events/subgraph';
import { createSignIn, type SignIn } from '../gateway/auth/sign-in';
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
import { randomDatabaseName } from './helpers';
import { dropSchema, TEST_INTERNAL_TOKEN_SECRET } from './subgraph-helpers';

export interface TestPlatform {
  gatewayUrl: string;
  gateway: Gateway;
  /** The composed supergraph, subgraphs on their test ports (for more gateways). */
  supergraphSdl: string;
  subgraphs: Record<'users' | 'interviews' | 'reporting', RunningSubgraph>;
  /** Publishes as the gateway would (`api-gateway`), e.g. `user.registered`. */
  gatewayEvents: KafkaService;
  /**
   * Another gateway instance of the same deployment: the same subgraphs, Kafka and (with
   * sign-in) the same sign-in database, its own process state. Stopped by `stop` if still running.
   */
  anotherGateway(): Promise<{ url: string; stop(): Promise<void> }>;
  stop(): Promise<void>;
}

export interface TestPlatformOptions {
  brokers: string[];
  database: DatabaseConfig;
  topicPrefix: string;
  production?: boolean;
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

export async function startTestPlatform(options: TestPlatformOptions): Promise<TestPlatform> {
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
          kafka: { ...config.kafka, brokers: options.brokers, handlerRetryMs: 10 },
          topicPrefix: options.topicPrefix,
          production: options.production ?? false,
          internalTokenSecret: TEST_INTERNAL_TOKEN_SECRET,
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

    gatewayEvents = new KafkaService('api-gateway', {
      brokers: options.brokers,
      topicPrefix: options.topicPrefix,
      announce: false,
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
    const { url: gatewayUrl } = await gateway.start();
    return {
      gatewayUrl,
      gateway,
      supergraphSdl: composed.supergraphSdl,
      subgraphs,
      gatewayEvents,
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
