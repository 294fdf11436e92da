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
 *
 * `--workers N` (N > 1) runs it as GATEWAY_WORKERS=N does: N worker processes on one port
 * (node:cluster), each a whole gateway with its own Kafka feed. This process is then their
 * primary: it reports once every worker listens, and answers `stats` with its own and every
 * worker's RSS and CPU time summed.
 */
import cluster, { type Worker } from 'node:cluster';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config';
import { KafkaService } from '../../events';
import { createGateway } from '../../gateway/gateway';
import { developmentIdentityHeader } from '../../gateway/identity';
import { createLogger } from '../../lib/logger';
import { serveParent, toParent } from '../gateways-benchmark/processes';
import { ownUsage } from '../lib/usage';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      supergraph: { type: 'string' },
      brokers: { type: 'string' },
      'topic-prefix': { type: 'string' },
      'internal-token-secret-file': { type: 'string' },
      workers: { type: 'string' },
    },
  });
  const workers = Number(values.workers ?? '1');
  if (!Number.isInteger(workers) || workers < 1) throw new Error('--workers must be 1 or more');
  if (workers > 1 && cluster.isPrimary) return runPrimary(workers);
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
  const stop = async () => {
    await gateway.stop();
    await kafka.stop();
  };
  if (cluster.isWorker) {
    // The primary asks for stats and says when to stop, over the cluster channel.
    process.on('message', (message: { type?: string }) => {
      if (message.type === 'stats') process.send?.({ type: 'stats', ...ownUsage() });
      if (message.type === 'stop') void stop().then(() => process.exit(0));
    });
    const { url } = await gateway.start();
    process.send?.({ type: 'listening', url });
    return;
  }
  serveParent(stop);
  const { url } = await gateway.start();
  await toParent({ type: 'listening', url });
}

/** The primary of `--workers N`: forks, reports when all listen, sums stats, stops them. */
async function runPrimary(count: number): Promise<void> {
  const workers: Worker[] = Array.from({ length: count }, () => cluster.fork());
  const next = (worker: Worker, type: string) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const onMessage = (message: Record<string, unknown>) => {
        if (message.type !== type) return;
        worker.off('message', onMessage);
        resolve(message);
      };
      worker.on('message', onMessage);
    });
  const [first] = await Promise.all(workers.map((worker) => next(worker, 'listening')));
  process.on('message', (message: { type?: string }) => {
    if (message.type !== 'stats') return;
    void Promise.all(
      workers.map(async (worker) => {
        const reply = next(worker, 'stats');
        worker.send({ type: 'stats' });
        return (await reply) as { rssBytes: number; cpuMicros: number };
      }),
    ).then((replies) => {
      const own = ownUsage();
      void toParent({
        type: 'stats',
        rssBytes: replies.reduce((sum, r) => sum + r.rssBytes, own.rssBytes),
        cpuMicros: replies.reduce((sum, r) => sum + r.cpuMicros, own.cpuMicros),
      });
    });
  });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    const exits = workers.map(
      (w) => new Promise<void>((resolve) => w.once('exit', () => resolve())),
    );
    for (const worker of workers) worker.send({ type: 'stop' });
    void Promise.all(exits).then(() => process.exit(0));
  };
  process.on('disconnect', stop);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await toParent({ type: 'listening', url: String(first?.url) });
}

main().catch((error: unknown) => {
  const message = `The gateway failed to start: ${error instanceof Error ? error.message : String(error)}`;
  console.error(message);
  void toParent({ type: 'error', message }).then(() => process.exit(1));
});
