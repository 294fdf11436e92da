/**
 * Entry point of the users subgraph: `npx tsx subgraphs/users/main.ts`.
 *
 * Reads configuration once; a bad environment prints every problem and exits 1. It needs a
 * Kafka cluster (KAFKA_BROKERS); `npm start` starts a local one and this subgraph with it.
 * It needs INTERNAL_TOKEN_SECRET, the key of the gateway's internal tokens (`npm start`
 * generates one).
 * Listens on USERS_PORT and stops cleanly on SIGINT/SIGTERM; a second signal exits at once.
 */
import { ConfigError, loadConfig, type PlatformConfig } from '../../config';
import { createLogger } from '../../lib/logger';
import { createSubgraph } from '../shared/subgraph';
import { usersSubgraph } from './server';

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
      'The users subgraph needs Kafka: set KAFKA_BROKERS (e.g. KAFKA_BROKERS=127.0.0.1:9092), or use `npm start`, which starts a local broker.',
    );
    process.exit(1);
  }
  const internalTokenSecret = config.identity.internalTokenSecret;
  if (!internalTokenSecret) {
    console.error(
      'The users subgraph needs INTERNAL_TOKEN_SECRET, the key of the tokens the gateway signs (the same value for the gateway and every subgraph, at least 32 characters); `npm start` generates one.',
    );
    process.exit(1);
  }
  const logger = createLogger(config.logLevel, { service: 'users' });
  const subgraph = createSubgraph(usersSubgraph, {
    host: config.host,
    port: config.subgraphs.users,
    database: config.database,
    kafka: { ...config.kafka, brokers },
    production: config.environment === 'production',
    internalTokenSecret,
    logger,
  });
  const { url } = await subgraph.start();
  console.log(`Users subgraph ready at ${url}`);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      // A stop that hangs (e.g. a Kafka consumer stuck in a rebalance) must not leave an
      // operator without a way out: the second signal exits at once.
      logger.warn('second signal while stopping; exiting now', { signal });
      process.exit(1);
    }
    stopping = true;
    logger.info('stopping users subgraph', { signal });
    subgraph.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('users subgraph did not stop cleanly', { error });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(
    `Users subgraph failed to start: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
});
