/**
 * The federation gateway: @apollo/gateway (query planning and execution over the subgraphs of a
 * static supergraph) behind Apollo Server 5, on lib/http-server.ts.
 *
 * `createGateway(options)` returns `{ start, stop, ready }` and holds no module-level state, so
 * tests and benchmarks run as many gateways as they like in one process.
 *
 * Endpoints: `/graphql` (GraphQL over HTTP, and over WebSocket with the `graphql-transport-ws`
 * protocol: see websocket.ts); `/health` (liveness); `/ready` (200 once the supergraph is loaded
 * and every subgraph answered a `{ __typename }` probe recently, 503 otherwise, `checks` per
 * subgraph); in development also Apollo Sandbox on `GET /graphql` from a browser and GraphiQL at
 * `/graphiql`, which works offline.
 */
// First: defers what @apollo/gateway loads for its telemetry only (see the module).
import { setApolloTelemetry } from './apollo-telemetry';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApolloGateway, type GraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { Fetcher } from '@apollo/utils.fetcher';
import type { GraphQLFormattedError } from 'graphql';
import type { Logger as ApolloLogger } from '@apollo/utils.logger';
import {
  createGraphQLHttpServer,
  type GraphQLHttpServer,
  type ReadinessReport,
  type Route,
} from '../lib/http-server';
import type { Logger } from '../lib/logger';
import type { Identity } from '../contracts/identity';
import {
  assertInternalTokenSecret,
  INTERNAL_TOKEN_HEADER,
  signInternalToken,
} from '../contracts/internal-token';
import { createCors } from './cors';
import { createErrorFormatter } from './errors';
import { createGraphiQLRoutes, landingPageWithGraphiQLLink } from './graphiql';
import { anonymous, internalTokenHeaders, type Authenticate } from './identity';
import { depthLimitRule, fieldLimitRule } from './limits';
import { createSubgraphProbes } from './readiness';
import {
  createSubgraphAgent,
  createUndiciFetcher,
  SubgraphDataSource,
  type BuildRequestHeaders,
  type GatewayContext,
  type SubgraphAgentOptions,
} from './subgraph-client';
import { listSubgraphs } from './supergraph';
import { LiveSubscriptions, type LiveSubscriptionStats } from './subscriptions/engine';
import { SubscriptionPlanner } from './subscriptions/plan';
import { attachGraphQLWebSocket, FormattedError, type GraphQLWebSocket } from './websocket';
import { EVENTS_SUBGRAPH } from '../events/subgraph';
import { checkRateLimit, limitRoutes, type RateLimit } from '../lib/rate-limit';
import type { KafkaService } from '../events';

export type { BuildRequestHeaders, GatewayContext } from './subgraph-client';
export type { Authenticate } from './identity';

export interface GatewayOptions {
  /** The composed supergraph SDL (see `readSupergraphFile`). */
  supergraphSdl: string;
  /** Interface to bind. */
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Deepest selection nesting accepted, fragments followed (`QUERY_TOO_DEEP`). */
  maxDepth: number;
  /** Most fields in one operation, aliases counted, fragments expanded (`QUERY_TOO_LARGE`). */
  maxFields: number;
  /** Largest request body; larger ones get 413 `PAYLOAD_TOO_LARGE`. */
  maxBodyBytes: number;
  /** Origins allowed by CORS, `*` for any. */
  corsOrigins: string[];
  /** Masks unexpected errors, turns introspection, Sandbox and GraphiQL off. */
  production: boolean;
  logger: Logger;
  /**
   * Key the gateway signs the `x-internal-token` of every subgraph request with (readiness
   * probes included); the subgraphs verify it (contracts/internal-token.ts).
   */
  internalTokenSecret: string;
  /**
   * Who the caller of an incoming request is; the subgraphs learn it from the internal token.
   * @default every caller anonymous
   */
  authenticate?: Authenticate;
  /** Extra HTTP routes by exact path, e.g. `/auth/login` and `/webhooks/authentik`. */
  routes?: Record<string, Route>;
  /** Subgraph readiness probes: see `createSubgraphProbes`. @default every 5 s, ready within 15 s */
  probes?: { intervalMs?: number; maxAgeMs?: number; timeoutMs?: number };
  /** Keep-alive pool towards the subgraphs. */
  subgraphAgent?: SubgraphAgentOptions;
  /** WebSocket ping interval; a client that misses a pong is dropped. @default 12_000 */
  webSocketKeepAliveMs?: number;
  /**
   * Rate limits: `routes` (sign-in and webhooks) per client address, `subscribe` messages per
   * WebSocket connection; `false` turns one off.
   * @default routes 300 a minute in bursts of 100, subscribe see DEFAULT_SUBSCRIBE_RATE_LIMIT
   */
  rateLimits?: { routes?: RateLimit | false; subscribe?: RateLimit | false };
  /** Load balancers whose `X-Forwarded-For` gives the client's address. @default none */
  trustedProxies?: readonly string[];
  /**
   * Apollo's anonymous usage telemetry of @apollo/gateway (hourly, to Apollo): see
   * apollo-telemetry.ts. @default false
   */
  apolloTelemetry?: boolean;
  /**
   * Live subscriptions over WebSocket, fed by Kafka (gateway/subscriptions). Without them,
   * subscriptions are refused with `SUBSCRIPTIONS_NOT_AVAILABLE`.
   */
  subscriptions?: {
    /** A started KafkaService; the gateway reads with it, and does not stop it. */
    kafka: KafkaService;
    /** Results held per subscriber that does not read. @default 100 */
    queueLimit?: number;
    /** Events per topic kept in memory for resuming clients. @default 10_000 */
    recentEvents?: number;
  };
}

