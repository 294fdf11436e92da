/**
 * The platform's own three subgraphs (users, interviews, reporting) in one process, for the
 * gateway benchmark's platform graph:
 *
 *   node --import tsx bench/platform/subgraphs.ts --brokers HOST:PORT[,...] --topic-prefix P
 *     --data-dir DIR --internal-token-secret-file FILE
 *
 * Each runs through `createSubgraph` as deployed (its own SQLite database in `--data-dir`, Kafka
 * service, outbox relay and consumers, requests only with an internal token signed with the key
 * in the file), on 127.0.0.1 and a free port. Sends
 * `{ type: 'subgraphs', urls }` to the parent once all three listen; answers `stats` and stops
 * when the parent's IPC channel closes (see ../gateways-benchmark/processes.ts).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config';
import { createLogger } from '../../lib/logger';
import { interviewsSubgraph } from '../../subgraphs/interviews/server';
import { reportingSubgraph } from '../../subgraphs/reporting/server';
import {
  createSubgraph,
  type Subgraph,
  type SubgraphDefinition,
} from '../../subgraphs/shared/subgraph';
import { usersSubgraph } from '../../subgraphs/users/server';
import { serveParent, toParent } from '../gateways-benchmark/processes';
import type { PlatformSubgraphName } from './supergraph';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      brokers: { type: 'string' },
      'topic-prefix': { type: 'string' },
      'data-dir': { type: 'string' },
      'internal-token-secret-file': { type: 'string' },
    },
  });
  const brokers = values.brokers?.split(',').filter(Boolean) ?? [];
  const topicPrefix = values['topic-prefix'];
  const dataDir = values['data-dir'];
  const secretFile = values['internal-token-secret-file'];
  if (
    brokers.length === 0 ||
    topicPrefix === undefined ||
    dataDir === undefined ||
    secretFile === undefined
  ) {
    throw new Error(
      'usage: subgraphs.ts --brokers HOST:PORT --topic-prefix P --data-dir DIR --internal-token-secret-file FILE',
    );
  }
  const internalTokenSecret = readFileSync(secretFile, 'utf8').trim();
  const config = loadConfig();
  // Errors only: a fresh broker makes kafkajs warn about benign start-up races (coordinator
  // loading, leaders moving, topics created concurrently by the three services).
  const logger = createLogger('error', { service: 'bench-platform-subgraphs' });

  const started: Subgraph[] = [];
  const stop = async () => {
    for (const subgraph of [...started].reverse()) await subgraph.stop();
  };
  serveParent(stop);

  const urls: Partial<Record<PlatformSubgraphName, string>> = {};
  const startOne = async <C extends object>(
    name: PlatformSubgraphName,
    definition: SubgraphDefinition<C>,
  ) => {
    const subgraph = createSubgraph(definition, {
      host: '127.0.0.1',
      port: 0,
      // SQLite always, in the benchmark's own folder: a fresh database per run.
      database: { url: undefined, dataDir },
      kafka: { ...config.kafka, brokers },
      topicPrefix,
      production: true,
      internalTokenSecret,
      logger: logger.child({ subgraph: name }),
    });
    started.push(subgraph);
    urls[name] = (await subgraph.start()).url;
  };
  try {
    await startOne('users', usersSubgraph);
    await startOne('interviews', interviewsSubgraph);
    await startOne('reporting', reportingSubgraph);
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
  console.log(
    `Platform subgraphs at ${Object.entries(urls)
      .map(([name, url]) => `${name}=${url}`)
      .join(' ')}`,
  );
  await toParent({ type: 'subgraphs', urls: urls as Record<PlatformSubgraphName, string> });
}

main().catch((error: unknown) => {
  const message = `Platform subgraphs failed to start: ${error instanceof Error ? error.message : String(error)}`;
  console.error(message);
  void toParent({ type: 'error', message }).then(() => process.exit(1));
});
