/**
 * Entry point of the reporting subgraph: `npx tsx subgraphs/reporting/main.ts`.
 *
 * Reads configuration once, needs a Kafka cluster (KAFKA_BROKERS; `npm start` provides a local
 * one) and INTERNAL_TOKEN_SECRET (the key of the gateway's internal tokens; `npm start` generates
 * one), listens on REPORTING_PORT, and stops cleanly on SIGINT/SIGTERM (exit 1 if that takes over
 * 15 s). A bad environment prints every problem and exits 1.
 */
import { ConfigError, loadConfig, type PlatformConfig } from '../../config';
import { createLogger } from '../../lib/logger';
import { createSubgraph } from '../shared/subgraph';
import { reportingSubgraph } from './server';

/** How long a clean stop may take after SIGINT/SIGTERM before the process exits anyway. */
const STOP_TIMEOUT_MS = 15_000;

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
      'The reporting subgraph needs Kafka: set KAFKA_BROKERS (e.g. KAFKA_BROKERS=127.0.0.1:9092) or use `npm start`, which starts a local broker',
    );
    process.exit(1);
  }
  const internalTokenSecret = config.identity.internalTokenSecret;
  if (!internalTokenSecret) {
    console.error(
      'The reporting subgraph needs INTERNAL_TOKEN_SECRET, the key of the tokens the gateway signs (the same value for the gateway and every subgraph, at least 32 characters); `npm start` generates one.',
    );
    process.exit(1);
  }
  const logger = createLogger(config.logLevel, { service: 'reporting' });
  const subgraph = createSubgraph(reportingSubgraph, {
    host: config.host,
    port: config.subgraphs.reporting,
    database: config.database,
    kafka: { ...config.kafka, brokers },
    production: config.environment === 'production',
    internalTokenSecret,
    logger,
  });
  const { url } = await subgraph.start();
  console.log(`Reporting subgraph ready at ${url}`);

  let stopping = false;
  const shutdown = (signal: string) => {
    // Apollo Server re-raises the signal once it has drained, so later signals are ignored here.
    if (stopping) return;
    stopping = true;
    logger.info('stopping reporting subgraph', { signal });
    // A stop that hangs (e.g. a broker that stopped answering) must not keep the process alive.
    setTimeout(() => {
      logger.error('reporting subgraph did not stop in time; exiting', {
        timeoutMs: STOP_TIMEOUT_MS,
      });
      process.exit(1);
    }, STOP_TIMEOUT_MS).unref();
    subgraph.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('reporting subgraph did not stop cleanly', { error });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(
    `Reporting subgraph failed to start: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
});
