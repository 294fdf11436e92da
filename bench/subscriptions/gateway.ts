/**
 * The gateway of `bench:subscriptions`, in a process of its own so its memory and CPU are its own:
 *
 *   node --import tsx bench/subscriptions/gateway.ts --supergraph FILE --brokers HOST:PORT[,...]
 *     --topic-prefix P --internal-token-secret-file FILE
 *
 * As `gateway/main.ts` starts it, minus sign-in: `createGateway` with the configured limits,
 * production mode, live subscriptions fed by a KafkaService `api-gateway` (its queue limit and
 * recent events from SUBSCRIPTION_QUEUE_LIMIT and SUBSCRIPTION_RECENT_EVENTS), and callers
 * identified by the development `x-identity` (HTTP header, or graphql-ws `connectionParams`),
 * as in bench/gateways-benchmark/gateway-process.ts. Listens on 127.0.0.1 and a free port,
 * reports `{ type: 'listening', url }`, answers `stats`, stops when the parent's channel closes.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config';
import { KafkaService } from '../../events';
import { createGateway } from '../../gateway/gateway';
import { developmentIdentityHeader } from '../../gateway/identity';
import { createLogger } from '../../lib/logger';
import { serveParent, toParent } from '../gateways-benchmark/processes';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      supergraph: { type: 'string' },
      brokers: { type: 'string' },
      'topic-prefix': { type: 'string' },
      'internal-token-secret-file': { type: 'string' },
    },
  });
  const brokers = values.brokers?.split(',').filter(Boolean) ?? [];
  const topicPrefix = values['topic-prefix'];
  const secretFile = values['internal-token-secret-file'];
  if (
    values.supergraph === undefined ||
    brokers.length === 0 ||
    topicPrefix === undefined ||
    secretFile === undefined
  ) {
    throw new Error(
      'usage: gateway.ts --supergraph FILE --brokers HOST:PORT --topic-prefix P --internal-token-secret-file FILE',
    );
  }
  const config = loadConfig();
  const logger = createLogger('warn', { service: 'bench-subscriptions-gateway' });
  const kafka = new KafkaService('api-gateway', {
    brokers,
    topicPrefix,
    partitions: config.kafka.topicPartitions,
    replicationFactor: config.kafka.replicationFactor,
    announce: false,
    logger,
  });
  await kafka.start();
  const gateway = createGateway({
    supergraphSdl: readFileSync(values.supergraph, 'utf8'),
    host: '127.0.0.1',
    port: 0,
    maxDepth: config.gateway.maxDepth,
    maxFields: config.gateway.maxFields,
    maxBodyBytes: config.gateway.maxBodyBytes,
    corsOrigins: [],
    production: true,
    logger,
    internalTokenSecret: readFileSync(secretFile, 'utf8').trim(),
    authenticate: developmentIdentityHeader,
    subscriptions: {
      kafka,
      queueLimit: config.gateway.subscriptionQueueLimit,
      recentEvents: config.gateway.subscriptionRecentEvents,
    },
  });
  serveParent(async () => {
    await gateway.stop();
    await kafka.stop();
  });
  const { url } = await gateway.start();
  await toParent({ type: 'listening', url });
}

main().catch((error: unknown) => {
  const message = `The gateway failed to start: ${error instanceof Error ? error.message : String(error)}`;
  console.error(message);
  void toParent({ type: 'error', message }).then(() => process.exit(1));
});
