/**
 * Dead letters on the cluster: read the dead-letter topics, replay messages to their original
 * topics, and discard them.
 *
 * Reading never joins a group anyone else uses: each read takes the partitions' end offsets
 * first, then reads from the beginning up to them with a consumer in a throw-away group of its
 * own that commits nothing (deleted afterwards), so what `list` shows is a snapshot.
 *
 * Kafka cannot delete one message, so decisions are recorded beside the dead letters: the
 * compacted topic `<prefix>dead-letters.resolved` (one partition), keyed by a dead letter's
 * coordinates (`<dlq topic>/<partition>/<offset>`), its value the last {@link Resolution}
 * (`replayed` or `discarded`, with the replays so far). Compaction keeps one record per dead
 * letter; a tombstone (no value) would reopen it. A topic rather than a table because the DLQ
 * itself lives in Kafka and every tool (the CLI, the reporting subgraph's admin fields) reaches
 * the same cluster, while no database is shared between services. `list` and `replay` skip
 * resolved dead letters unless `includeResolved` is set.
 *
 * A replay sends the dead-lettered key, value and original headers back to the original topic,
 * with `dlq-replays` counting replays (see record.ts). The same key lands on the same partition
 * (the default partitioner, as long as the partition count did not change), so per key the
 * replay comes after everything already there. Every group reading that topic sees it again:
 * groups that handled the event skip it by its eventId (`processed_event`, events/consumers);
 * the group that gave up on it handles it now. The replay is sent before its resolution is
 * recorded, so a crash in between replays it again next time, which the same dedupe absorbs.
 */
import { randomBytes } from 'node:crypto';
import {
  Kafka,
  Partitioners,
  logLevel as KafkaLogLevel,
  type Message,
  type Producer,
} from 'kafkajs';
import { silentLogger, type Logger } from '../../lib/logger';
import { fetchTopicOffsets, topicReplication } from '../kafka/admin';
import { readHeaders } from '../kafka/headers';
import { disconnectForGood } from '../kafka/kafkajs-fixes';
import { TOPICS } from '../topics';
import {
  dlqTopicName,
  matchesFilter,
  nextReplayCount,
  replayHeaders,
  toRecord,
  type DeadLetterFilter,
  type DeadLetterRecord,
  type DeadLetterRef,
  type RawDeadLetter,
  type Resolution,
} from './record';

/** The logical name of the topic that records resolutions (the deployment's prefix goes first). */
export const RESOLUTIONS_TOPIC = 'dead-letters.resolved';

/** Options of {@link createDeadLetterStore}. */
export interface DeadLetterStoreOptions {
  brokers: string[];
  /** The deployment's topic and group prefix (`KAFKA_TOPIC_PREFIX`). @default '' */
  topicPrefix?: string;
  /** Replication factor of the resolutions topic, as `KAFKA_REPLICATION_FACTOR`. @default 'auto' */
  replicationFactor?: number | 'auto';
  /** Its `min.insync.replicas`, as `KAFKA_MIN_INSYNC_REPLICAS`. @default 'auto' */
  minInsyncReplicas?: number | 'auto';
  /** How long one read of the topics may take. @default 30_000 */
  readTimeoutMs?: number;
  /** @default silentLogger */
  logger?: Logger;
}

/** A dead letter sent back to its original topic. */
export interface Replayed {
  record: DeadLetterRecord;
  /** The physical topic it went to. */
  topic: string;
  /** Its `dlq-replays`. */
  replays: number;
}

/** A dead letter selected but left alone, and why. */
export interface Skipped {
  record: DeadLetterRecord;
  reason: string;
}

/** What `replay` or `discard` did (or, with `dryRun`, would do). */
export interface ActionResult<T> {
  done: T[];
  skipped: Skipped[];
  /** References that named no dead letter at all. */
  notFound: DeadLetterRef[];
  dryRun: boolean;
}

/** Options of `replay` and `discard`. */
export interface ActionOptions {
  /** Say what would be done, change nothing. @default false */
  dryRun?: boolean | undefined;
}

/** The dead-letter tooling on one cluster; connects on first use, `stop` disconnects. */
export interface DeadLetterStore {
  /** Connects (again after a failure); calls do it themselves when needed. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Dead letters passing `filter`, oldest first. */
  list(filter?: DeadLetterFilter): Promise<DeadLetterRecord[]>;
  /** Every dead letter `ref` names, resolved or not. */
  show(ref: DeadLetterRef): Promise<DeadLetterRecord[]>;
  /** Replays the dead letters `filter` selects to their original topics. */
  replay(filter: DeadLetterFilter, options?: ActionOptions): Promise<ActionResult<Replayed>>;
  /** Records the dead letters `filter` selects as discarded. */
  discard(
    filter: DeadLetterFilter,
    options?: ActionOptions,
  ): Promise<ActionResult<DeadLetterRecord>>;
  /** The physical topic resolutions are recorded in. */
  readonly resolutionsTopic: string;
}

