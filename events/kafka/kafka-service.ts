/**
 * The Kafka adapter with the design's API: `new KafkaService(serviceName, options)`,
 * `publishEvent(topic, event)`, `subscribe(topic, groupId, handler)`, and `start`/`stop`/`ready`.
 *
 * Guarantees:
 * - publishing validates the event first and sends nothing when it is invalid;
 * - messages are keyed by the event's aggregate id and carry type/version/source headers;
 * - the producer is idempotent and waits for all in-sync replicas;
 * - a consumer validates each message before its handler sees it; invalid messages and messages
 *   whose handler still fails after bounded retries go to the topic's dead-letter topic, and the
 *   consumer moves on;
 * - offsets are committed only for messages whose handler succeeded or that were dead-lettered;
 * - `subscribeBatch` hands a handler all valid events of a fetched partition batch at once (one
 *   database transaction per batch, see `events/consumers/batch.ts`) and resolves the batch's
 *   offsets only after it resolved; when it throws, the batch is replayed one event at a time
 *   through the retry / dead-letter path, so a poison event is isolated.
 */
import { disconnectForGood } from './kafkajs-fixes';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import {
  type Admin,
  type Batch,
  type Consumer,
  type ConsumerConfig,
  type ConsumerRunConfig,
  type IHeaders,
  type KafkaMessage,
  type LogEntry,
  type Producer,
  Kafka,
  logLevel as KafkaLogLevel,
  Partitioners,
} from 'kafkajs';
import type { KafkaConfig } from '../../config';
import { silentLogger, type Logger } from '../../lib/logger';
import type { DomainEvent, EventOn, PayloadOf } from '../catalog';
import type { Source } from '../envelope';
import { SystemEventFactory } from '../factories';
import { TOPICS, deadLetterTopic, type Topic } from '../topics';
import { aggregateKey, decodeEvent, parseEvent, type FieldIssue } from '../validate';
import { SendBatcher, type OutgoingMessage } from './batcher';
import { DEAD_LETTER_HEADERS, EVENT_HEADERS, readHeaders } from './headers';

export interface KafkaServiceOptions {
  /** Bootstrap brokers, `host:port`. */
  brokers: string[];
  /**
   * Prepended to every logical topic name and consumer group id, for deployments that share a
   * cluster and for tests that need topics of their own. Groups are prefixed too: members of one
   * group must subscribe to the same topics, or the group's assignment hands them partitions of
   * topics they never read. @default ''
   */
  topicPrefix?: string;
  /** Logical topics (and their dead-letter topics) created at start when missing. @default TOPICS */
  topics?: readonly Topic[];
  /** Partitions of topics created at start. @default 3 */
  partitions?: number;
  /**
   * Replication factor of topics created at start; `auto`: 3 on a cluster of 3 or more brokers,
   * else the number of brokers. @default 'auto'
   */
  replicationFactor?: number | 'auto';
  /**
   * `min.insync.replicas` of topics created at start, so `acks=all` means that many copies;
   * `auto`: 2 with 3 or more replicas, else 1. @default 'auto'
   */
  minInsyncReplicas?: number | 'auto';
  /** Attempts after the first failure before a message is dead-lettered. @default 3 */
  handlerRetries?: number;
  /** Delay before the first retry; doubles each attempt, capped at 10 s. @default 200 */
  handlerRetryMs?: number;
  /** Publish `service.started`, `service.stopped` and `handler.failed` on system-events. @default true */
  announce?: boolean;
  /** Identifies this process among replicas of the service. @default `${service}-${host}-${pid}-${random}` */
  instanceId?: string;
  /** @default silentLogger */
  logger?: Logger;
  /** Called after each produce request, for metrics and benchmarks. */
  onProduceRequest?: (request: { messages: number; durationMs: number }) => void;
}

/** Where a consumed event came from, for handlers that want more than the event. */
export interface EventContext {
  topic: Topic;
  partition: number;
  offset: string;
  key: string | null;
  headers: Record<string, string>;
  /** 1 on first delivery to the handler, 2 on the first retry, ... */
  attempt: number;
}

/** One handler per topic, for a consumer that reads several topics in one group. */
export type TopicHandlers = { [T in Topic]?: EventHandler<T> };

