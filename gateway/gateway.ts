/**
 * The federation gateway: @apollo/gateway (query planning and execution over the subgraphs of a
 * static supergraph) behind Apollo Server 5, on lib/http-server.ts.
 *
 * `createGateway(options)` returns `{ start, stop, ready }` and holds no module-level state, so
 * tests and benchmarks run as many gateways as they like in one process.
 *
 * Endpoints: `/graphql` (GraphQL over HTTP, over WebSocket with the `graphql-transport-ws`
 * protocol: see websocket.ts, and multipart subscriptions); `/graphql/stream` (GraphQL over
 * Server-Sent Events; both in http-subscriptions/); `/health` (liveness); `/ready` (200 once the
 * supergraph is loaded and every subgraph answered a `{ __typename }` probe recently, 503
 * otherwise, `checks` per subgraph); the web app at `/` (web-app.ts) when given; in development also Apollo Sandbox on
 * `GET /graphql` from a browser and GraphiQL at `/graphiql`, which works offline.
 */
// First: defers what @apollo/gateway loads for its telemetry only (see the module).
import { setApolloTelemetry } from './apollo-telemetry';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApolloGateway, type GraphQLDataSource } from '@apollo/gateway';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { Fetcher } from '@apollo/utils.fetcher';
import type { GraphQLFormattedError } from 'graphql';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Logger as ApolloLogger } from '@apollo/utils.logger';
import {
  createGraphQLHttpServer,
  type GraphQLHttpServer,
  type ReadinessReport,
  type Route,
} from '../lib/http-server';
import type { Logger } from '../lib/logger';
import { Lifecycle } from '../lib/lifecycle';
import { createMetricsRegistry, metricsRoute } from '../lib/metrics';
import type { Identity } from '../contracts/identity';
import {
  assertInternalTokenSecret,
  INTERNAL_TOKEN_HEADER,
  signInternalToken,
} from '../contracts/internal-token';
import { createCors } from './cors';
import { createErrorFormatter } from './errors';
import { createGraphiQLRoutes, landingPageWithGraphiQLLink } from './graphiql';
import { createHttpSubscriptions, refuseSubscriptionsOverPlainHttp } from './http-subscriptions';
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
  type SubgraphRequestMetrics,
} from './subgraph-client';
import { listSubgraphs } from './supergraph';
import { LiveSubscriptions, type LiveSubscriptionStats } from './subscriptions/engine';
import { SubscriptionPlanner } from './subscriptions/plan';
import type { WebApp } from './web-app';
import { attachGraphQLWebSocket, FormattedError, type GraphQLWebSocket } from './websocket';
import { EVENTS_SUBGRAPH } from '../events/subgraph';
import { checkRateLimit, limitRoutes, type RateLimit } from '../lib/rate-limit';
import type { KafkaService } from '../events';

export type { BuildRequestHeaders, GatewayContext } from './subgraph-client';
export type { Authenticate } from './identity';

/** What {@link createGateway} serves, and its limits. */
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
  /** The web app at `/` (see web-app.ts); its fallback answers the paths no route takes. */
  webApp?: WebApp;
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
   * The process's registry for `GET /metrics` (main.ts gives its Kafka service the same one);
   * the Kafka service of `subscriptions` is attached to it. @default a registry of its own
   */
  metrics?: Registry;
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

/** A gateway built by {@link createGateway}; nothing listens before `start()`. */
export interface Gateway {
  /**
   * Loads the supergraph, probes the subgraphs once, listens. Resolves with the GraphQL URL.
   * @throws when already started, or when a part fails to start (the port is taken, say); what
   * had started is then stopped, and `start()` may be called again.
   */
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

/**
 * Builds the gateway: see the module's comment. Starts nothing (no port, no probe) until
 * `start()`; `stop()` stops in reverse order (accepting, sockets, requests in flight,
 * subscriptions, Apollo, probes, the subgraph agent).
 * @throws when the options are invalid: a weak `internalTokenSecret`, a rate limit that makes no
 * sense, a supergraph SDL that does not parse or names no subgraph.
 */
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
  const metrics = options.metrics ?? createMetricsRegistry('gateway');
  const requestMetrics = gatewayRequestMetrics(metrics);
  options.subscriptions?.kafka.attachMetrics(metrics);

