/**
 * Entry point of the gateway: `node dist/gateway/main.js` once built (`npm run build`; what
 * `npm start` and the image run), or `node --import tsx gateway/main.ts` from source.
 *
 * Reads configuration once (INTERNAL_TOKEN_SECRET is required: the key of the tokens it signs
 * for the subgraphs; `npm start` generates one), reads the supergraph file (SUPERGRAPH_PATH),
 * starts, prints the URL, and stops cleanly on SIGINT/SIGTERM. A bad environment prints every
 * problem and exits 1; a missing or invalid supergraph file prints one line naming the path and
 * exits 1.
 *
 * In development, `GET /graphql` from a browser shows Apollo Sandbox (which needs internet
 * access) and `/graphiql` shows GraphiQL served from node_modules (works offline).
 */
import cluster from 'node:cluster';
import { loadConfigOrExit, loadGatewayConfig } from '../config';
import { createProcessLogger } from '../lib/logger';
import { createGateway } from './gateway';
import { KafkaService } from '../events';
import { schemaRegistryFromUrl } from '../events/registry';
import { createSignIn, type SignIn } from './auth/sign-in';
import { SESSIONS_GROUP } from './auth/suspension';
import type { SignInStores } from './auth/sign-in-state';
import { Lifecycle } from '../lib/lifecycle';
import { startTracing } from '../lib/tracing';
import { createMetricsRegistry } from '../lib/metrics';
import { authenticator } from './identity';
import { readSupergraphFile, SupergraphError, withSubgraphUrls } from './supergraph';
import { runMain, stopOnSignals } from '../lib/process';
import { createWebApp } from './web-app';
import { reportReady, runWorkers } from './workers';

async function main(): Promise<void> {
  const config = loadConfigOrExit(loadGatewayConfig);
  if (config.gateway.workers > 1 && cluster.isPrimary) {
    runWorkers(config.gateway.workers, createProcessLogger(config, { service: 'gateway' }));
    return;
  }
  const internalTokenSecret = config.identity.internalTokenSecret;
  const logger = createProcessLogger(config, { service: 'gateway' });
  let supergraphSdl: string;
  try {
    supergraphSdl = withSubgraphUrls(
      await readSupergraphFile(config.gateway.supergraphPath),
      config.gateway.subgraphUrls,
    );
  } catch (error) {
    if (error instanceof SupergraphError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }

  const production = config.environment === 'production';
  const { issuer, clientSecret } = config.identity;
  // Stopped in reverse: the gateway, sign-in, its database, then Kafka.
  const lifecycle = new Lifecycle(logger);
  const tracing = await startTracing({ service: 'api-gateway', endpoint: config.otlpEndpoint });
  if (tracing) lifecycle.defer('tracing', () => tracing.stop());
  // One registry for the gateway's `/metrics`: its own figures and its Kafka service's.
  const metrics = createMetricsRegistry('gateway');
  let signIn: SignIn | undefined;
  let kafka: KafkaService | undefined;
  if (config.kafka.brokers) {
    // Publishes the user events of sign-in, and feeds the live subscriptions.
    kafka = lifecycle.use(
      'kafka',
      new KafkaService('api-gateway', {
        metrics,
        brokers: config.kafka.brokers,
        topicPrefix: config.kafka.topicPrefix,
        partitions: config.kafka.topicPartitions,
        replicationFactor: config.kafka.replicationFactor,
        minInsyncReplicas: config.kafka.minInsyncReplicas,
        schemaRegistry: schemaRegistryFromUrl(config.kafka.schemaRegistryUrl),
        logger,
      }),
      (k) => k.stop(),
    );
    await kafka.start();
  } else {
    logger.warn('KAFKA_BROKERS is not set: subscriptions are not available');
  }
  // The configuration's schema makes OIDC_CLIENT_SECRET and KAFKA_BROKERS required with
  // OIDC_ISSUER, and OIDC_ISSUER required in production.
  if (issuer && clientSecret && kafka) {
    // Sessions, pending sign-ins, webhook deliveries and the user events' outbox: in the
    // gateway's database, shared by every instance of the deployment and kept across restarts;
    // in memory for one development instance, unless SIGN_IN_STORE says otherwise.
    // Several workers share sessions only through the database.
    const store =
      config.identity.signInStore ??
      (production || config.gateway.workers > 1 ? 'database' : 'memory');
    let stores: SignInStores | undefined;
    if (store === 'database') {
      // Loaded only here: MikroORM and its drivers cost a gateway ~20 MB of RSS.
      const { databaseSignInStores, openGatewayDatabase } = await import('./auth/store.js');
      const database = lifecycle.use(
        'gateway database',
        await openGatewayDatabase(config.database, { logger }),
        (d) => d.close(),
      );
      stores = databaseSignInStores({
        database,
        secret: internalTokenSecret,
        kafka,
        logger: logger.child({ component: 'sign-in-outbox' }),
      });
    }
    signIn = createSignIn({
      identity: { ...config.identity, issuer, clientSecret },
      kafka,
      ...(stores ? { stores } : {}),
      trustedProxies: config.gateway.trustedProxies,
      logger,
    });
    signIn.start();
    lifecycle.defer('sign-in', () => signIn?.stop());
    // An account the erasure saga suspends loses its sessions (auth/suspension.ts).
    await kafka.subscribe('system-events', SESSIONS_GROUP, signIn.onSystemEvent);
  }
  const gateway = createGateway({
    supergraphSdl,
    host: config.host,
    port: config.ports.gateway,
    maxDepth: config.gateway.maxDepth,
    maxFields: config.gateway.maxFields,
    maxBodyBytes: config.gateway.maxBodyBytes,
    corsOrigins: config.gateway.corsOrigins,
    apolloTelemetry: config.gateway.apolloTelemetry,
    production,
    logger,
    metrics,
    internalTokenSecret,
    authenticate: authenticator(production, signIn?.authenticate),
    webSocketKeepAliveMs: config.gateway.webSocketKeepAliveMs,
    rateLimits: config.gateway.rateLimits,
    trustedProxies: config.gateway.trustedProxies,
    ...(signIn ? { routes: signIn.routes } : {}),
    webApp: await createWebApp(config.gateway.webAppDir),
    ...(kafka
      ? {
          subscriptions: {
            kafka,
            queueLimit: config.gateway.subscriptionQueueLimit,
            recentEvents: config.gateway.subscriptionRecentEvents,
          },
        }
      : {}),
  });
  const { url } = await gateway.start();
  lifecycle.defer('gateway', () => gateway.stop());
  if (cluster.isWorker) {
    reportReady(url);
    logger.info('gateway worker ready', { url, worker: cluster.worker?.id });
  } else {
    console.log(`Gateway ready at ${url}`);
  }
  if (!production && !cluster.isWorker) {
    console.log(`GraphiQL (works offline) at ${new URL('/graphiql', url).href}`);
  }
  if (signIn && !cluster.isWorker)
    console.log(`Sign in at ${config.identity.publicUrl}/auth/login (issuer ${issuer})`);

  stopOnSignals(
    'gateway',
    () => lifecycle.stop(),
    logger,
    undefined,
    // A worker stops when its primary says so (SIGTERM); a terminal's Ctrl+C reaches the whole
    // process group, and the primary turns it into that SIGTERM.
    cluster.isWorker ? ['SIGTERM'] : ['SIGINT', 'SIGTERM'],
  );
  if (cluster.isWorker) process.on('SIGINT', () => undefined);
}

runMain('Gateway', main);
