/**
 * One topic as the gateway's live subscriptions see it: a Kafka consumer of this gateway
 * instance alone (its own group, so every instance sees every event), starting at the end of the
 * topic, that routes each event to the listeners of the keys it concerns (see fields.ts).
 *
 * The feed knows its position in every partition (`positions`), which is what cursors are made
 * of, and keeps the most recent events in memory so that a client resuming shortly after a
 * disconnect is served without reading Kafka again (`recent`).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Consumer } from 'kafkajs';
import { LRUCache } from 'lru-cache';
import { countBound } from '../../lib/cache';
import { decodeEvent, type DomainEvent, type KafkaService, type Topic } from '../../events';
import { disconnectForGood } from '../../events/kafka/kafkajs-fixes';
import type { Logger } from '../../lib/logger';
import { TRACEPARENT_HEADER } from '../../lib/tracing';
import type { Positions } from './cursor';
import type { LiveField } from './fields';

/** One event as a feed delivers it. */
export interface Delivery {
  event: DomainEvent;
  partition: number;
  offset: number;
  /** Kafka's timestamp of the message, ms. */
  timestamp: number;
  /** Size of the message value, bytes (what keeping it in memory costs, roughly). */
  bytes?: number;
  /**
   * The feed's position in every partition right after this event (live deliveries only): every
   * event below it has been routed.
   */
  positions?: Positions;
  /** The encoded cursor of `positions`, computed once for all subscribers. */
  cursor?: string;
  /** The message's trace context (`traceparent`), for the span of its resolution. */
  traceparent?: string;
}

/** What listens on a key: a stream (an object, not a closure: thousands of them may listen). */
export interface Listener {
  onDelivery(delivery: Delivery): void;
}

/** The topic a {@link TopicFeed} reads, the fields that route its events, and its memory. */
export interface TopicFeedOptions {
  kafka: KafkaService;
  topic: Topic;
  fields: readonly LiveField[];
  logger: Logger;
  /** Events kept in memory for resuming clients. @default 10_000 */
  recentEvents?: number;
  /** ... and at most this many bytes of them. @default 32 MiB */
  recentBytes?: number;
  /** @default 30_000 */
  joinTimeoutMs?: number;
}

/** One topic's live events for this gateway instance: see the module's comment. */
export class TopicFeed {
  readonly topic: Topic;
  /** By key; nearly always one listener per key, so an array, not a Set. */
  private readonly listeners = new Map<string, Listener[]>();
  private readonly recentByPartition: Delivery[][] = [];
  private recentCount = 0;
  private recentSize = 0;
  private readonly recentLimit: number;
  private readonly recentBytesLimit: number;
  /** The first offset of each partition this feed has routed or will route. */
  private firstOffsets: number[] = [];
  private current: number[] = [];
  private consumer: Consumer | undefined;
  private live = false;
  /** Events routed and messages skipped as invalid since start. */
  readonly counts = { routed: 0, invalid: 0, duplicates: 0 };
  /**
   * Event ids of the last events routed. Publishing is at least once (an outbox relay retrying a
   * publish whose acknowledgement it never saw sends the event again, at a later offset): a
   * repeat of an event seen recently is skipped, as every consumer group skips it.
   */
  private readonly seenIds = new LRUCache<string, true>(countBound(SEEN_IDS));

  constructor(private readonly options: TopicFeedOptions) {
    this.topic = options.topic;
    this.recentLimit = options.recentEvents ?? 10_000;
    this.recentBytesLimit = options.recentBytes ?? 32 * 1024 * 1024;
  }

  /** The next offset per partition: every event below it has been routed to listeners. */
  get positions(): Positions {
    return this.current;
  }

  /** Whether the feed routes events (started, and its consumer not crashed for good). */
  ready(): boolean {
    return this.live;
  }

