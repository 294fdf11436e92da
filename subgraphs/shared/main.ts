/**
 * The entry point every subgraph shares: reads configuration once (a bad environment prints
 * every problem and exits 1), needs KAFKA_BROKERS and INTERNAL_TOKEN_SECRET (`npm start`
 * provides both), serves on the subgraph's port, and stops cleanly on SIGINT/SIGTERM, giving up
 * with exit 1 when a stop hangs.
 */
import { loadConfigOrExit, type PlatformConfig } from '../../config';
import { createLogger } from '../../lib/logger';
import { runMain, stopOnSignals } from '../../lib/process';
import { createSubgraph, type SubgraphDefinition } from './subgraph';

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

    stopOnSignals(`${name} subgraph`, () => subgraph.stop(), logger);
  };
  runMain(title, main);
}