export type EventHandler<T extends Topic> = (
  event: EventOn<T>,
  context: EventContext,
) => Promise<void>;

export interface SubscribeOptions {
  /**
   * Where a group without committed offsets starts. Service groups start at the beginning so
   * events published before the service's first run are not lost. @default true
   */
  fromBeginning?: boolean;
  /** Partitions handled in parallel; order within a partition is always kept. @default 1 */
  partitionsConsumedConcurrently?: number;
  /** How long `subscribe` waits for the group to assign partitions. @default 30_000 */
  joinTimeoutMs?: number;
  /**
   * Longest a fetch waits on the broker when there is nothing new. Stopping waits for the fetch
   * in flight, so this bounds shutdown time; data is returned as soon as it arrives. @default 500
   */
  maxWaitTimeInMs?: number;
}

export interface Subscription {
  readonly topics: readonly Topic[];
  readonly groupId: string;
  /** True while the consumer is a member of its group and has not crashed. */
  ready(): boolean;
  /** Finishes the message in hand, commits, leaves the group. Idempotent. */
  stop(): Promise<void>;
}

/** A consumed event that passed validation, with where it came from. */
export interface ConsumedEvent<T extends Topic = Topic> {
  event: EventOn<T>;
  context: EventContext;
}

/** What a batch handler may use while it works. */
export interface BatchControl {
  /** Keeps the group membership alive during a long batch; cheap, call it freely. */
  heartbeat(): Promise<void>;
  /** Aborted when the subscription stops: finish nothing new, throw to leave the batch unresolved. */
  signal: AbortSignal;
}

/**
 * A topic's handler for {@link KafkaService.subscribeBatch}: `batch` takes every valid event of a
 * (bounded) fetched batch of one partition, in offset order, and must apply all of them or none
 * (one transaction); `each` takes one event, for the fallback and for `batch: false`.
 */
export interface BatchEventHandler<T extends Topic> {
  batch(events: ConsumedEvent<T>[], control: BatchControl): Promise<void>;
  each: EventHandler<T>;
}

export type TopicBatchHandlers = { [T in Topic]?: BatchEventHandler<T> };

/** Where a batch lies in its partition, for hooks and logs. */
export interface BatchPosition {
  topic: Topic;
  partition: number;
  firstOffset: string;
  lastOffset: string;
  size: number;
}

export interface BatchSubscribeOptions extends SubscribeOptions {
  /**
   * `false`: the pre-batch path, one event at a time through each topic's `each` handler (one
   * transaction per event); kept as the benchmark's baseline and as an escape hatch.
   * @default true
   */
  batch?: boolean;
  /**
   * Most events in one `batch` call (one transaction); longer fetched batches are split, with a
   * heartbeat and an offset commit between the parts. Ignored with `batch: false`. @default 500
   */
  maxBatchSize?: number;
  /**
   * Runs after a batch's handler resolved (its transaction committed) and before its offsets are
   * resolved. A test seam for crashes: when it throws, the subscription behaves like a process
   * that died at that point: it resolves and commits nothing more, pauses its partitions and
   * reports not ready, so after `stop()` the group redelivers the batch to another member.
   * Ignored with `batch: false`.
   */
  beforeOffsetCommit?: (position: BatchPosition) => void | Promise<void>;
}

/** An already-validated, serialized event: what the outbox stores, ready for the wire. */
export interface SerializedEvent {
  /** The aggregate id (Kafka key). */
  key: string;
  /** The envelope's JSON. */
  value: string;
  eventId: string;
  eventType: string;
  version: string;
  source: string;
}

/** Replication settings the cluster cannot satisfy; thrown by `start`. */
export class KafkaConfigurationError extends Error {
  override readonly name = 'KafkaConfigurationError';
}

/** Thrown by `publishEvent` and `subscribe` when the service is not started. */
export class KafkaServiceStateError extends Error {
  override readonly name = 'KafkaServiceStateError';
}

const MAX_RETRY_DELAY_MS = 10_000;
/** How long `topicOffsets` waits for a new topic's partitions to be known. */
const TOPIC_METADATA_WAIT_MS = 10_000;

