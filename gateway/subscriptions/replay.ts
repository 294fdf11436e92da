/**
 * Reading a range of a topic again, for a client that resumes from a cursor older than what the
 * gateway keeps in memory (e.g. after the gateway restarted): an ephemeral consumer group seeks
 * every partition to the cursor, reads up to where the live feed stood when the client
 * subscribed, and leaves. Nothing is committed.
 */
import { randomBytes } from 'node:crypto';
import type { GraphQLError } from 'graphql';
import { decodeEvent, type KafkaService, type Topic } from '../../events';
import { disconnectForGood } from '../../events/kafka/kafkajs-fixes';
import { graphQLError } from '../errors';
import type { Positions } from './cursor';
import { byTime, type Delivery } from './feed';

/** Bounds of a replay, and which events it keeps. */
export interface ReplayOptions {
  /** Most events read (matching or not) before giving up. @default 100_000 */
  maxEvents?: number;
  /** @default 30_000 */
  timeoutMs?: number;
  /** Keeps only the events the subscriber would have received. */
  keep: (delivery: Delivery) => boolean;
}

/** A cursor Kafka can no longer serve, or a replay too long to serve. */
export function replayError(message: string): GraphQLError {
  return graphQLError('CURSOR_EXPIRED', message);
}

/**
 * The events of `topic` in [from, to) of every partition that `keep` keeps, read from Kafka, in
 * timestamp order across partitions, each once.
 * @throws {GraphQLError} `CURSOR_EXPIRED` when Kafka no longer has them, when there are more than
 * `maxEvents`, or when reading takes longer than `timeoutMs`.
 */
export async function replayFromKafka(
  kafka: KafkaService,
  topic: Topic,
  from: Positions,
  to: Positions,
  options: ReplayOptions,
): Promise<Delivery[]> {
  const pending = new Map<number, { begin: number; end: number }>();
  for (let partition = 0; partition < to.length; partition++) {
    const begin = from[partition] ?? 0;
    const end = to[partition] ?? 0;
    if (begin < end) pending.set(partition, { begin, end });
  }
  if (pending.size === 0) return [];
  const offsets = await kafka.topicOffsets(topic);
  let total = 0;
  for (const { partition, low } of offsets) {
    const range = pending.get(partition);
    if (!range) continue;
    if (range.begin < low) {
      throw replayError(
        `The cursor is older than what ${topic} retains (partition ${partition} starts at ${low}); subscribe without a cursor`,
      );
    }
    total += range.end - range.begin;
  }
  const maxEvents = options.maxEvents ?? 100_000;
  if (total > maxEvents) {
    throw replayError(
      `The cursor is ${total} events behind, more than the ${maxEvents} a resume replays; subscribe without a cursor`,
    );
  }

  const physical = kafka.topicName(topic);
  let done = false;
  const consumer = kafka.rawConsumer(`api-gateway-replay.${randomBytes(6).toString('hex')}`, {
    maxWaitTimeInMs: 100,
    // A crash after the replay is over must not bring the consumer back (disconnectForGood).
    retry: { restartOnFailure: async () => !done },
  });
  const found: Delivery[] = [];
  /** A repeat of an event (publishing is at least once) is delivered once, as the feed does. */
  const seen = new Set<string>();
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(replayError(`Reading the missed events of ${topic} took too long`)),
        options.timeoutMs ?? 30_000,
      );
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      consumer.on(consumer.events.GROUP_JOIN, () => {
        for (const [partition, { begin }] of pending) {
          consumer.seek({ topic: physical, partition, offset: String(begin) });
        }
      });
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        clearTimeout(timer);
        reject(payload.error);
      });
      consumer
        .connect()
        .then(() => consumer.subscribe({ topic: physical, fromBeginning: true }))
        .then(() =>
          consumer.run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              const range = pending.get(batch.partition);
              if (!range) return;
              for (const message of batch.messages) {
                const offset = Number(message.offset);
                if (offset < range.begin) continue;
                if (offset >= range.end) break;
                const decoded = decodeEvent(message.value, topic);
                if (!decoded.ok || seen.has(decoded.event.eventId)) continue;
                seen.add(decoded.event.eventId);
                const delivery: Delivery = {
                  event: decoded.event,
                  partition: batch.partition,
                  offset,
                  timestamp: Number(message.timestamp),
                };
                if (options.keep(delivery)) found.push(delivery);
              }
              const last = Number(batch.lastOffset());
              if (last + 1 >= range.end) {
                pending.delete(batch.partition);
                if (pending.size === 0) done();
              }
            },
          }),
        )
        .catch((error: unknown) => {
          clearTimeout(timer);
          reject(error instanceof Error ? error : new Error(String(error)));
        });
    });
  } finally {
    done = true;
    await disconnectForGood(consumer).catch(() => undefined);
  }
  return found.sort(byTime);
}