  /**
   * Joins a group of its own at the current end of every partition. Resolves once the feed routes
   * every event published from now on.
   */
  async start(): Promise<void> {
    const { kafka, logger } = this.options;
    const offsets = await kafka.topicOffsets(this.topic);
    for (const { partition, high } of offsets) {
      this.firstOffsets[partition] = high;
      this.current[partition] = high;
    }
    const groupId = `api-gateway-live.${hostname()}.${process.pid}.${randomBytes(4).toString('hex')}.${this.topic}`;
    const consumer = kafka.rawConsumer(groupId, {
      maxWaitTimeInMs: 500,
      // A crash while stopping must not bring the feed back (see disconnectForGood).
      retry: { restartOnFailure: async () => this.consumer === consumer },
    });
    this.consumer = consumer;
    const physical = kafka.topicName(this.topic);
    const joined = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`live feed of ${this.topic} did not join its group in time`)),
        this.options.joinTimeoutMs ?? 30_000,
      );
      consumer.on(consumer.events.GROUP_JOIN, () => {
        // A group of its own never committed anything: start exactly where we looked.
        for (let partition = 0; partition < this.current.length; partition++) {
          consumer.seek({ topic: physical, partition, offset: String(this.current[partition]) });
        }
        clearTimeout(timer);
        resolve();
      });
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) this.live = false;
      logger.error('live feed consumer crashed', {
        topic: this.topic,
        error: payload.error,
        restart: payload.restart,
      });
    });
    await consumer.connect();
    await consumer.subscribe({ topic: physical, fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) {
          this.route(
            batch.partition,
            Number(message.offset),
            Number(message.timestamp),
            message.value,
            message.headers?.[TRACEPARENT_HEADER],
          );
        }
      },
    });
    await joined;
    this.live = true;
    logger.info('live feed started', { topic: this.topic, groupId, positions: this.current });
  }

  /** Leaves the group and forgets every listener. */
  async stop(): Promise<void> {
    this.live = false;
    const consumer = this.consumer;
    this.consumer = undefined;
    if (consumer) await disconnectForGood(consumer);
    this.listeners.clear();
  }

  /** Routes the events of `key` to `listener` from now on, until {@link unlisten}. */
  listen(key: string, listener: Listener): void {
    const list = this.listeners.get(key);
    if (!list) this.listeners.set(key, [listener]);
    else if (!list.includes(listener)) list.push(listener);
  }

  /** Stops routing the events of `key` to `listener`. */
  unlisten(key: string, listener: Listener): void {
    const list = this.listeners.get(key);
    if (!list) return;
    const at = list.indexOf(listener);
    if (at === -1) return;
    list.splice(at, 1);
    if (list.length === 0) this.listeners.delete(key);
  }

  /**
   * The events in [from, to) of every partition, if all of them are still in memory, in the
   * order they were routed per partition and by timestamp across partitions; undefined when some
   * are not (older than the feed or evicted), so the caller reads Kafka.
   */
  recent(from: Positions, to: Positions): Delivery[] | undefined {
    const out: Delivery[] = [];
    for (let partition = 0; partition < to.length; partition++) {
      const begin = from[partition] ?? 0;
      const end = to[partition] ?? 0;
      if (begin >= end) continue;
      const kept = this.recentByPartition[partition] ?? [];
      const oldest = kept[0]?.offset ?? this.current[partition] ?? 0;
      if (begin < (this.firstOffsets[partition] ?? 0) || begin < oldest) return undefined;
      for (const delivery of kept) {
        if (delivery.offset >= begin && delivery.offset < end) out.push(delivery);
      }
    }
    return out.sort(byTime);
  }

  private route(
    partition: number,
    offset: number,
    timestamp: number,
    value: Buffer | null,
    traceparent?: Buffer | string | (Buffer | string)[],
  ): void {
    if (offset < (this.current[partition] ?? 0)) return; // redelivered after a rebalance
    this.current[partition] = offset + 1;
    const decoded = decodeEvent(value, this.topic);
    if (!decoded.ok) {
      // The services dead-letter invalid messages; live subscribers just never see them.
      this.counts.invalid++;
      this.options.logger.debug('live feed skipped an invalid message', {
        topic: this.topic,
        partition,
        offset,
      });
      return;
    }
    const { eventId } = decoded.event;
    if (this.seenIds.has(eventId)) {
      this.counts.duplicates++;
      return;
    }
    this.seenIds.set(eventId, true);
    const delivery: Delivery = {
      event: decoded.event,
      partition,
      offset,
      timestamp,
      bytes: value?.length ?? 0,
      positions: this.current.slice(),
    };
    const trace = Array.isArray(traceparent) ? traceparent[0] : traceparent;
    if (trace !== undefined) delivery.traceparent = trace.toString();
    this.remember(delivery);
    this.counts.routed++;
    for (const field of this.options.fields) {
      for (const key of field.routes(decoded.event as never)) {
        const listeners = this.listeners.get(key);
        if (!listeners) continue;
        for (const listener of listeners) listener.onDelivery(delivery);
      }
    }
  }

  private remember(delivery: Delivery): void {
    if (this.recentLimit === 0) return;
    let kept = this.recentByPartition[delivery.partition];
    if (!kept) {
      kept = [];
      this.recentByPartition[delivery.partition] = kept;
    }
    kept.push(delivery);
    this.recentCount++;
    this.recentSize += delivery.bytes ?? 0;
    while (this.recentCount > this.recentLimit || this.recentSize > this.recentBytesLimit) {
      // Evict from the partition whose oldest event is oldest.
      let oldest: Delivery[] | undefined;
      for (const list of this.recentByPartition) {
        if (
          list?.length &&
          (!oldest || (list[0] as Delivery).timestamp < (oldest[0] as Delivery).timestamp)
        )
          oldest = list;
      }
      if (!oldest) break;
      const evicted = oldest.shift();
      this.recentCount--;
      this.recentSize -= evicted?.bytes ?? 0;
    }
  }
}

/** How many event ids the feed remembers to skip repeats: far more than a relay's retry spans. */
const SEEN_IDS = 50_000;

/** Kafka timestamp order across partitions; offset order within one. */
export function byTime(a: Delivery, b: Delivery): number {
  if (a.partition === b.partition) return a.offset - b.offset;
  return a.timestamp - b.timestamp || a.partition - b.partition;
}