/** The dead-letter tooling for the cluster `options` names: see the module's comment. */
export function createDeadLetterStore(options: DeadLetterStoreOptions): DeadLetterStore {
  const prefix = options.topicPrefix ?? '';
  const readTimeoutMs = options.readTimeoutMs ?? 30_000;
  const log = (options.logger ?? silentLogger).child({ component: 'dead-letters' });
  const resolutionsTopic = `${prefix}${RESOLUTIONS_TOPIC}`;
  const kafka = new Kafka({
    clientId: `dead-letters-${randomBytes(3).toString('hex')}`,
    brokers: options.brokers,
    logLevel: KafkaLogLevel.NOTHING,
    retry: { initialRetryTime: 100, retries: 5 },
  });
  const admin = kafka.admin();
  let producer: Producer | undefined;
  let starting: Promise<void> | undefined;

  const start = () => {
    starting ??= (async () => {
      await admin.connect();
      const { brokers } = await admin.describeCluster();
      const { replicationFactor, minInsyncReplicas } = topicReplication(
        brokers.length,
        options.replicationFactor ?? 'auto',
        options.minInsyncReplicas ?? 'auto',
      );
      await admin.createTopics({
        waitForLeaders: true,
        topics: [
          {
            topic: resolutionsTopic,
            numPartitions: 1,
            replicationFactor,
            configEntries: [
              { name: 'cleanup.policy', value: 'compact' },
              { name: 'min.insync.replicas', value: String(minInsyncReplicas) },
            ],
          },
        ],
      });
      producer = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      await producer.connect();
    })().catch(async (error: unknown) => {
      starting = undefined;
      await Promise.allSettled([admin.disconnect(), producer?.disconnect()]);
      producer = undefined;
      throw error;
    });
    return starting;
  };

  /** Every message of the physical `topics`, from the beginning to their end offsets now. */
  const readTopics = async (topics: string[]): Promise<RawDeadLetter[]> => {
    const ends = new Map<string, number>();
    // A dead-letter topic no service has created yet holds nothing.
    const existing = new Set(await admin.listTopics());
    for (const topic of topics.filter((t) => existing.has(t))) {
      for (const { partition, low, high } of await fetchTopicOffsets(admin, topic)) {
        if (high > low) ends.set(`${topic}/${partition}`, high);
      }
    }
    if (ends.size === 0) return [];
    const groupId = `${prefix}dead-letters-reader-${randomBytes(6).toString('hex')}`;
    const consumer = kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 200,
    });
    const messages: RawDeadLetter[] = [];
    const pending = new Set(ends.keys());
    try {
      await consumer.connect();
      await consumer.subscribe({
        topics: [...new Set([...ends.keys()].map((k) => k.slice(0, k.lastIndexOf('/'))))],
        fromBeginning: true,
      });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`reading ${topics.join(', ')} took over ${readTimeoutMs} ms`)),
          readTimeoutMs,
        );
        consumer
          .run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              const key = `${batch.topic}/${batch.partition}`;
              const end = ends.get(key) ?? 0;
              for (const m of batch.messages) {
                if (Number(m.offset) >= end) break;
                messages.push({
                  topic: batch.topic,
                  partition: batch.partition,
                  offset: m.offset,
                  timestamp: m.timestamp,
                  key: m.key,
                  value: m.value,
                  headers: readHeaders(m.headers),
                });
              }
              const last = batch.messages[batch.messages.length - 1];
              if (last && Number(last.offset) + 1 >= end) pending.delete(key);
              if (pending.size === 0) {
                clearTimeout(timer);
                resolve();
              }
            },
          })
          .catch(reject);
      });
    } finally {
      await disconnectForGood(consumer);
      await admin.deleteGroups([groupId]).catch((error: unknown) => {
        log.debug('could not delete the reader group', { groupId, error });
      });
    }
    return messages;
  };

  const readResolutions = async (): Promise<Map<string, Resolution>> => {
    const resolutions = new Map<string, Resolution>();
    for (const m of await readTopics([resolutionsTopic])) {
      const id = m.key?.toString();
      if (id === undefined) continue;
      const value = m.value ? parseResolution(m.value.toString()) : null;
      if (value) resolutions.set(id, value);
      else resolutions.delete(id);
    }
    return resolutions;
  };

  const list = async (filter: DeadLetterFilter = {}): Promise<DeadLetterRecord[]> => {
    await start();
    const topics = (filter.topics ?? TOPICS).map((t) => dlqTopicName(t, prefix));
    const [raw, resolutions] = await Promise.all([readTopics(topics), readResolutions()]);
    return raw
      .map((m) => {
        const record = toRecord(m);
        return { ...record, resolution: resolutions.get(record.id) ?? null };
      })
      .filter((record) => matchesFilter(record, filter, prefix))
      .sort(
        (a, b) =>
          a.failedAt.getTime() - b.failedAt.getTime() ||
          a.topic.localeCompare(b.topic) ||
          a.partition - b.partition ||
          Number(a.offset) - Number(b.offset),
      );
  };

  /** The filter's selection, split into open dead letters and skipped ones. */
  const select = async (filter: DeadLetterFilter) => {
    const all = await list({ ...filter, includeResolved: true });
    const notFound = (filter.ids ?? []).filter((ref) =>
      all.every((r) => !matchesFilter(r, { ids: [ref], includeResolved: true }, prefix)),
    );
    const open: DeadLetterRecord[] = [];
    const skipped: Skipped[] = [];
    for (const record of all) {
      if (record.resolution && !filter.includeResolved) {
        skipped.push({ record, reason: `already ${record.resolution.action}` });
      } else {
        open.push(record);
      }
    }
    return { open, skipped, notFound };
  };

  const recordResolutions = async (
    entries: { id: string; resolution: Resolution }[],
  ): Promise<void> => {
    if (entries.length === 0) return;
    await producer!.send({
      topic: resolutionsTopic,
      acks: -1,
      messages: entries.map(({ id, resolution }) => ({
        key: id,
        value: JSON.stringify(resolution),
      })),
    });
  };

  return {
    resolutionsTopic,
    start,
    async stop() {
      const wasStarted = starting;
      starting = undefined;
      if (!wasStarted) return;
      await wasStarted.catch(() => undefined);
      await Promise.allSettled([producer?.disconnect(), admin.disconnect()]);
      producer = undefined;
    },
    list,
    async show(ref) {
      return list({ ids: [ref], includeResolved: true });
    },
    async replay(filter, { dryRun = false } = {}) {
      const { open, skipped, notFound } = await select(filter);
      const done: Replayed[] = [];
      const sendable: DeadLetterRecord[] = [];
      for (const record of open) {
        if (record.originalTopic === null) {
          skipped.push({ record, reason: 'no dlq-original-topic header' });
        } else {
          sendable.push(record);
        }
      }
      // One message per event and topic: every group reading the topic sees it, so two groups
      // that gave up on the same event need one replay, with the higher count.
      const messages = new Map<string, DeadLetterRecord>();
      for (const record of sendable) {
        const key = `${record.originalTopic!}\n${record.eventId ?? record.id}`;
        const kept = messages.get(key);
        if (!kept || nextReplayCount(record) > nextReplayCount(kept)) messages.set(key, record);
      }
      const now = new Date();
      for (const record of sendable) {
        const sent = messages.get(`${record.originalTopic!}\n${record.eventId ?? record.id}`)!;
        done.push({ record, topic: record.originalTopic!, replays: nextReplayCount(sent) });
      }
      if (!dryRun && sendable.length > 0) {
        // One request, in selection order (oldest first) per topic: replays of a key keep their
        // order, and the idempotent producer neither duplicates nor reorders them on a retry.
        const byTopic = new Map<string, Message[]>();
        for (const record of messages.values()) {
          const topic = record.originalTopic!;
          const message = {
            key: record.key,
            value: record.value,
            headers: replayHeaders(record, now),
          };
          byTopic.set(topic, [...(byTopic.get(topic) ?? []), message]);
        }
        await producer!.sendBatch({
          acks: -1,
          topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        });
        await recordResolutions(
          sendable.map((record) => ({
            id: record.id,
            resolution: {
              action: 'replayed',
              at: now.toISOString(),
              replays: (record.resolution?.replays ?? 0) + 1,
            },
          })),
        );
        log.info('dead letters replayed', {
          deadLetters: sendable.length,
          messages: messages.size,
        });
      }
      return { done, skipped, notFound, dryRun };
    },
    async discard(filter, { dryRun = false } = {}) {
      const { open, skipped, notFound } = await select(filter);
      const now = new Date().toISOString();
      if (!dryRun) {
        await recordResolutions(
          open.map((record) => ({
            id: record.id,
            resolution: {
              action: 'discarded',
              at: now,
              replays: record.resolution?.replays ?? 0,
            },
          })),
        );
      }
      return { done: open, skipped, notFound, dryRun };
    },
  };
}

function parseResolution(raw: string): Resolution | null {
  try {
    const value = JSON.parse(raw) as unknown;
    if (typeof value !== 'object' || value === null) return null;
    const { action, at, replays } = value as Record<string, unknown>;
    if ((action !== 'replayed' && action !== 'discarded') || typeof at !== 'string') return null;
    return { action, at, replays: typeof replays === 'number' ? replays : 0 };
  } catch {
    return null;
  }
}
