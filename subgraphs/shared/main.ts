/**
 * The entry point every subgraph shares: reads configuration once (a bad environment prints
 * every problem and exits 1), needs KAFKA_BROKERS and INTERNAL_TOKEN_SECRET (`npm start`
 * provides both), serves on the subgraph's port, and stops cleanly on SIGINT/SIGTERM, giving up
 * with exit 1 when a stop hangs.
 */
import { loadConfigOrExit, type PlatformConfig } from '../../config';
import { createLogger } from '../../lib/logger';
import { createSubgraph, type SubgraphDefinition } from './subgraph';

/** How long a clean stop may take before the process gives up and exits 1. */
const STOP_DEADLINE_MS = 15_000;

type SubgraphName = keyof PlatformConfig['subgraphs'];

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

export function runSubgraph<TContext extends object>(
  name: SubgraphName,
  definition: SubgraphDefinition<TContext>,
): void {
  const title = `The ${name} subgraph`;
  const main = async () => {
    const config = loadConfigOrExit();
    const brokers =
      config.kafka.brokers ??
      fail(
        `${title} needs Kafka: set KAFKA_BROKERS (e.g. KAFKA_BROKERS=127.0.0.1:9092), or use \`npm start\`, which starts a local broker`,
      );
    const internalTokenSecret =
      config.identity.internalTokenSecret ??
      fail(
        `${title} needs INTERNAL_TOKEN_SECRET, the key of the tokens the gateway signs (the same value for the gateway and every subgraph, at least 32 characters); \`npm start\` generates one.`,
      );
    const logger = createLogger(config.logLevel, { service: name });
    const subgraph = createSubgraph(definition, {
      host: config.host,
      port: config.subgraphs[name],
      database: config.database,
      kafka: { ...config.kafka, brokers },
      production: config.environment === 'production',
      internalTokenSecret,
      logger,
    });
    const { url } = await subgraph.start();
    console.log(`${title} is ready at ${url}`);

    let stopping = false;
    const shutdown = (signal: string) => {
      // A second signal means "now".
      if (stopping) process.exit(1);
      stopping = true;
      logger.info(`stopping the ${name} subgraph`, { signal });
      // A stop that hangs (a stuck socket, a library bug) must not keep the process alive.
      setTimeout(() => {
        logger.error(`the ${name} subgraph did not stop in time`, { deadlineMs: STOP_DEADLINE_MS });
        process.exit(1);
      }, STOP_DEADLINE_MS).unref();
      subgraph.stop().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error(`the ${name} subgraph did not stop cleanly`, { error });
          process.exit(1);
        },
      );
    };
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
  };
  main().catch((error: unknown) => {
    console.error(
      `${title} failed to start: ${error instanceof Error ? error.message : String(error)}`,
    );
    process.exit(1);
  });
}
