/**
 * `npm run kafka`: runs the local Kafka broker in the foreground until Ctrl+C, unless
 * KAFKA_BROKERS names an existing cluster, in which case it starts nothing.
 *
 * Flags override the LOCAL_KAFKA_* environment:
 *   --brokers N       run a cluster of N nodes (1-9; default LOCAL_KAFKA_NODES, 1)
 *   --port N          client port on 127.0.0.1 (0 = any free port); a cluster's first node's
 *   --data-dir D      broker data directory
 *   --fresh           delete the data directory first (only one this tool created)
 *   --ready-file F    once ready, write the bootstrap servers (e.g. 127.0.0.1:9092,...) to F
 *
 * Exit codes: 0 clean stop or nothing to do, 1 configuration or broker failure, 2 bad flags.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type PlatformConfig } from '../../config';
import { MAX_LOCAL_NODES, startLocalKafkaCluster, type LocalKafkaCluster } from './local-cluster';
import { LocalKafkaError } from './errors';
import { SERVER_PROPERTIES_HEADER } from './properties';

interface Flags {
  brokers?: number;
  port?: number;
  dataDir?: string;
  fresh: boolean;
  readyFile?: string;
}

/** A problem with the command line; reported in one line, exit code 2. */
class UsageError extends Error {}

const USAGE =
  'usage: npm run kafka -- [--brokers N] [--port N] [--data-dir D] [--fresh] [--ready-file F]';

function parseFlags(argv: string[]): Flags {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        brokers: { type: 'string' },
        port: { type: 'string' },
        'data-dir': { type: 'string' },
        fresh: { type: 'boolean', default: false },
        'ready-file': { type: 'string' },
      },
    }));
  } catch (error) {
    // parseArgs messages are already one readable line, e.g. "Unknown option '--prot'".
    throw new UsageError(`${(error as Error).message.split('\n')[0] ?? 'bad arguments'}. ${USAGE}`);
  }
  const flags: Flags = { fresh: values.fresh === true };
  if (values.brokers !== undefined) {
    const brokers = Number(values.brokers);
    if (!/^\d+$/.test(values.brokers) || brokers < 1 || brokers > MAX_LOCAL_NODES) {
      throw new UsageError(
        `--brokers must be 1-${MAX_LOCAL_NODES} (nodes of the local cluster), got "${values.brokers}".`,
      );
    }
    flags.brokers = brokers;
  }
  if (values.port !== undefined) {
    const port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port > 65_535) {
      throw new UsageError(`--port must be 0-65535 (0 = any free port), got "${values.port}".`);
    }
    flags.port = port;
  }
  if (values['data-dir'] !== undefined) {
    if (values['data-dir'].trim() === '') throw new UsageError('--data-dir must not be empty.');
    flags.dataDir = values['data-dir'];
  }
  if (values['ready-file'] !== undefined) {
    if (values['ready-file'].trim() === '') throw new UsageError('--ready-file must not be empty.');
    flags.readyFile = values['ready-file'];
  }
  return flags;
}

/**
 * `--fresh` deletes recursively, so it only deletes what is plainly a local broker's data dir:
 * missing, empty, or holding the server.properties this tool writes. A mistyped `--data-dir ~`
 * must not wipe a home directory.
 */
async function wipeDataDir(dataDir: string): Promise<void> {
  const entries = await fs.readdir(dataDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (entries === undefined || entries.length === 0) return;
  const written = async (file: string) =>
    (await fs.readFile(path.join(dataDir, file), 'utf8').catch(() => '')).startsWith(
      SERVER_PROPERTIES_HEADER,
    );
  if (!(await written('server.properties')) && !(await written('cluster.properties'))) {
    throw new UsageError(
      `--fresh refuses to delete ${dataDir}: it does not look like a local Kafka data dir (no server.properties or cluster.properties written by this tool).`,
    );
  }
  await fs.rm(dataDir, { recursive: true, force: true });
}

async function main(): Promise<number> {
  let flags: Flags;
  try {
    flags = parseFlags(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }

  let config: PlatformConfig;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      return 1;
    }
    throw error;
  }

  if (config.kafka.brokers !== undefined) {
    console.log(
      `KAFKA_BROKERS is set (${config.kafka.brokers.join(',')}): using that cluster, no local broker started.`,
    );
    return 0;
  }

  const { version, heapMb } = config.localKafka;
  const nodes = flags.brokers ?? config.localKafka.nodes;
  const port = flags.port ?? config.localKafka.port;
  const dataDir = path.resolve(flags.dataDir ?? config.localKafka.dataDir);

  try {
    if (flags.fresh) await wipeDataDir(dataDir);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }

  let kafka: LocalKafkaCluster;
  try {
    kafka = await startLocalKafkaCluster({
      nodes,
      version,
      port,
      dataDir,
      heapMb,
      log: (line) => console.log(line),
    });
  } catch (error) {
    if (error instanceof LocalKafkaError) {
      console.error(error.message);
      return 1;
    }
    throw error;
  }

  const bootstrap = kafka.brokers.join(',');
  if (flags.readyFile !== undefined) {
    // Written whole, then renamed: a CI script polling for the file never reads half of it.
    const readyFile = path.resolve(flags.readyFile);
    await fs.mkdir(path.dirname(readyFile), { recursive: true });
    await fs.writeFile(`${readyFile}.tmp`, `${bootstrap}\n`);
    await fs.rename(`${readyFile}.tmp`, readyFile);
  }
  const what = nodes === 1 ? 'Kafka' : `Kafka cluster of ${nodes} nodes,`;
  console.log(`${what} ${version} ready: KAFKA_BROKERS=${bootstrap}`);
  for (const [i, node] of kafka.nodes.entries()) {
    console.log(`${nodes === 1 ? 'Broker' : `Node ${i + 1}`} log: ${node.logFile}`);
  }
  console.log('Ctrl+C stops Kafka');

  let stopRequested = false;
  const outcome = await new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopRequested) return;
      stopRequested = true;
      console.log(`${signal}: stopping Kafka...`);
      kafka.stop().then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    void kafka.exited.then(({ node, code, signal }) => {
      if (stopRequested) return;
      const how = signal === null ? `exit code ${code}` : `signal ${signal}`;
      console.error(
        `Kafka${nodes === 1 ? '' : ` node ${node}`} exited unexpectedly (${how}); see ${kafka.nodes[node - 1]?.logFile}`,
      );
      // A cluster outlives one node (that is what it is for); it stops when asked.
      if (nodes === 1) resolve(1);
    });
  });
  if (outcome === 0) console.log('Kafka stopped.');
  return outcome;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
