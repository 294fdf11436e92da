/**
 * Replays a consumer group's topics from the beginning through the group's own handlers (built
 * on the fresh store), up to positions the rebuild sets and moves: a kafkajs consumer in a
 * throwaway group that never commits, pausing each partition at its target and resuming when
 * the target moves. The service's group and its committed offsets are never touched.
 *
 * Unlike the service's consumer, nothing here dead-letters or retries: an invalid message or an
 * event whose handler fails alone is counted and skipped (the live consumer dead-lettered it).
 */
import { randomBytes } from 'node:crypto';
import type { Consumer, KafkaMessage } from 'kafkajs';
import type { Logger } from '../../lib/logger';
import type { ConsumedEvent, KafkaService } from '../kafka/kafka-service';
import { readHeaders } from '../kafka/headers';
import { disconnectForGood } from '../kafka/kafkajs-fixes';
import type { Topic } from '../topics';
import { decodeEvent } from '../validate';
import type { TopicReplay } from './compare';
import type { ReplayConsumer } from './read-model';

/** Most events in one `batch` call of a handler (one transaction), as the live consumer. */
const MAX_BATCH = 500;

interface PartitionState {
  topic: Topic;
  partition: number;
  /** Next offset to read. */
  position: number;
  /** Read up to here (exclusive), then pause. */
  target: number;
}

/** A position per topic and partition, e.g. a group's committed offsets. */
export type Positions = Map<string, number>;

/** The key of a partition in {@link Positions}. */
export function partitionKey(topic: Topic, partition: number): string {
  return `${topic}/${partition}`;
}

/** How far the live group has got: what {@link GroupReplay.advance} replays up to. */
export interface LiveProgress {
  /** The event ids the live group recorded as processed. */
  processed: ReadonlySet<string>;
  /** The live group's committed offsets. */
  committed: Positions;
}

/** One group's replay: see the module's comment. */
export interface GroupReplay {
  readonly groupId: string;
  readonly topics: readonly Topic[];
  /**
   * Reads on to `targets` (partitions not named keep theirs). With `live`, only what the live
   * group has handled: an event whose id `live.processed` lacks stops its partition there (the
   * live group has not got that far), unless it lies before `live.committed`, the group's
   * committed offsets (the live group dead-lettered it): it is then read past.
   */
  advance(targets: Positions, live?: LiveProgress): void;
  /** Resolves once every partition reached its target. */
  reached(timeoutMs: number): Promise<void>;
  /** How far behind the targets it is, in messages. */
  behind(): number;
  stats(): TopicReplay[];
  stop(): Promise<void>;
}

/**
 * Starts replaying `consumer`'s topics from their earliest offsets, with every partition's
 * target at its earliest offset (nothing read) until {@link GroupReplay.advance}.
 */