  setApolloTelemetry(options.apolloTelemetry ?? false);
  const gateway = new ApolloGateway({
    supergraphSdl: options.supergraphSdl,
    logger: apolloLog,
    buildService: ({ name, url }) => {
      if (name === EVENTS_SUBGRAPH) return eventsOnlyInSubscriptions;
      const endpoint = url ?? subgraphs.find((s) => s.name === name)?.url;
      if (endpoint === undefined) throw new Error(`Subgraph ${name} has no URL in the supergraph`);
      return new SubgraphDataSource(name, endpoint, fetcher, requestMetrics.subgraphs);
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
      refuseSubscriptionsOverPlainHttp,
      requestMetrics.plugin,
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
            subgraphs.map((s) => [
              s.name,
              new SubgraphDataSource(s.name, s.url, fetcher, requestMetrics.subgraphs),
            ]),
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
  if (live) {
    gatewayMetrics(metrics, live);
    countSubscriptions(live, requestMetrics.record);
  }

  let loaded = false;
  let started = false;
  const lifecycle = new Lifecycle(logger);
  // Parts built here, not in start(), stop last.
  lifecycle.defer('subgraph agent', () => agent.close());

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
    started = false;
    await lifecycle.stop();
  };

  return {
    ready,
    stop,
    subscriptionStats: () => live?.stats(),
    async start() {
      if (started) throw new Error('The gateway is already started');
      started = true;
      const routes: Record<string, Route> = {
        ...options.webApp?.routes,
        ...(production ? {} : await createGraphiQLRoutes()),
        '/metrics': metricsRoute(metrics),
        ...(options.routes && routesLimit
          ? limitRoutes(options.routes, {
              limit: routesLimit,
              errorCode: 'RATE_LIMITED',
              trustedProxies: options.trustedProxies ?? [],
            })
          : options.routes),
      };
      // Stopping runs these in reverse: the port stops accepting first (a load balancer then
      // sends new connections, reconnecting clients included, to another instance); upgraded
      // sockets go next, closed with 1012 before the subscriptions end, so that clients
      // resubscribe (elsewhere) from their cursor instead of seeing their subscriptions
      // complete; then in-flight HTTP requests are finished, the subscriptions end, and Apollo
      // and the probes stop.
      const starting = lifecycle.starting(async () => {
        lifecycle.defer('subgraph probes', () => probes.stop());
        await apollo.start();
        loaded = true;
        lifecycle.defer('apollo', async () => {
          loaded = false;
          await apollo.stop();
        });
        if (live) lifecycle.defer('live subscriptions', () => live.stop());
        await Promise.all([probes.start(), live?.start()]);
        let webSocket: GraphQLWebSocket | undefined;
        const httpContext = async (req: IncomingMessage): Promise<GatewayContext> => ({
          subgraphHeaders: await buildRequestHeaders(req),
        });
        const httpSubscriptions = createHttpSubscriptions({
          apollo,
          httpContext,
          authenticate,
          context: signContext,
          live,
          production,
          logger: logger.child({ component: 'http-subscriptions' }),
          maxBodyBytes: options.maxBodyBytes,
          subscribeRateLimit: options.rateLimits?.subscribe,
          trustedProxies: options.trustedProxies,
        });
        const http = createGraphQLHttpServer<GatewayContext>({
          apollo,
          context: httpContext,
          host: options.host,
          port: options.port,
          maxBodyBytes: options.maxBodyBytes,
          readiness: ready,
          routes: { ...routes, ...httpSubscriptions.routes },
          beforeGraphQL: httpSubscriptions.beforeGraphQL,
          ...(options.webApp ? { fallback: options.webApp.fallback } : {}),
          onListening: (server) => {
            webSocket = attachGraphQLWebSocket({
              server,
              apollo,
              schema: () => gateway.schema,
              authenticate,
              allowedOrigins: options.corsOrigins,
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
        lifecycle.defer('http requests in flight', () => http.stop());
        // Before the drain: subscription streams would hold it for its whole 10 s.
        lifecycle.defer('http subscription streams', () => httpSubscriptions.close());
        withCors(http, createCors({ origins: options.corsOrigins }));
        const { url } = await http.start();
        lifecycle.defer('websockets', () => webSocket?.close());
        lifecycle.defer('accepting connections', () => http.stopAccepting());
        logger.info('gateway listening', {
          url,
          subgraphs: subgraphs.map((s) => `${s.name}=${s.url}`),
          production,
          ...(production ? {} : { graphiql: new URL('/graphiql', url).href }),
        });
        return { url };
      });
      // A start that failed stopped what it had started: it may be tried again.
      starting.catch(() => (started = false));
      return starting;
    },
  };
}

/** The events subgraph's fields come from Kafka events, in subscriptions only. */
const eventsOnlyInSubscriptions: GraphQLDataSource = {
  process: () =>
    Promise.reject(new Error('The events subgraph is answered by live subscriptions only')),
};

/** Seconds, from 1 ms to 10 s: GraphQL requests and subgraph calls. */
const REQUEST_DURATION_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/**
 * The gateway's request figures in `registry`: `gateway_graphql_requests_total{operation_type,
 * outcome}` and `gateway_graphql_request_duration_seconds{operation_type}` from an Apollo plugin
 * (HTTP requests only: the gateway's own lookups through `executeOperation` are not counted;
 * `operation_type` is `unknown` for a request that names no valid operation), and the subgraph
 * request figures for {@link SubgraphDataSource}.
 */
function gatewayRequestMetrics(registry: Registry): {
  plugin: ApolloServerPlugin<GatewayContext>;
  subgraphs: SubgraphRequestMetrics;
  /** Counts and times one request of `operationType`. */
  record: (operationType: string, failed: boolean, seconds: number) => void;
} {
  const registers = [registry];
  const requests = new Counter({
    name: 'gateway_graphql_requests_total',
    help: 'GraphQL requests answered, by operation type and outcome (ok, or error when the response has errors)',
    labelNames: ['operation_type', 'outcome'] as const,
    registers,
  });
  const duration = new Histogram({
    name: 'gateway_graphql_request_duration_seconds',
    help: 'Time from receiving a GraphQL request to sending its response',
    labelNames: ['operation_type'] as const,
    buckets: REQUEST_DURATION_BUCKETS,
    registers,
  });
  type Children = {
    ok: { inc(): void };
    error: { inc(): void };
    duration: { observe(s: number): void };
  };
  // Per operation type (query, mutation, subscription, unknown): made once.
  const children = new Map<string, Children>();
  const childrenOf = (type: string): Children => {
    let found = children.get(type);
    if (!found) {
      found = {
        ok: requests.labels(type, 'ok'),
        error: requests.labels(type, 'error'),
        duration: duration.labels(type),
      };
      children.set(type, found);
    }
    return found;
  };
  const record = (operationType: string, failed: boolean, seconds: number) => {
    const measured = childrenOf(operationType);
    (failed ? measured.error : measured.ok).inc();
    measured.duration.observe(seconds);
  };
  const plugin: ApolloServerPlugin<GatewayContext> = {
    async requestDidStart({ request }) {
      if (!request.http) return;
      const started = performance.now();
      return {
        async willSendResponse({ operation, response, errors }) {
          const body = response.body;
          const failed =
            Boolean(errors?.length) ||
            Boolean(
              body.kind === 'single'
                ? body.singleResult.errors?.length
                : body.initialResult.errors?.length,
            );
          record(operation?.operation ?? 'unknown', failed, (performance.now() - started) / 1000);
        },
      };
    },
  };
  return {
    plugin,
    record,
    subgraphs: {
      duration: new Histogram({
        name: 'gateway_subgraph_request_duration_seconds',
        help: 'Time of a request from the gateway to a subgraph',
        labelNames: ['subgraph'] as const,
        buckets: REQUEST_DURATION_BUCKETS,
        registers,
      }),
      errors: new Counter({
        name: 'gateway_subgraph_request_errors_total',
        help: 'Requests to a subgraph that failed (no answer, or a non-2xx status)',
        labelNames: ['subgraph'] as const,
        registers,
      }),
    },
  };
}

/**
 * Counts the live subscriptions (WebSocket, SSE, multipart: none goes through Apollo's request
 * pipeline) in `gateway_graphql_requests_total{operation_type="subscription"}`: `ok` when it
 * started, `error` when refused; the duration is the time to start it, not its lifetime.
 */
function countSubscriptions(
  live: LiveSubscriptions,
  record: (type: string, failed: boolean, seconds: number) => void,
): void {
  const subscribe = live.subscribe.bind(live);
  live.subscribe = async (...args) => {
    const started = performance.now();
    let failed = true;
    try {
      const result = await subscribe(...args);
      failed = Array.isArray(result);
      return result;
    } finally {
      record('subscription', failed, (performance.now() - started) / 1000);
    }
  };
}

/**
 * The live subscriptions' figures in the gateway's registry (for dashboards and alerts, e.g. on
 * dropped results), read from {@link LiveSubscriptions.stats} when scraped. With the standard
 * process ones (`gateway_process_...`), the request figures ({@link gatewayRequestMetrics}) and
 * the Kafka service's `kafka_*`, they are what `GET /metrics` serves.
 */
function gatewayMetrics(registry: Registry, live: LiveSubscriptions): void {
  const registers = [registry];
  /** A gauge or counter whose value is `read` from the stats at each scrape. */
  const figure = (
    Kind: typeof Gauge | typeof Counter,
    name: string,
    help: string,
    read: (stats: LiveSubscriptionStats) => number,
  ) =>
    new Kind({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read(live.stats()));
      },
    });
  figure(Gauge, 'gateway_subscriptions', 'Live subscribers', (s) => s.subscribers);
  figure(Gauge, 'gateway_subscription_streams', 'Streams (shared executions)', (s) => s.streams);
  figure(
    Counter,
    'gateway_subscription_results_delivered_total',
    'Results written to subscribers',
    (s) => s.delivered,
  );
  figure(
    Counter,
    'gateway_subscription_results_dropped_total',
    'Results dropped from full subscriber queues (oldest first)',
    (s) => s.dropped,
  );
  figure(
    Gauge,
    'gateway_subscription_results_queued',
    'Results waiting in subscriber queues',
    (s) => s.queued,
  );
  figure(
    Counter,
    'gateway_subscription_executions_total',
    'Per-event executions of subscription plans',
    (s) => s.executions,
  );
  new Counter({
    name: 'gateway_subscription_resumes_total',
    help: 'Subscriptions resumed from a cursor, by where the missed events came from',
    labelNames: ['from'] as const,
    registers,
    collect() {
      const { resumes } = live.stats();
      this.reset();
      this.inc({ from: 'memory' }, resumes.memory);
      this.inc({ from: 'kafka' }, resumes.kafka);
    },
  });
  new Counter({
    name: 'gateway_live_feed_events_total',
    help: 'Events the live feed routed to streams, by topic',
    labelNames: ['topic'] as const,
    registers,
    collect() {
      this.reset();
      for (const [topic, feed] of Object.entries(live.stats().feeds))
        this.inc({ topic }, feed.routed);
    },
  });
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