export interface Gateway {
  /** Loads the supergraph, probes the subgraphs once, listens. Resolves with the GraphQL URL. */
  start(): Promise<{ url: string }>;
  /** Stops accepting requests, waits for those in flight, closes subgraph connections. */
  stop(): Promise<void>;
  /** What `/ready` answers. */
  ready(): Promise<ReadinessReport>;
  /** Live subscription figures (also on `GET /metrics`); undefined without subscriptions. */
  subscriptionStats(): LiveSubscriptionStats | undefined;
}

function apolloLogger(logger: Logger): ApolloLogger {
  const text = (message: unknown) => (message instanceof Error ? message.message : String(message));
  return {
    debug: (m: unknown) => logger.debug(text(m)),
    info: (m: unknown) => logger.info(text(m)),
    warn: (m: unknown) => logger.warn(text(m)),
    error: (m: unknown) => logger.error(text(m)),
  };
}

/** Sign-in and webhook requests per client address: 300 a minute, bursts of 100. */
export const DEFAULT_ROUTES_RATE_LIMIT: RateLimit = { perSecond: 5, burst: 100 };

export function createGateway(options: GatewayOptions): Gateway {
  const { production, logger } = options;
  const routesLimit =
    options.rateLimits?.routes === false
      ? undefined
      : (options.rateLimits?.routes ?? DEFAULT_ROUTES_RATE_LIMIT);
  if (routesLimit) checkRateLimit(routesLimit, 'The sign-in and webhook rate limit');
  // The events subgraph has no server: the gateway answers it from Kafka events.
  const subgraphs = listSubgraphs(options.supergraphSdl).filter((s) => s.name !== EVENTS_SUBGRAPH);
  const agent = createSubgraphAgent(options.subgraphAgent);
  const fetcher = createUndiciFetcher(agent);
  assertInternalTokenSecret(options.internalTokenSecret);
  const probes = createSubgraphProbes({
    subgraphs,
    fetcher: withAnonymousInternalToken(fetcher, options.internalTokenSecret),
    logger: logger.child({ component: 'subgraph-probe' }),
    ...options.probes,
  });
  const authenticate = options.authenticate ?? anonymous;
  const buildRequestHeaders: BuildRequestHeaders = internalTokenHeaders(
    options.internalTokenSecret,
    authenticate,
  );
  const apolloLog = apolloLogger(logger.child({ component: 'apollo' }));

  setApolloTelemetry(options.apolloTelemetry ?? false);
  const gateway = new ApolloGateway({
    supergraphSdl: options.supergraphSdl,
    logger: apolloLog,
    buildService: ({ name, url }) => {
      if (name === EVENTS_SUBGRAPH) return eventsOnlyInSubscriptions;
      const endpoint = url ?? subgraphs.find((s) => s.name === name)?.url;
      if (endpoint === undefined) throw new Error(`Subgraph ${name} has no URL in the supergraph`);
      return new SubgraphDataSource(name, endpoint, fetcher);
    },
  });

  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    nodeEnv: production ? 'production' : 'development',
    csrfPrevention: true,
    introspection: !production,
    includeStacktraceInErrorResponses: false,
    hideSchemaDetailsFromClientErrors: production,
    formatError: createErrorFormatter({ production, logger }),
    validationRules: [depthLimitRule(options.maxDepth), fieldLimitRule(options.maxFields)],
    plugins: [
      production
        ? ApolloServerPluginLandingPageDisabled()
        : landingPageWithGraphiQLLink<GatewayContext>('/graphiql'),
    ],
    logger: apolloLog,
    // main.ts owns the signals, and stops the HTTP server before Apollo.
    stopOnTerminationSignals: false,
  });

  const signContext = async (identity: Identity | null): Promise<GatewayContext> => ({
    subgraphHeaders: {
      [INTERNAL_TOKEN_HEADER]: await signInternalToken(options.internalTokenSecret, identity),
    },
  });
  const formatError = createErrorFormatter({ production, logger });
  const live = options.subscriptions
    ? new LiveSubscriptions({
        kafka: options.subscriptions.kafka,
        planner: new SubscriptionPlanner({
          supergraphSdl: options.supergraphSdl,
          dataSources: Object.fromEntries(
            subgraphs.map((s) => [s.name, new SubgraphDataSource(s.name, s.url, fetcher)]),
          ),
          validationRules: [depthLimitRule(options.maxDepth), fieldLimitRule(options.maxFields)],
          logger: logger.child({ component: 'subscriptions' }),
        }),
        cursorSecret: options.internalTokenSecret,
        context: signContext,
        lookup: (identity) => async (query, variables) => {
          const response = await apollo.executeOperation(
            { query, variables },
            { contextValue: await signContext(identity) },
          );
          if (response.body.kind !== 'single') return {};
          const { data, errors } = response.body.singleResult;
          return {
            ...(data !== undefined ? { data } : {}),
            ...(errors ? { errors: errors.map((e) => new FormattedError(e)) } : {}),
          };
        },
        // executeQueryPlan's errors may be plain formatted objects, not GraphQLError instances.
        formatError: (error) =>
          new FormattedError(
            formatError(
              typeof error.toJSON === 'function'
                ? error.toJSON()
                : (error as GraphQLFormattedError),
              error,
            ),
          ),
        logger: logger.child({ component: 'subscriptions' }),
        ...(options.subscriptions.queueLimit === undefined
          ? {}
          : { queueLimit: options.subscriptions.queueLimit }),
        ...(options.subscriptions.recentEvents === undefined
          ? {}
          : { recentEvents: options.subscriptions.recentEvents }),
      })
    : undefined;

  let loaded = false;
  let http: GraphQLHttpServer | undefined;
  let webSocket: GraphQLWebSocket | undefined;

  const ready = async (): Promise<ReadinessReport> => {
    const subgraphReport = probes.report();
    const liveReady = live ? live.ready() : true;
    return {
      ready: loaded && subgraphReport.ready && liveReady,
      checks: {
        supergraph: loaded ? 'loaded' : 'not loaded',
        ...subgraphReport.checks,
        ...(live ? { subscriptions: liveReady ? 'live' : 'not live' } : {}),
      },
    };
  };

  const stop = async () => {
    // The port stops accepting first: a load balancer then sends new connections, reconnecting
    // clients included, to another instance. Upgraded sockets keep the HTTP server from closing:
    // they go next, closed with 1012 before the subscriptions end, so that clients resubscribe
    // (elsewhere) from their cursor instead of seeing their subscriptions complete. In-flight HTTP
    // requests are then finished.
    http?.stopAccepting();
    await webSocket?.close();
    webSocket = undefined;
    await live?.stop();
    await http?.stop();
    http = undefined;
    if (loaded) await apollo.stop();
    loaded = false;
    await probes.stop();
    await agent.close();
  };

  return {
    ready,
    stop,
    subscriptionStats: () => live?.stats(),
    async start() {
      if (http) throw new Error('The gateway is already started');
      const routes: Record<string, Route> = {
        ...(production ? {} : await createGraphiQLRoutes()),
        ...(live ? { '/metrics': metricsRoute(live) } : {}),
        ...(options.routes && routesLimit
          ? limitRoutes(options.routes, {
              limit: routesLimit,
              errorCode: 'RATE_LIMITED',
              trustedProxies: options.trustedProxies ?? [],
            })
          : options.routes),
      };
      try {
        await apollo.start();
        loaded = true;
        await Promise.all([probes.start(), live?.start()]);
        http = createGraphQLHttpServer<GatewayContext>({
          apollo,
          context: async (req) => ({ subgraphHeaders: await buildRequestHeaders(req) }),
          host: options.host,
          port: options.port,
          maxBodyBytes: options.maxBodyBytes,
          readiness: ready,
          routes,
          onListening: (server) => {
            webSocket = attachGraphQLWebSocket({
              server,
              apollo,
              schema: () => gateway.schema,
              authenticate,
              context: signContext,
              production,
              ...(live ? { live } : {}),
              ...(options.rateLimits?.subscribe === undefined
                ? {}
                : { subscribeRateLimit: options.rateLimits.subscribe }),
              ...(options.webSocketKeepAliveMs === undefined
                ? {}
                : { keepAliveMs: options.webSocketKeepAliveMs }),
              logger: logger.child({ component: 'websocket' }),
            });
          },
        });
        withCors(http, createCors({ origins: options.corsOrigins }));
        const { url } = await http.start();
        logger.info('gateway listening', {
          url,
          subgraphs: subgraphs.map((s) => `${s.name}=${s.url}`),
          production,
          ...(production ? {} : { graphiql: new URL('/graphiql', url).href }),
        });
        return { url };
      } catch (error) {
        await stop().catch(() => undefined);
        throw error;
      }
    },
  };
}

