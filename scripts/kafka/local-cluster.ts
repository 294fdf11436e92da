/**
 * A local Kafka cluster: N KRaft nodes on 127.0.0.1, each a combined broker and controller
 * started by `startLocalKafka` in `<dataDir>/node-<id>`, all voters of one static controller
 * quorum. With three nodes the cluster keeps serving when any one of them dies: the platform then
 * creates its topics with three replicas and `min.insync.replicas=2`.
 *
 * `<dataDir>/cluster.properties` records the cluster id and every node's ports, so a restarted
 * cluster (or node) comes back where it was. One node is `startLocalKafka` as ever, in `dataDir`.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { LocalKafkaError } from './errors';
import {
  newClusterId,
  startLocalKafka,
  type LocalKafka,
  type LocalKafkaOptions,
} from './local-kafka';
import { freePort, HOST, isPortFree } from './ports';
import { SERVER_PROPERTIES_HEADER } from './properties';
import { readOrUndefined } from './system';

/** Several JVMs starting at once on a small machine take a while. */
const CLUSTER_READY_TIMEOUT_MS = 180_000;
/** The most nodes `startLocalKafkaCluster` (and `npm run kafka -- --brokers`) runs. */
export const MAX_LOCAL_NODES = 9;

/** What `startLocalKafkaCluster` starts: a node's options, and how many nodes. */
export interface LocalKafkaClusterOptions extends Omit<LocalKafkaOptions, 'node'> {
  /** Number of nodes, 1-9. `port` is then the first node's client port, the others follow it. */
  nodes: number;
}

/** A started cluster, as `startLocalKafkaCluster` resolves it. */
export interface LocalKafkaCluster {
  /** Every node's client address: the bootstrap list. */
  brokers: string[];
  /** By node id: `nodes[0]` is node 1. A node restarted by `restart()` replaces its entry. */
  nodes: LocalKafka[];
  dataDir: string;
  /** Resolves when a node's process exits unless `stop()` stopped it; never rejects. */
  exited: Promise<{ node: number; code: number | null; signal: NodeJS.Signals | null }>;
  /** Starts node `id` again (after it died or was stopped), on its ports and storage. */
  restart(id: number): Promise<LocalKafka>;
  /** Stops every node. Idempotent. */
  stop(): Promise<void>;
}

interface ClusterLayout {
  clusterId: string;
  clientPorts: number[];
  controllerPorts: number[];
}

const LAYOUT_FILE = 'cluster.properties';

/**
 * Starts a cluster of `options.nodes` nodes and resolves once every one of them serves clients
 * and the cluster's metadata lists them all.
 * @throws {LocalKafkaError} as `startLocalKafka` does, or when `dataDir` holds a cluster of
 * another size.
 */
export async function startLocalKafkaCluster(
  options: LocalKafkaClusterOptions,
): Promise<LocalKafkaCluster> {
  const { nodes: size, ...common } = options;
  if (!Number.isInteger(size) || size < 1 || size > MAX_LOCAL_NODES) {
    throw new LocalKafkaError(
      `A local Kafka cluster has 1 to ${MAX_LOCAL_NODES} nodes, not ${size}.`,
    );
  }
  const dataDir = path.resolve(options.dataDir);
  if (size === 1) return single(await startLocalKafka({ ...common, dataDir }));

  await fsp.mkdir(dataDir, { recursive: true });
  const layout = await planLayout(dataDir, size, options.port);
  const stopped = new Set<number>();
  let stopping = false;
  let reportExit: (exit: Awaited<LocalKafkaCluster['exited']>) => void = () => {};
  const exited = new Promise<Awaited<LocalKafkaCluster['exited']>>((resolve) => {
    reportExit = resolve;
  });

  const startNode = async (id: number): Promise<LocalKafka> => {
    stopped.delete(id);
    const node = await startLocalKafka({
      ...common,
      port: layout.clientPorts[id - 1] ?? 0,
      dataDir: path.join(dataDir, `node-${id}`),
      readyTimeoutMs: options.readyTimeoutMs ?? CLUSTER_READY_TIMEOUT_MS,
      log: (line) => options.log?.(`[node ${id}] ${line}`),
      node: { id, controllerPorts: layout.controllerPorts, clusterId: layout.clusterId },
    });
    void node.exited.then(({ code, signal }) => {
      if (!stopping && !stopped.has(id)) reportExit({ node: id, code, signal });
    });
    return node;
  };

  const ids = Array.from({ length: size }, (_, i) => i + 1);
  const started = await Promise.allSettled(ids.map(startNode));
  const nodes = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const stopAll = async (): Promise<void> => {
    stopping = true;
    await Promise.all(nodes.map((n) => n.stop()));
  };
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) {
    await stopAll();
    throw failed.reason;
  }
  const brokers = layout.clientPorts.map((port) => `${HOST}:${port}`);
  try {
    await waitForMembers(brokers, size, options.readyTimeoutMs ?? CLUSTER_READY_TIMEOUT_MS);
  } catch (error) {
    await stopAll();
    throw error;
  }
  return {
    brokers,
    nodes,
    dataDir,
    exited,
    async restart(id) {
      const index = id - 1;
      const previous = nodes[index];
      if (previous === undefined) throw new LocalKafkaError(`No node ${id} in this cluster.`);
      stopped.add(id);
      await previous.stop();
      const node = await startNode(id);
      nodes[index] = node;
      return node;
    },
    stop: stopAll,
  };
}

