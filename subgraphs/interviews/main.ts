/**
 * Entry point of the interviews subgraph: `npx tsx subgraphs/interviews/main.ts` (or, with the
 * whole platform and a local broker, `npm start`).
 *
 * Reads configuration once, needs KAFKA_BROKERS and INTERNAL_TOKEN_SECRET (the key of the
 * gateway's internal tokens; `npm start` generates one), serves on INTERVIEWS_PORT and stops cleanly on
 * SIGINT/SIGTERM. A bad environment prints every problem and exits 1.
 */
import { ConfigError, loadConfig, type PlatformConfig } from '../../config';
import { createLogger } from '../../lib/logger';
import { createSubgraph } from '../shared/subgraph';
import { interviewsSubgraph } from './server';

/** How long a clean stop may take before the process gives up and exits 1. */
const STOP_DEADLINE_MS = 10_000;

async function main(): Promise<void> {
  let config: PlatformConfig;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const brokers = config.kafka.brokers;
  if (!brokers) {
    console.error(
      'KAFKA_BROKERS is not set: set it to your Kafka cluster (e.g. KAFKA_BROKERS=127.0.0.1:9092), or use `npm start`, which starts a local broker',
    );
    process.exit(1);
  }
  const internalTokenSecret = config.identity.internalTokenSecret;
  if (!internalTokenSecret) {
    console.error(
      'The interviews subgraph needs INTERNAL_TOKEN_SECRET, the key of the tokens the gateway signs (the same value for the gateway and every subgraph, at least 32 characters); `npm start` generates one.',
    );
    process.exit(1);
  }
  const logger = createLogger(config.logLevel, { service: 'interviews' });
  const subgraph = createSubgraph(interviewsSubgraph, {
    host: config.host,
    port: config.subgraphs.interviews,
    database: config.database,
    kafka: { ...config.kafka, brokers },
    production: config.environment === 'production',
    internalTokenSecret,
    logger,
  });
  const { url } = await subgraph.start();
  console.log(`Interviews subgraph ready at ${url}`);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping interviews subgraph', { signal });
    // A stop that hangs (a stuck socket, a library bug) must not keep the process alive.
    setTimeout(() => {
      logger.error('interviews subgraph did not stop in time', { deadlineMs: STOP_DEADLINE_MS });
      process.exit(1);
    }, STOP_DEADLINE_MS).unref();
    subgraph.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('interviews subgraph did not stop cleanly', { error });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(
    `Interviews subgraph failed to start: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
});