export async function startGroupReplay(
  kafka: KafkaService,
  consumer: ReplayConsumer,
  log: Logger,
): Promise<GroupReplay> {
  const topics = (Object.keys(consumer.handlers) as Topic[]).filter(
    (t) => consumer.handlers[t] !== undefined,
  );
  const byPhysical = new Map(topics.map((t) => [kafka.topicName(t), t]));
  const states = new Map<string, PartitionState>();
  const stats = new Map<Topic, TopicReplay>();
  for (const topic of topics) {
    const offsets = await kafka.topicOffsets(topic);
    stats.set(topic, {
      group: consumer.groupId,
      topic,
      replayed: 0,
      invalid: 0,
      failed: 0,
      passed: 0,
      truncated: offsets.filter((o) => o.low > 0).length,
    });
    for (const { partition, low } of offsets)
      states.set(partitionKey(topic, partition), { topic, partition, position: low, target: low });
  }
  let live: LiveProgress | undefined;
  let stopping = false;
  const replayLog = log.child({ replayOf: consumer.groupId });

  const kafkaConsumer: Consumer = kafka.rawConsumer(
    `rebuild-${consumer.groupId}-${randomBytes(4).toString('hex')}`,
    {
      maxWaitTimeInMs: 100,
      retry: { restartOnFailure: async () => !stopping },
    },
  );

  /**
   * Hands `messages` (in offset order, one partition) to the topic's handler, up to the first
   * event the live group has not handled (see {@link GroupReplay.advance}).
   * @returns how many messages it went through: all, or up to that event.
   */
  const handle = async (
    topic: Topic,
    partition: number,
    messages: KafkaMessage[],
    heartbeat: () => Promise<void>,
  ): Promise<number> => {
    const handler = consumer.handlers[topic];
    const stat = stats.get(topic) as TopicReplay;
    if (!handler) return messages.length;
    const valid: ConsumedEvent[] = [];
    let through = 0;
    for (const message of messages) {
      const decoded = decodeEvent(message.value, topic);
      if (!decoded.ok) {
        stat.invalid++;
        through++;
        continue;
      }
      if (live && !live.processed.has(decoded.event.eventId)) {
        const committed = live.committed.get(partitionKey(topic, partition)) ?? 0;
        if (Number(message.offset) >= committed) break;
        stat.passed++;
        through++;
        continue;
      }
      through++;
      valid.push({
        event: decoded.event,
        context: {
          topic,
          partition,
          offset: message.offset,
          key: message.key?.toString() ?? null,
          headers: readHeaders(message.headers),
          attempt: 1,
        },
      } as ConsumedEvent);
    }
    const signal = new AbortController().signal;
    for (let i = 0; i < valid.length; i += MAX_BATCH) {
      const part = valid.slice(i, i + MAX_BATCH);
      try {
        await handler.batch(part as never, { heartbeat, signal });
        stat.replayed += part.length;
      } catch (batchError) {
        replayLog.debug('batch failed; replaying its events one at a time', { batchError });
        for (const { event, context } of part) {
          try {
            await handler.each(event as never, context);
            stat.replayed++;
          } catch (error) {
            stat.failed++;
            replayLog.warn('event failed on replay; skipped (the live consumer dead-lettered it)', {
              eventId: event.eventId,
              eventType: event.eventType,
              error,
            });
          }
        }
      }
      await heartbeat();
    }
    return through;
  };

  await kafkaConsumer.connect();
  await kafkaConsumer.subscribe({ topics: [...byPhysical.keys()], fromBeginning: true });
  const joined = new Promise<void>((resolve) => {
    const remove = kafkaConsumer.on(kafkaConsumer.events.GROUP_JOIN, () => {
      remove();
      resolve();
    });
  });
  await kafkaConsumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: Math.max(1, states.size),
    eachBatch: async ({ batch, resolveOffset, heartbeat, pause, isRunning, isStale }) => {
      const topic = byPhysical.get(batch.topic) as Topic;
      const state = states.get(partitionKey(topic, batch.partition));
      if (!state) return;
      const todo: KafkaMessage[] = [];
      let atTarget = false;
      for (const message of batch.messages) {
        const offset = Number(message.offset);
        if (offset < state.position) continue;
        if (offset >= state.target) {
          atTarget = true;
          break;
        }
        todo.push(message);
      }
      if (!isRunning() || isStale() || stopping) return;
      if (todo.length > 0) {
        const through = await handle(topic, batch.partition, todo, heartbeat);
        if (through < todo.length) {
          // The live group has not got this far: stop here until the next `advance`.
          const stop = Number((todo[through] as KafkaMessage).offset);
          state.position = stop;
          state.target = stop;
          atTarget = false;
        } else state.position = Number((todo[todo.length - 1] as KafkaMessage).offset) + 1;
      }
      // A message at or past the target: everything before it has been read.
      if (atTarget) state.position = Math.max(state.position, state.target);
      // The next fetch (after `advance` resumes the partition) starts at the resolved offset.
      if (state.position > 0) resolveOffset(String(state.position - 1));
      if (state.position >= state.target) pause();
    },
  });
  await joined;

  const behind = () =>
    [...states.values()].reduce((sum, s) => sum + Math.max(0, s.target - s.position), 0);

  return {
    groupId: consumer.groupId,
    topics,
    advance(targets, progress) {
      live = progress;
      const resume: { topic: string; partitions: number[] }[] = [];
      for (const [key, target] of targets) {
        const state = states.get(key);
        if (!state || target <= state.target) continue;
        state.target = target;
        resume.push({ topic: kafka.topicName(state.topic), partitions: [state.partition] });
      }
      if (resume.length > 0) kafkaConsumer.resume(resume);
    },
    async reached(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (behind() > 0) {
        if (Date.now() > deadline)
          throw new Error(
            `the replay of ${consumer.groupId} is still ${behind()} messages behind after ${timeoutMs} ms`,
          );
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    behind,
    stats: () => [...stats.values()].map((s) => ({ ...s })),
    async stop() {
      stopping = true;
      await disconnectForGood(kafkaConsumer);
    },
  };
}
