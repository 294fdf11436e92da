/**
 * What `KafkaService` asks of the cluster's admin API: the topics it creates at start, with the
 * platform's replication ({@link topicReplication}), and a topic's partitions: their offsets and
 * metadata, once the broker asked knows the topic.
 */
import { ConfigResourceTypes, ConfigSource, type Admin } from 'kafkajs';
import type { Logger } from '../../lib/logger';

/** Replication settings the cluster cannot satisfy; thrown by `start`. */
export class KafkaConfigurationError extends Error {
  override readonly name = 'KafkaConfigurationError';
}

/** How the topics created at start are laid out (`KafkaServiceOptions` has the defaults). */
export interface TopicLayout {
  partitions: number;
  replicationFactor: number | 'auto';
  minInsyncReplicas: number | 'auto';
}

/** How long {@link fetchTopicOffsets} and {@link fetchTopicMetadata} wait for a new topic. */
const TOPIC_METADATA_WAIT_MS = 10_000;

/**
 * A topic the platform creates: domain topics are kept forever (`retention.ms=-1`), so a read
 * model can be rebuilt by replaying them from the beginning (`npm run rebuild`); dead-letter
 * topics keep the broker's retention.
 */
export interface TopicSpec {
  /** The physical name. */
  name: string;
  /** `retention.ms=-1` when created, and on an existing topic whose retention nobody set. */
  keepForever: boolean;
}

/** `retention.ms` of a topic kept forever. */
export const KEEP_FOREVER = '-1';

/**
 * Creates the topics of `specs` that are missing. Asks the broker to create them all and lets it
 * answer "already exists", rather than listing topics first: a listing fails while another client
 * deletes a topic, and two services starting together would race between list and create anyway.
 * Then gives existing topics to keep forever that retention, unless it was set on the topic
 * (an operator's choice, left as it is with a warning): see {@link keepForever}.
 * @throws {KafkaConfigurationError} when the cluster is too small for `layout`.
 */
export async function ensureTopics(
  admin: Admin,
  specs: TopicSpec[],
  layout: TopicLayout,
  log: Logger,
): Promise<void> {
  const { brokers } = await admin.describeCluster();
  const replication = topicReplication(
    brokers.length,
    layout.replicationFactor,
    layout.minInsyncReplicas,
  );
  const created = await admin.createTopics({
    waitForLeaders: true,
    topics: specs.map(({ name, keepForever }) => ({
      topic: name,
      numPartitions: layout.partitions,
      replicationFactor: replication.replicationFactor,
      configEntries: [
        { name: 'min.insync.replicas', value: String(replication.minInsyncReplicas) },
        ...(keepForever ? [{ name: 'retention.ms', value: KEEP_FOREVER }] : []),
      ],
    })),
  });
  if (created) log.info('created topics', { topics: specs.map((s) => s.name), ...replication });
  await retainForever(
    admin,
    specs.filter((s) => s.keepForever).map((s) => s.name),
    log,
  );
}

/**
 * Topics created before the platform kept its domain topics forever have the broker's default
 * retention (7 days unless configured), after which a rebuild would miss events. Those whose
 * `retention.ms` comes from a default get `-1`; the alteration replaces a topic's whole set of
 * topic-level settings (kafkajs has no incremental alter), so the ones already set are sent
 * along unchanged. A retention set on the topic itself is left alone, with a warning.
 */
async function retainForever(admin: Admin, names: string[], log: Logger): Promise<void> {
  if (names.length === 0) return;
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: names.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })),
  });
  for (const resource of resources) {
    const retention = resource.configEntries.find((e) => e.configName === 'retention.ms');
    if (retention === undefined || retention.configValue === KEEP_FOREVER) continue;
    const setOnTopic = resource.configEntries.filter(
      (e) => e.configSource === ConfigSource.TOPIC_CONFIG && !e.isSensitive,
    );
    if (setOnTopic.some((e) => e.configName === 'retention.ms')) {
      log.warn('topic keeps events for a limited time: a rebuild from it may miss events', {
        topic: resource.resourceName,
        retentionMs: retention.configValue,
      });
      continue;
    }
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: resource.resourceName,
          configEntries: [
            ...setOnTopic.map((e) => ({ name: e.configName, value: e.configValue })),
            { name: 'retention.ms', value: KEEP_FOREVER },
          ],
        },
      ],
    });
    log.info('topic now keeps its events forever', { topic: resource.resourceName });
  }
}

