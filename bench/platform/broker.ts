/**
 * The Kafka broker of the platform graph: the cluster in KAFKA_BROKERS, or a throw-away local
 * broker (any free port, data in `dataDir`), and cleanup of what the benchmark created there.
 */
import { Kafka, logLevel } from 'kafkajs';
import { loadConfig } from '../../config';
import { startLocalKafka } from '../../scripts/kafka/local-kafka';

export interface BenchBroker {
  brokers: string[];
  /** For the output: `external` or the local broker's version and address. */
  description: string;
  /** Stops the local broker; nothing for an external cluster. */
  stop(): Promise<void>;
}

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
    stop: () => local.stop(),
  };
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
