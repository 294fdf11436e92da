/**
 * The Kafka broker of a bench: the cluster in KAFKA_BROKERS, or a throw-away local broker (any
 * free port, data in `dataDir`), and cleanup of what the benchmark created there.
 */
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { loadConfig } from '../../config';
import { startLocalKafka } from '../../scripts/kafka/local-kafka';

/** The broker a bench runs against, from `startBenchBroker`. */
export interface BenchBroker {
  brokers: string[];
  /** For the output: `external` or the local broker's version and address. */
  description: string;
  /** The local broker's java process; undefined for an external cluster. */
  pid?: number;
  /** Stops the local broker; nothing for an external cluster. */
  stop(): Promise<void>;
}

/**
 * The cluster in KAFKA_BROKERS, or else a local broker started in `dataDir` (stopped by the
 * result's `stop`).
 */
export async function startBenchBroker(
  dataDir: string,
  log: (line: string) => void,
): Promise<BenchBroker> {
  const config = loadConfig();
  if (config.kafka.brokers !== undefined) {
    return {
      brokers: config.kafka.brokers,
      description: `external (KAFKA_BROKERS=${config.kafka.brokers.join(',')})`,
      stop: async () => undefined,
    };
  }
  log(`KAFKA_BROKERS unset: starting a local Kafka ${config.localKafka.version} in ${dataDir}`);
  const local = await startLocalKafka({
    version: config.localKafka.version,
    port: 0,
    dataDir,
    heapMb: config.localKafka.heapMb,
    log,
  });
  return {
    brokers: local.brokers,
    description: `local Kafka ${config.localKafka.version} on ${local.brokers.join(',')}`,
    pid: local.pid,
    stop: () => local.stop(),
  };
}

/**
 * `startBenchBroker`, and a random topic prefix `<name>-<hex>.` for this run: `defer` gets the
 * broker's stop and, to run before it, the deletion of every topic and group under the prefix.
 */
export async function startRunBroker(options: {
  dataDir: string;
  /** The prefix's first part, e.g. `bench-subscriptions`. */
  name: string;
  log: (line: string) => void;
  defer: (step: () => Promise<void>) => void;
}): Promise<{ broker: BenchBroker; topicPrefix: string }> {
  const { log, defer } = options;
  const broker = await startBenchBroker(options.dataDir, (line) => log(`  ${line}`));
  defer(async () => {
    await broker.stop();
    log(`stopped the broker (${broker.description})`);
  });
  const topicPrefix = `${options.name}-${randomBytes(4).toString('hex')}.`;
  defer(async () => {
    const { groups, topics } = await deleteWithPrefix(broker.brokers, topicPrefix);
    log(`deleted under ${topicPrefix}: ${groups.length} groups, ${topics.length} topics`);
  });
  log(`  broker: ${broker.description}, topic prefix ${topicPrefix}`);
  return { broker, topicPrefix };
}

/**
 * Deletes the consumer groups and topics whose names start with `prefix` (KafkaService prefixes
 * both). Call once every client using them has stopped.
 */
export async function deleteWithPrefix(
  brokers: string[],
  prefix: string,
): Promise<{ groups: string[]; topics: string[] }> {
  const admin = new Kafka({
    clientId: `${prefix}cleanup`,
    brokers,
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    const groups = (await admin.listGroups()).groups
      .map((g) => g.groupId)
      .filter((g) => g.startsWith(prefix));
    if (groups.length > 0) await admin.deleteGroups(groups);
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 });
    return { groups, topics };
  } finally {
    await admin.disconnect();
  }
}