/**
 * The partitions of the physical topic `name` with their earliest (`low`) and next (`high`)
 * offsets, as numbers (offsets stay far below 2^53), in partition order.
 */
export async function fetchTopicOffsets(
  admin: Admin,
  name: string,
): Promise<{ partition: number; low: number; high: number }[]> {
  const offsets = await onceKnown(() => admin.fetchTopicOffsets(name));
  return offsets
    .map((o) => ({ partition: o.partition, low: Number(o.low), high: Number(o.high) }))
    .sort((a, b) => a.partition - b.partition);
}

/**
 * The metadata (partitions, leaders, replicas) of the physical topic `name`, once known.
 * @param waitMs how long to ask again while the broker asked does not know the topic
 */
export async function fetchTopicMetadata(
  admin: Admin,
  name: string,
  waitMs = TOPIC_METADATA_WAIT_MS,
): Promise<Awaited<ReturnType<Admin['fetchTopicMetadata']>>['topics'][number]> {
  const { topics } = await onceKnown(() => admin.fetchTopicMetadata({ topics: [name] }), waitMs);
  const topic = topics.find((t) => t.name === name);
  if (topic === undefined) throw new Error(`the cluster returned no metadata for topic ${name}`);
  return topic;
}

/**
 * `ask`, asked again for up to `waitMs` while the broker asked does not
 * know the topic yet. Right after a topic is created (by another process, or on another broker
 * of a cluster), metadata reaches each broker in turn: kafkajs then fails with a TypeError of its
 * own, or the broker answers UNKNOWN_TOPIC_OR_PARTITION after kafkajs's retries. Asked again a
 * moment later, it knows.
 */
async function onceKnown<T>(ask: () => Promise<T>, waitMs = TOPIC_METADATA_WAIT_MS): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return await ask();
    } catch (error) {
      const unknownTopic =
        error instanceof TypeError ||
        (error as { type?: unknown }).type === 'UNKNOWN_TOPIC_OR_PARTITION';
      if (!unknownTopic || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/**
 * The replication of topics the platform creates on a cluster of `brokers`: by default three
 * copies, two of which must have a write before `acks=all` answers, so one broker may die without
 * losing an acknowledged event or stopping producers; fewer on a smaller cluster.
 * @throws {KafkaConfigurationError} for settings the cluster cannot satisfy.
 */
export function topicReplication(
  brokers: number,
  replicationFactor: number | 'auto',
  minInsyncReplicas: number | 'auto',
): { replicationFactor: number; minInsyncReplicas: number } {
  const factor =
    replicationFactor === 'auto' ? Math.max(1, Math.min(3, brokers)) : replicationFactor;
  if (factor > brokers) {
    throw new KafkaConfigurationError(
      `KAFKA_REPLICATION_FACTOR ${factor} needs at least ${factor} brokers, but the cluster has ${brokers}: lower it or use auto.`,
    );
  }
  const minIsr = minInsyncReplicas === 'auto' ? (factor >= 3 ? 2 : 1) : minInsyncReplicas;
  if (minIsr > factor) {
    throw new KafkaConfigurationError(
      `KAFKA_MIN_INSYNC_REPLICAS ${minIsr} is more than the ${factor} replicas of each topic: no write could ever be acknowledged. Lower it or use auto.`,
    );
  }
  return { replicationFactor: factor, minInsyncReplicas: minIsr };
}