/** The events subgraph's fields come from Kafka events, in subscriptions only. */
const eventsOnlyInSubscriptions: GraphQLDataSource = {
  process: () =>
    Promise.reject(new Error('The events subgraph is answered by live subscriptions only')),
};

/**
 * `GET /metrics`: live subscription figures in the Prometheus text format, for dashboards and
 * alerts (e.g. on dropped results).
 */
function metricsRoute(live: LiveSubscriptions): Route {
  return (_req, res) => {
    const stats = live.stats();
    const lines = [
      '# TYPE gateway_subscriptions gauge',
      `gateway_subscriptions ${stats.subscribers}`,
      '# TYPE gateway_subscription_streams gauge',
      `gateway_subscription_streams ${stats.streams}`,
      '# TYPE gateway_subscription_results_delivered_total counter',
      `gateway_subscription_results_delivered_total ${stats.delivered}`,
      '# TYPE gateway_subscription_results_dropped_total counter',
      `gateway_subscription_results_dropped_total ${stats.dropped}`,
      '# TYPE gateway_subscription_results_queued gauge',
      `gateway_subscription_results_queued ${stats.queued}`,
      '# TYPE gateway_subscription_executions_total counter',
      `gateway_subscription_executions_total ${stats.executions}`,
      '# TYPE gateway_subscription_resumes_total counter',
      `gateway_subscription_resumes_total{from="memory"} ${stats.resumes.memory}`,
      `gateway_subscription_resumes_total{from="kafka"} ${stats.resumes.kafka}`,
      '# TYPE gateway_live_feed_events_total counter',
      ...Object.entries(stats.feeds).map(
        ([topic, feed]) => `gateway_live_feed_events_total{topic="${topic}"} ${feed.routed}`,
      ),
      '# TYPE gateway_process_resident_memory_bytes gauge',
      `gateway_process_resident_memory_bytes ${process.memoryUsage.rss()}`,
    ];
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(`${lines.join('\n')}\n`);
  };
}

/** The fetcher for readiness probes: subgraphs answer even `{ __typename }` only with a token. */
function withAnonymousInternalToken(fetcher: Fetcher, secret: string): Fetcher {
  return async (url, init = {}) =>
    fetcher(url, {
      ...init,
      headers: { ...init.headers, [INTERNAL_TOKEN_HEADER]: await signInternalToken(secret, null) },
    });
}

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Puts CORS in front of every route of the server (lib/http-server.ts has no middleware hook):
 * its request listener is replaced by one that answers preflights and sets the CORS headers
 * before handing the request on.
 */
function withCors(
  http: GraphQLHttpServer,
  cors: (req: IncomingMessage, res: ServerResponse) => boolean,
): void {
  const listeners = http.server.listeners('request') as RequestListener[];
  http.server.removeAllListeners('request');
  http.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (cors(req, res)) return;
    for (const listener of listeners) listener(req, res);
  });
}