export class KafkaService {
  readonly instanceId: string;
  private readonly kafka: Kafka;
  private readonly producer: Producer;
  private readonly admin: Admin;
  private readonly batcher: SendBatcher;
  private readonly subscriptions = new Set<Subscription>();
  private readonly log: Logger;
  private readonly options: Required<
    Omit<KafkaServiceOptions, 'logger' | 'instanceId' | 'onProduceRequest'>
  >;
  private readonly onProduceRequest: KafkaServiceOptions['onProduceRequest'];
  private state: 'new' | 'starting' | 'started' | 'stopping' | 'stopped' = 'new';
  private startedAt = 0;

  /** A service's Kafka client from the platform's configuration (`config.kafka`). */
  static fromConfig(
    serviceName: Source,
    config: KafkaConfig & { brokers: string[] },
    logger?: Logger,
  ): KafkaService {
    return new KafkaService(serviceName, {
      brokers: config.brokers,
      topicPrefix: config.topicPrefix,
      partitions: config.topicPartitions,
      replicationFactor: config.replicationFactor,
      minInsyncReplicas: config.minInsyncReplicas,
      handlerRetries: config.handlerRetries,
      handlerRetryMs: config.handlerRetryMs,
      ...(logger ? { logger } : {}),
    });
  }

  constructor(
    readonly serviceName: Source,
    options: KafkaServiceOptions,
  ) {
    this.options = {
      brokers: options.brokers,
      topicPrefix: options.topicPrefix ?? '',
      topics: options.topics ?? TOPICS,
      partitions: options.partitions ?? 3,
      replicationFactor: options.replicationFactor ?? 'auto',
      minInsyncReplicas: options.minInsyncReplicas ?? 'auto',
      handlerRetries: options.handlerRetries ?? 3,
      handlerRetryMs: options.handlerRetryMs ?? 200,
      announce: options.announce ?? true,
    };
    this.instanceId =
      options.instanceId ??
      `${serviceName}-${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.log = (options.logger ?? silentLogger).child({ service: serviceName });
    this.onProduceRequest = options.onProduceRequest;
    this.kafka = new Kafka({
      clientId: this.instanceId,
      brokers: this.options.brokers,
      logLevel: KafkaLogLevel.WARN,
      logCreator: () => (entry) => this.kafkaLog(entry),
      retry: { initialRetryTime: 100, retries: 8 },
    });
    this.producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
      // Bounded, so a publish during an outage fails in tens of seconds instead of hanging:
      // callers (the outbox relay) retry, and consumers are idempotent on eventId.
      retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 6 },
    });
    this.admin = this.kafka.admin();
    this.batcher = new SendBatcher((batch) => this.sendBatch(batch));
  }

  /** The physical name of a logical topic. */
  topicName(topic: Topic): string {
    return `${this.options.topicPrefix}${topic}`;
  }

  /** The physical id of a logical consumer group. */
  groupName(groupId: string): string {
    return `${this.options.topicPrefix}${groupId}`;
  }

  /** The physical name of a logical topic's dead-letter topic. */
  deadLetterTopicName(topic: Topic): string {
    return deadLetterTopic(this.topicName(topic));
  }

  /** Connects, creates missing topics, and announces the service. */
  async start(): Promise<void> {
    if (this.state !== 'new')
      throw new KafkaServiceStateError(`cannot start: service is ${this.state}`);
    this.state = 'starting';
    this.startedAt = Date.now();
    try {
      await this.admin.connect();
      await this.ensureTopics();
      await this.producer.connect();
    } catch (error) {
      this.state = 'new';
      await Promise.allSettled([this.admin.disconnect(), this.producer.disconnect()]);
      throw error;
    }
    this.state = 'started';
    this.log.info('kafka service started', {
      instanceId: this.instanceId,
      brokers: this.options.brokers,
    });
    if (this.options.announce) {
      await this.publishSystem('service.started', {
        service: this.serviceName,
        instanceId: this.instanceId,
        hostname: hostname(),
        pid: process.pid,
      });
    }
  }

  /** True when the producer is connected and every subscription is consuming. */
  ready(): boolean {
    return this.state === 'started' && [...this.subscriptions].every((s) => s.ready());
  }

  /** Stops consumers (committing what they handled), flushes pending sends, disconnects. */
  async stop(reason: 'shutdown' | 'error' = 'shutdown'): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping' || this.state === 'new') return;
    this.state = 'stopping';
    await Promise.allSettled([...this.subscriptions].map((s) => s.stop()));
    if (this.options.announce) {
      await this.publishSystem('service.stopped', {
        service: this.serviceName,
        instanceId: this.instanceId,
        reason,
        uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      });
    }
    await this.batcher.flushed();
    await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
    this.state = 'stopped';
    this.log.info('kafka service stopped');
  }

  /**
   * Validates and publishes one event, keyed by its aggregate id. Concurrent calls are batched
   * into one produce request.
   * @throws {EventValidationError} listing the failing fields; nothing is sent.
   */
  async publishEvent<T extends Topic>(topic: T, event: EventOn<T>): Promise<void> {
    const valid = parseEvent(event, topic);
    this.assertRunning('publish');
    await this.batcher.enqueue({ topic: this.topicName(topic), message: toMessage(valid) });
  }

  /**
   * Publishes an event serialized and validated earlier (an outbox row) as it is, without
   * parsing and validating it again (about 5 µs of zod per row saved): the relay's path.
   * Batched with concurrent sends like `publishEvent`; call order is kept per partition.
   */
  async publishSerialized(topic: Topic, event: SerializedEvent): Promise<void> {
    this.assertRunning('publish');
    await this.batcher.enqueue({
      topic: this.topicName(topic),
      message: { key: event.key, value: event.value, headers: eventHeaders(event) },
    });
  }

  /**
   * The partitions of a topic with their earliest (`low`) and next (`high`) offsets, as numbers
   * (offsets stay far below 2^53).
   */
  async topicOffsets(topic: Topic): Promise<{ partition: number; low: number; high: number }[]> {
    this.assertRunning('read offsets');
    const name = this.topicName(topic);
    // Right after another process created the topic, the broker asked may not know its partitions
    // yet (on a cluster, metadata reaches each broker in turn): kafkajs then fails with a
    // TypeError of its own. Asked again a moment later, it knows.
    const deadline = Date.now() + TOPIC_METADATA_WAIT_MS;
    let offsets: Awaited<ReturnType<Admin['fetchTopicOffsets']>> | undefined;
    while (offsets === undefined) {
      try {
        offsets = await this.admin.fetchTopicOffsets(name);
      } catch (error) {
        if (!(error instanceof TypeError) || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    return offsets
      .map((o) => ({ partition: o.partition, low: Number(o.low), high: Number(o.high) }))
      .sort((a, b) => a.partition - b.partition);
  }

  /**
   * A bare kafkajs consumer on this service's connection settings, in group `groupId` (prefixed
   * like every group): for readers that manage positions themselves, such as the gateway's live
   * subscriptions, which seek, never commit, and skip invalid messages instead of dead-lettering
   * them. The caller connects, runs and disconnects it.
   */
  rawConsumer(groupId: string, config: Omit<ConsumerConfig, 'groupId'> = {}): Consumer {
    this.assertRunning('consume');
    return this.kafka.consumer({
      allowAutoTopicCreation: false,
      ...config,
      groupId: this.groupName(groupId),
    });
  }

  /**
   * Consumes `topic` in consumer group `groupId`. Resolves once the group has assigned this
   * member its partitions. Each subscription has its own consumer.
   */
  subscribe<T extends Topic>(
    topic: T,
    groupId: string,
    handler: EventHandler<T>,
    options: SubscribeOptions = {},
  ): Promise<Subscription> {
    return this.subscribeAll(groupId, { [topic]: handler } as TopicHandlers, options);
  }

  /**
   * Consumes several topics with one consumer in group `groupId`, each with its handler. A
   * service that reads two topics in its one group must use this: the group's members must all
   * subscribe to the same topics, or the assignment leaves partitions unread.
   */
  async subscribeAll(
    logicalGroupId: string,
    handlers: TopicHandlers,
    options: SubscribeOptions = {},
  ): Promise<Subscription> {
    return this.startConsumer(logicalGroupId, handlers, options, (ctx) => ({
      autoCommit: true,
      // Commit at least every 100 handled messages or every second, and always at the end
      // of a fetched batch and on stop; only handled (or dead-lettered) offsets are resolved.
      autoCommitThreshold: 100,
      autoCommitInterval: 1_000,
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
      eachMessage: ({ topic: physical, partition, message, heartbeat }) => {
        const topic = ctx.topicOf(physical);
        return this.consumeOne(
          topic,
          ctx.groupId,
          handlers[topic] as EventHandler<Topic>,
          { partition, message, heartbeat },
          ctx.stopping,
          ctx.log,
        );
      },
    }));
  }

  /**
   * Consumes several topics in group `groupId` a batch at a time: for each fetched batch of a
   * partition (split into at most `maxBatchSize` events), invalid messages go to the dead-letter
   * topic, the valid events go to the topic's `batch` handler at once, and the batch's offsets are
   * resolved and committed only after that handler resolved. When it throws (a poison event, a
   * failed transaction), the same events are handled one at a time through `each`, with the
   * retries and dead-lettering of `subscribeAll`, so the rest of the batch is neither lost nor,
   * since `batch` is all or nothing, applied twice. Partitions are consumed concurrently (as many
   * as the topics have by default); the events of one partition always in offset order.
   */
  async subscribeBatch(
    logicalGroupId: string,
    handlers: TopicBatchHandlers,
    options: BatchSubscribeOptions = {},
  ): Promise<Subscription> {
    // One per partition the group reads (at most; kafkajs only runs what is assigned).
    const concurrency =
      options.partitionsConsumedConcurrently ??
      this.options.partitions * Object.keys(handlers).length;
    if (options.batch === false) {
      // The same concurrency as batches, so a comparison shows what batching alone changes.
      const each: TopicHandlers = {};
      for (const topic of Object.keys(handlers) as Topic[]) {
        const handler = handlers[topic] as BatchEventHandler<Topic> | undefined;
        if (handler) (each as Record<Topic, EventHandler<Topic>>)[topic] = handler.each;
      }
      return this.subscribeAll(logicalGroupId, each, {
        ...options,
        partitionsConsumedConcurrently: concurrency,
      });
    }
    const maxBatchSize = options.maxBatchSize ?? 500;
    let crashed = false;
    return this.startConsumer(logicalGroupId, handlers, options, (ctx) => ({
      autoCommit: true,
      // Offsets are resolved per handled batch; kafkajs commits them after each batch.
      autoCommitThreshold: 1_000,
      autoCommitInterval: 1_000,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: concurrency,
      eachBatch: async ({
        batch,
        resolveOffset,
        heartbeat,
        commitOffsetsIfNecessary,
        isRunning,
        isStale,
        pause,
      }) => {
        const topic = ctx.topicOf(batch.topic);
        const handler = handlers[topic] as BatchEventHandler<Topic>;
        for (let i = 0; i < batch.messages.length; i += maxBatchSize) {
          if (crashed) {
            pause();
            return;
          }
          // Stopping or rebalancing: leave the rest unresolved for whoever reads it next.
          if (!isRunning() || isStale() || ctx.stopping.aborted) return;
          const messages = batch.messages.slice(i, i + maxBatchSize);
          let handled: boolean;
          try {
            handled = await this.consumeBatch(
              topic,
              ctx.groupId,
              handler,
              { batch, messages, heartbeat, resolveOffset },
              ctx.stopping,
              ctx.log,
            );
          } catch (error) {
            // Stopped mid-batch: nothing of it was committed; it is delivered again.
            if (ctx.stopping.aborted) return;
            throw error;
          }
          if (handled) {
            const last = messages[messages.length - 1] as KafkaMessage;
            try {
              await options.beforeOffsetCommit?.({
                topic,
                partition: batch.partition,
                firstOffset: (messages[0] as KafkaMessage).offset,
                lastOffset: last.offset,
                size: messages.length,
              });
            } catch (error) {
              crashed = true;
              ctx.markCrashed();
              ctx.log.error('crashed before committing a handled batch', { error });
              pause();
              return;
            }
            resolveOffset(last.offset);
          }
          await commitOffsetsIfNecessary();
          await heartbeat();
        }
      },
    }));
  }

  /** The consumer lifecycle shared by `subscribeAll` and `subscribeBatch`. */
  private async startConsumer(
    logicalGroupId: string,
    handlers: TopicHandlers | TopicBatchHandlers,
    options: SubscribeOptions,
    runConfig: (ctx: {
      groupId: string;
      topicOf: (physical: string) => Topic;
      stopping: AbortSignal;
      log: Logger;
      markCrashed: () => void;
    }) => ConsumerRunConfig,
  ): Promise<Subscription> {
    this.assertRunning('subscribe');
    const topics = (Object.keys(handlers) as Topic[]).filter((t) => handlers[t] !== undefined);
    if (topics.length === 0) throw new Error('a subscription needs at least one topic handler');
    const byPhysical = new Map(topics.map((t) => [this.topicName(t), t]));
    const groupId = this.groupName(logicalGroupId);
    const log = this.log.child({ topics: [...byPhysical.keys()], groupId });
    const stopping = new AbortController();
    const consumer = this.kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: options.maxWaitTimeInMs ?? 500,
      // A crash while stopping must not bring the consumer back (see disconnectForGood).
      retry: { restartOnFailure: async () => !stopping.signal.aborted },
    });
    let joined = false;
    let crashed = false;

    consumer.on(consumer.events.GROUP_JOIN, () => {
      joined = true;
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      crashed = !payload.restart;
      log.error('consumer crashed', { error: payload.error, restart: payload.restart });
    });

    const subscription: Subscription = {
      topics,
      groupId,
      ready: () => joined && !crashed && !stopping.signal.aborted,
      stop: async () => {
        if (stopping.signal.aborted) return;
        stopping.abort();
        this.subscriptions.delete(subscription);
        await disconnectForGood(consumer);
        log.info('subscription stopped');
      },
    };

    const joinedOnce = new Promise<void>((resolve, reject) => {
      const timeout = setTimeout(
        () =>
          reject(
            new Error(`group ${groupId} did not assign partitions of ${topics.join(', ')} in time`),
          ),
        options.joinTimeoutMs ?? 30_000,
      );
      const remove = consumer.on(consumer.events.GROUP_JOIN, () => {
        clearTimeout(timeout);
        remove();
        resolve();
      });
    });

    try {
      await consumer.connect();
      await consumer.subscribe({
        topics: [...byPhysical.keys()],
        fromBeginning: options.fromBeginning ?? true,
      });
      await consumer.run(
        runConfig({
          groupId,
          topicOf: (physical) => byPhysical.get(physical) as Topic,
          stopping: stopping.signal,
          log,
          markCrashed: () => {
            crashed = true;
          },
        }),
      );
      await joinedOnce;
    } catch (error) {
      stopping.abort();
      await disconnectForGood(consumer).catch(() => undefined);
      throw error;
    }
    this.subscriptions.add(subscription);
    log.info('subscribed');
    return subscription;
  }

  /**
   * One bounded batch of a partition. Resolves `true` when the whole batch went through the
   * batch handler (offsets are the caller's to resolve), `false` when it was handled one at a
   * time (each offset already resolved as it was handled).
   * @throws when stopping mid-way: the unhandled rest stays unresolved.
   */
  private async consumeBatch<T extends Topic>(
    topic: T,
    groupId: string,
    handler: BatchEventHandler<T>,
    {
      batch,
      messages,
      heartbeat,
      resolveOffset,
    }: {
      batch: Batch;
      messages: KafkaMessage[];
      heartbeat: () => Promise<void>;
      resolveOffset: (offset: string) => void;
    },
    stopping: AbortSignal,
    log: Logger,
  ): Promise<boolean> {
    const valid: ConsumedEvent<T>[] = [];
    const invalid: Promise<void>[] = [];
    for (const message of messages) {
      const context: EventContext = {
        topic,
        partition: batch.partition,
        offset: message.offset,
        key: message.key?.toString() ?? null,
        headers: readHeaders(message.headers),
        attempt: 1,
      };
      const decoded = decodeEvent(message.value, topic);
      if (decoded.ok) valid.push({ event: decoded.event as EventOn<T>, context });
      else {
        const reason = describeIssues(decoded.issues);
        invalid.push(this.deadLetter(context, message, groupId, reason, 0, undefined, log));
      }
    }
    // Dead-lettered before the batch commits: a crash in between dead-letters them again,
    // as with one event at a time (the dead-letter topic is at-least-once too).
    await Promise.all(invalid);
    if (valid.length === 0) return true;
    try {
      await handler.batch(valid, { heartbeat, signal: stopping });
      return true;
    } catch (error) {
      if (stopping.aborted) throw error;
      log.warn('batch failed; handling its events one at a time', {
        partition: batch.partition,
        firstOffset: valid[0]?.context.offset,
        size: valid.length,
        error,
      });
    }
    const byOffset = new Map(messages.map((m) => [m.offset, m]));
    for (const { event, context } of valid) {
      await this.handleWithRetries(
        event,
        context,
        groupId,
        handler.each,
        byOffset.get(context.offset) as KafkaMessage,
        heartbeat,
        stopping,
        log,
      );
      resolveOffset(context.offset);
      await heartbeat();
    }
    // Invalid messages after the last valid one were dead-lettered above.
    resolveOffset((messages[messages.length - 1] as KafkaMessage).offset);
    return false;
  }

  private async consumeOne<T extends Topic>(
    topic: T,
    groupId: string,
    handler: EventHandler<T>,
    {
      partition,
      message,
      heartbeat,
    }: { partition: number; message: KafkaMessage; heartbeat: () => Promise<void> },
    stopping: AbortSignal,
    log: Logger,
  ): Promise<void> {
    const headers = readHeaders(message.headers);
    const context: EventContext = {
      topic,
      partition,
      offset: message.offset,
      key: message.key?.toString() ?? null,
      headers,
      attempt: 0,
    };
    const decoded = decodeEvent(message.value, topic);
    if (!decoded.ok) {
      await this.deadLetter(
        context,
        message,
        groupId,
        describeIssues(decoded.issues),
        0,
        undefined,
        log,
      );
      return;
    }
    await this.handleWithRetries(
      decoded.event as EventOn<T>,
      context,
      groupId,
      handler,
      message,
      heartbeat,
      stopping,
      log,
    );
  }

  /** Runs a handler with bounded retries, then dead-letters the event with `handler.failed`. */
  private async handleWithRetries<T extends Topic>(
    event: EventOn<T>,
    context: EventContext,
    groupId: string,
    handler: EventHandler<T>,
    message: KafkaMessage,
    heartbeat: () => Promise<void>,
    stopping: AbortSignal,
    log: Logger,
  ): Promise<void> {
    const maxAttempts = this.options.handlerRetries + 1;
    for (let attempt = 1; ; attempt++) {
      try {
        await handler(event, { ...context, attempt });
        return;
      } catch (error) {
        const reason = `handler failed: ${errorMessage(error)}`;
        // Stopping mid-retry: leave the offset unresolved so the message is delivered again.
        if (stopping.aborted) throw error;
        if (attempt >= maxAttempts) {
          await this.deadLetter(context, message, groupId, reason, attempt, event, log);
          return;
        }
        log.warn('handler failed, will retry', { eventId: event.eventId, attempt, error });
        const delay = Math.min(
          this.options.handlerRetryMs * 2 ** (attempt - 1),
          MAX_RETRY_DELAY_MS,
        );
        await sleep(delay, stopping);
        await heartbeat();
      }
    }
  }

  private async deadLetter(
    context: EventContext,
    message: KafkaMessage,
    groupId: string,
    reason: string,
    attempts: number,
    event: DomainEvent | undefined,
    log: Logger,
  ): Promise<void> {
    const dlq = this.deadLetterTopicName(context.topic);
    await this.batcher.enqueue({
      topic: dlq,
      message: {
        key: message.key,
        value: message.value,
        headers: {
          ...message.headers,
          [DEAD_LETTER_HEADERS.reason]: reason,
          [DEAD_LETTER_HEADERS.originalTopic]: this.topicName(context.topic),
          [DEAD_LETTER_HEADERS.originalPartition]: String(context.partition),
          [DEAD_LETTER_HEADERS.originalOffset]: context.offset,
          [DEAD_LETTER_HEADERS.groupId]: groupId,
          [DEAD_LETTER_HEADERS.service]: this.serviceName,
          [DEAD_LETTER_HEADERS.attempts]: String(attempts),
          [DEAD_LETTER_HEADERS.failedAt]: new Date().toISOString(),
        },
      },
    });
    log.warn('message dead-lettered', {
      reason,
      partition: context.partition,
      offset: context.offset,
      eventId: event?.eventId,
      deadLetterTopic: dlq,
    });
    if (this.options.announce) {
      await this.publishSystem('handler.failed', {
        service: this.serviceName,
        groupId,
        topic: this.topicName(context.topic),
        partition: context.partition,
        offset: context.offset,
        ...(event ? { eventId: event.eventId, eventType: event.eventType } : {}),
        error: reason,
        attempts,
        deadLetterTopic: dlq,
      });
    }
  }

  /**
   * Announcements are best effort: a lost `service.stopped` must not fail a shutdown. They
   * bypass the started-state check because they are sent while starting and stopping.
   */
  private async publishSystem<T extends 'service.started' | 'service.stopped' | 'handler.failed'>(
    type: T,
    payload: PayloadOf<T>,
  ): Promise<void> {
    try {
      const event = SystemEventFactory.create(type, this.serviceName, payload) as DomainEvent;
      await this.batcher.enqueue({
        topic: this.topicName('system-events'),
        message: toMessage(event),
      });
    } catch (error) {
      this.log.warn(`could not publish ${type}`, { error });
    }
  }

  /**
   * Creates missing topics. Asks the broker to create them all and lets it answer "already
   * exists", rather than listing topics first: a listing fails while another client deletes a
   * topic, and two services starting together would race between list and create anyway.
   */
  private async ensureTopics(): Promise<void> {
    const wanted = this.options.topics.flatMap((t) => [
      this.topicName(t),
      this.deadLetterTopicName(t),
    ]);
    const { brokers } = await this.admin.describeCluster();
    const replication = topicReplication(
      brokers.length,
      this.options.replicationFactor,
      this.options.minInsyncReplicas,
    );
    const created = await this.admin.createTopics({
      waitForLeaders: true,
      topics: wanted.map((topic) => ({
        topic,
        numPartitions: this.options.partitions,
        replicationFactor: replication.replicationFactor,
        configEntries: [
          { name: 'min.insync.replicas', value: String(replication.minInsyncReplicas) },
        ],
      })),
    });
    if (created) this.log.info('created topics', { topics: wanted, ...replication });
  }

  private async sendBatch(batch: OutgoingMessage[]): Promise<void> {
    const byTopic = new Map<string, OutgoingMessage['message'][]>();
    for (const { topic, message } of batch) {
      const list = byTopic.get(topic);
      if (list) list.push(message);
      else byTopic.set(topic, [message]);
    }
    const started = performance.now();
    await this.producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
    this.onProduceRequest?.({ messages: batch.length, durationMs: performance.now() - started });
  }

  private assertRunning(what: string): void {
    if (this.state !== 'started') {
      throw new KafkaServiceStateError(
        `cannot ${what}: kafka service ${this.serviceName} is ${this.state}`,
      );
    }
  }

  /** kafkajs logs retriable conditions (rebalances, leader moves) as errors; ours are warnings. */
  private kafkaLog({ level, log }: LogEntry): void {
    const { message, ...fields } = log;
    if (level <= KafkaLogLevel.ERROR) this.log.warn(`kafkajs: ${message}`, fields);
    else this.log.debug(`kafkajs: ${message}`, fields);
  }
}

function toMessage(event: DomainEvent): OutgoingMessage['message'] {
  return { key: aggregateKey(event), value: JSON.stringify(event), headers: eventHeaders(event) };
}

function eventHeaders(
  event: Pick<SerializedEvent, 'eventId' | 'eventType' | 'version' | 'source'>,
): IHeaders {
  return {
    [EVENT_HEADERS.eventId]: event.eventId,
    [EVENT_HEADERS.eventType]: event.eventType,
    [EVENT_HEADERS.version]: event.version,
    [EVENT_HEADERS.source]: event.source,
    [EVENT_HEADERS.contentType]: 'application/json',
  };
}

function describeIssues(issues: FieldIssue[]): string {
  return `invalid event: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error('stopping'));
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Error('stopping'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
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