function single(node: LocalKafka): LocalKafkaCluster {
  return {
    brokers: node.brokers,
    nodes: [node],
    dataDir: node.dataDir,
    exited: node.exited.then((exit) => ({ node: 1, ...exit })),
    async restart() {
      throw new LocalKafkaError('A one-node cluster is restarted by starting it again.');
    },
    stop: () => node.stop(),
  };
}

/**
 * The ports and cluster id of the cluster in `dataDir`: those recorded by its last run when they
 * are still free, new ones otherwise (the voters are static configuration, read on every start).
 */
async function planLayout(
  dataDir: string,
  size: number,
  firstPort: number,
): Promise<ClusterLayout> {
  const file = path.join(dataDir, LAYOUT_FILE);
  const previous = parseLayout(await readOrUndefined(file));
  if (previous !== undefined && previous.clientPorts.length !== size) {
    throw new LocalKafkaError(
      `${dataDir} holds a local Kafka cluster of ${previous.clientPorts.length} nodes, not ${size}. Start it with --brokers ${previous.clientPorts.length}, or use another data dir (or --fresh).`,
    );
  }
  const taken = new Set<number>();
  const pick = async (wanted: number | undefined): Promise<number> => {
    if (wanted !== undefined && wanted > 0 && !taken.has(wanted) && (await isPortFree(wanted))) {
      taken.add(wanted);
      return wanted;
    }
    for (;;) {
      const port = await freePort();
      if (!taken.has(port)) {
        taken.add(port);
        return port;
      }
    }
  };
  const clientPorts: number[] = [];
  for (let i = 0; i < size; i++) {
    if (firstPort === 0) {
      clientPorts.push(await pick(previous?.clientPorts[i]));
      continue;
    }
    // A fixed first port: the nodes listen on it and the ports after it, or not at all.
    const port = firstPort + i;
    if (port > 65_535 || !(await isPortFree(port))) {
      throw new LocalKafkaError(
        `Port ${port} on ${HOST} is not free, so node ${i + 1} of the local Kafka cluster cannot listen there (nodes use ${firstPort}-${firstPort + size - 1}). Free it or pick another port (0 for any).`,
      );
    }
    taken.add(port);
    clientPorts.push(port);
  }
  const controllerPorts: number[] = [];
  for (let i = 0; i < size; i++) controllerPorts.push(await pick(previous?.controllerPorts[i]));
  const layout = { clusterId: previous?.clusterId ?? newClusterId(), clientPorts, controllerPorts };
  await fsp.writeFile(
    file,
    `${SERVER_PROPERTIES_HEADER}: the cluster's id and ports.
cluster.id=${layout.clusterId}
client.ports=${clientPorts.join(',')}
controller.ports=${controllerPorts.join(',')}
`,
  );
  return layout;
}

function parseLayout(text: string | undefined): ClusterLayout | undefined {
  if (text === undefined) return undefined;
  const value = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(text)?.[1]?.trim();
  const ports = (key: string) => (value(key) ?? '').split(',').filter(Boolean).map(Number);
  const clusterId = value('cluster.id');
  const clientPorts = ports('client.ports');
  const controllerPorts = ports('controller.ports');
  if (clusterId === undefined || clientPorts.length === 0) return undefined;
  if (controllerPorts.length !== clientPorts.length) return undefined;
  return { clusterId, clientPorts, controllerPorts };
}

/** Every node registered: a client bootstrapping from any node sees them all. */
async function waitForMembers(brokers: string[], size: number, timeoutMs: number): Promise<void> {
  const kafka = new Kafka({
    clientId: 'local-kafka-cluster-readiness',
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  const deadline = Date.now() + timeoutMs;
  let seen = 0;
  try {
    await admin.connect();
    while (Date.now() < deadline) {
      seen = (await admin.describeCluster().catch(() => ({ brokers: [] }))).brokers.length;
      if (seen >= size) return;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } finally {
    await admin.disconnect().catch(() => {});
  }
  throw new LocalKafkaError(
    `The local Kafka cluster on ${brokers.join(',')} listed ${seen} of its ${size} nodes after ${timeoutMs / 1000} s; see each node's logs/server.log under its data dir.`,
  );
}
