/**
 * The entry point every subgraph shares: reads configuration once (a bad environment prints
 * every problem and exits 1), needs KAFKA_BROKERS and INTERNAL_TOKEN_SECRET (`npm start`
 * provides both), serves on the subgraph's port, and stops cleanly on SIGINT/SIGTERM, giving up
 * with exit 1 when a stop hangs.
 */
import { loadConfigOrExit, loadSubgraphConfig } from '../../config';
import type { SubgraphName } from '../../config/services';
import { createProcessLogger } from '../../lib/logger';
import { startTracing } from '../../lib/tracing';
import { runMain, stopOnSignals } from '../../lib/process';
import { createSubgraph, type SubgraphDefinition } from './subgraph';

/**
 * Runs the subgraph `name` as this process's entry point (see the module's comment); it returns
 * at once, the process living on until a signal stops it. A failure to start prints one line and
 * exits 1.
 * @param name - picks the subgraph's port from the configuration, and names it in logs.
 */
export function runSubgraph<TContext extends object>(
  name: SubgraphName,
  definition: SubgraphDefinition<TContext>,
): void {
  const title = `The ${name} subgraph`;
  const main = async () => {
    const config = loadConfigOrExit(loadSubgraphConfig);
    const logger = createProcessLogger(config, { service: name });
    const tracing = await startTracing({
      service: `${name}-service`,
      endpoint: config.otlpEndpoint,
    });
    const subgraph = createSubgraph(definition, {
      host: config.host,
      port: config.ports[name],
      database: config.database,
      kafka: config.kafka,
      production: config.environment === 'production',
      internalTokenSecret: config.identity.internalTokenSecret,
      logger,
    });
    const { url } = await subgraph.start();
    console.log(`${title} is ready at ${url}`);

    stopOnSignals(
      `${name} subgraph`,
      async () => {
        await subgraph.stop();
        await tracing?.stop();
      },
      logger,
    );
  };
  runMain(title, main);
}
