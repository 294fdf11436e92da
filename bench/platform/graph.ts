/**
 * Sets up the gateway benchmark's platform graph: a broker, the three subgraphs in a process of
 * their own (fresh SQLite databases, a random topic prefix), seed data through events and GraphQL,
 * the supergraph composed for their ports, and the load's requests with reference answers.
 *
 * Everything lives in one temp folder (broker data, databases, supergraph, workload file). The
 * caller owns the processes and cleanup: `spawn` must track the children it starts, and `defer`
 * collects steps to run, in reverse order, after every child has stopped (deleting the topics and
 * groups, stopping the broker, removing the folder).
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import { join } from 'node:path';
import type { Child } from '../gateways-benchmark/processes';
import { startRunBroker } from './broker';
import { seedPlatform } from './seed';
import {
  composePlatformSupergraph,
  PLATFORM_SUBGRAPHS,
  type PlatformSubgraphName,
} from './supergraph';
import { dashboardWorkload } from './workload';

/** What `preparePlatformGraph` needs of its caller. */
export interface PlatformGraphDeps {
  /** Starts `file` as a child (see processes.ts `spawnChild`), tracked by the caller. */
  spawn(file: string, args: string[]): Child;
  stop(child: Child): Promise<void>;
  /** Registers a cleanup step. */
  defer(step: () => Promise<void>): void;
  log(line: string): void;
  users: number;
}

/** The platform graph, ready for gateways and load: what `preparePlatformGraph` resolves. */
export interface PlatformGraph {
  /** The subgraphs' process (for its CPU time). */
  subgraphs: Child;
  /** Arguments of gateway-process.ts. */
  gatewayArgs: string[];
  /** Arguments of load.ts. */
  loadArgs: string[];
}

/**
 * Starts bench/platform/subgraphs.ts (users, interviews and reporting in one process, databases
 * in `dataDir`) with `spawn`, and resolves once it has reported every subgraph's GraphQL URL.
 */
export async function startPlatformSubgraphs(
  spawn: (file: string, args: string[]) => Child,
  options: { brokers: string[]; topicPrefix: string; dataDir: string; secretFile: string },
): Promise<{ subgraphs: Child; urls: Record<PlatformSubgraphName, string> }> {
  const subgraphs = spawn(join(__dirname, 'subgraphs.ts'), [
    '--brokers',
    options.brokers.join(','),
    '--topic-prefix',
    options.topicPrefix,
    '--data-dir',
    options.dataDir,
    '--internal-token-secret-file',
    options.secretFile,
  ]);
  const { urls: reported } = await subgraphs.next('subgraphs', 180_000);
  const urls = Object.fromEntries(
    PLATFORM_SUBGRAPHS.map((name) => {
      const url = reported[name];
      if (url === undefined) throw new Error(`the subgraphs process did not report ${name}`);
      return [name, url];
    }),
  ) as Record<PlatformSubgraphName, string>;
  return { subgraphs, urls };
}

/**
 * Starts the broker and the subgraphs, seeds them, and fetches the reference answers of the
 * dashboard workload through a plain @apollo/gateway; see the file's header.
 */
export async function preparePlatformGraph(deps: PlatformGraphDeps): Promise<PlatformGraph> {
  const { log } = deps;
  const dir = await fsp.mkdtemp(join(os.tmpdir(), 'bench-gateway-platform-'));
  deps.defer(() => fsp.rm(dir, { recursive: true, force: true }));

  // The internal token key of this run's subgraphs and gateways, in a file only we can read.
  const internalTokenSecret = randomBytes(48).toString('base64url');
  const secretFile = join(dir, 'internal-token-secret');
  await fsp.writeFile(secretFile, internalTokenSecret, { mode: 0o600 });
  const secretArgs = ['--internal-token-secret-file', secretFile];

  const { broker, topicPrefix } = await startRunBroker({
    dataDir: join(dir, 'kafka'),
    name: 'bench-gateway',
    log,
    defer: deps.defer,
  });

  const { subgraphs, urls } = await startPlatformSubgraphs(deps.spawn, {
    brokers: broker.brokers,
    topicPrefix,
    dataDir: join(dir, 'data'),
    secretFile,
  });

  const users = await seedPlatform({
    brokers: broker.brokers,
    topicPrefix,
    urls,
    internalTokenSecret,
    users: deps.users,
    log,
  });

  const supergraphFile = join(dir, 'supergraph.graphql');
  await fsp.writeFile(supergraphFile, composePlatformSupergraph(urls));
  const gatewayArgs = ['--supergraph', supergraphFile, '--identity', ...secretArgs];

  // Reference answers, fetched once through a plain @apollo/gateway (the reference
  // implementation) and checked against the seed; both gateways are held to them.
  const reference = deps.spawn(join(__dirname, '..', 'gateways-benchmark', 'gateway-process.ts'), [
    '--kind',
    'plain',
    ...gatewayArgs,
  ]);
  let workload: Awaited<ReturnType<typeof dashboardWorkload>>;
  try {
    const { url } = await reference.next('listening', 60_000);
    workload = await dashboardWorkload(url, users);
  } finally {
    await deps.stop(reference);
  }
  const workloadFile = join(dir, 'workload.json');
  await fsp.writeFile(workloadFile, JSON.stringify({ cases: workload.cases }));
  log(
    `  reference dashboards of ${users.length} users fetched (${(workload.bytes / 1024).toFixed(1)} KB each on average)`,
  );
  return { subgraphs, gatewayArgs, loadArgs: ['--workload', workloadFile] };
}
