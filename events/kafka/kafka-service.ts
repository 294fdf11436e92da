/**
 * The Kafka adapter with the design's API: `new KafkaService(serviceName, options)`,
 * `publishEvent(topic, event)`, `subscribe(topic, groupId, handler)`, and `start`/`stop`/`ready`.
 * This class owns the client and the lifecycle and wires the parts, one module per concern:
 * producer.ts (the batched, idempotent producer and the wire form of events), admin.ts (topics,
 * replication, offsets), consumer.ts (subscriptions and their consumer loop), handler-retry.ts
 * (retries of a failing handler) and dead-letter.ts (the dead-letter topics and `handler.failed`).
 *
 * Guarantees:
 * - publishing validates the event first and sends nothing when it is invalid;
 * - messages are keyed by the event's aggregate id and carry type/version/source headers;
 * - the producer is idempotent and waits for all in-sync replicas;
 * - a consumer validates each message before its handler sees it; invalid messages, and messages
 *   whose handler still fails after bounded retries (with jittered exponential backoff), go to
 *   the topic's dead-letter topic, and the consumer moves on; a handler error that retrying
 *   cannot help (`isRetriable` of contracts/errors.ts is false: a `DomainError` with a
 *   non-retriable code, an invalid event, `retriable: false`) is dead-lettered at the first
 *   attempt;
 * - offsets are committed only for messages whose handler succeeded or that were dead-lettered;
 * - `subscribeBatch` hands a handler all valid events of a fetched partition batch at once (one
 *   database transaction per batch, see `events/consumers/batch.ts`) and resolves the batch's
 *   offsets only after it resolved; when it throws, the batch is replayed one event at a time
 *   through the retry / dead-letter path, so a poison event is isolated;
 * - with a `schemaRegistry`, every published message carries the `schema-id` header of its
 *   payload schema, registered on first use (events/registry/schema-ids.ts); a registry that
 *   cannot be reached fails the publish like a broker failure (the outbox retries the row). A
 *   consumer validates an event of a type or version its catalog lacks against the registry's
 *   schema of that id and hands it to `onUnknownVersion` (consumer.ts).
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import {
  type Admin,
  type Consumer,
  type ConsumerConfig,
  type LogEntry,
  Kafka,
  logLevel as KafkaLogLevel,
} from 'kafkajs';
import type { Registry } from 'prom-client';
import type { KafkaConfig } from '../../config';
import { createSchemaRegistry, type SchemaRegistry } from '../registry/client';
import { schemaIds, type SchemaIdOf } from '../registry/schema-ids';
import { silentLogger, type Logger } from '../../lib/logger';
import type { EventOn } from '../catalog';
import type { Source } from '../envelope';
import { TOPICS, deadLetterTopic, type Topic } from '../topics';
import { parseEvent } from '../validate';
import { ensureTopics, fetchTopicOffsets } from './admin';
import {
  subscribeBatches,
  subscribeEach,
  type BatchSubscribeOptions,
  type ConsumerRuntime,
  type EventHandler,
  type SubscribeOptions,
  type Subscription,
  type TopicBatchHandlers,
  type TopicHandlers,
} from './consumer';
import { createDeadLetter } from './dead-letter';
import { createHandlerRunner } from './handler-retry';
import { KafkaMeter } from './metrics';
import {
  createAnnouncer,
  createEventProducer,
  eventMessage,
  serializedMessage,
  type Announce,
  type EventProducer,
  type SerializedEvent,
} from './producer';

// The public API of the Kafka adapter: what callers import from this module.
export { KafkaConfigurationError, topicReplication } from './admin';
export type {
  BatchControl,
  BatchEventHandler,
  BatchPosition,
  BatchSubscribeOptions,
  ConsumedEvent,
  EventContext,
  EventHandler,
  SubscribeOptions,
  Subscription,
  TopicBatchHandlers,
  TopicHandlers,
  RegistryValidatedEvent,
  UnknownVersionHandler,
} from './consumer';
export type { SerializedEvent } from './producer';

/** Options of {@link KafkaService}; `fromConfig` fills them from the configuration. */
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
  /**
   * Attempts after the first failure before a message is dead-lettered; an error `isRetriable`
   * (contracts/errors.ts) calls non-retriable is dead-lettered at once. @default 3
   */
  handlerRetries?: number;
  /**
   * The ceiling of the first retry's delay; it doubles each attempt, capped at 10 s, and each
   * delay is jittered between half of its ceiling and all of it. @default 200
   */
  handlerRetryMs?: number;
  /** Publish `service.started`, `service.stopped` and `handler.failed` on system-events. @default true */
  announce?: boolean;
  /** Identifies this process among replicas of the service. @default `${service}-${host}-${pid}-${random}` */
  instanceId?: string;
  /** @default silentLogger */
  logger?: Logger;
  /** Called after each produce request, for metrics and benchmarks. */
  onProduceRequest?: (request: { messages: number; durationMs: number }) => void;
  /**
   * The process's registry, to which the `kafka_*` figures are added (events/kafka/metrics.ts;
   * once per registry, however many services share it). @default none: nothing is measured
   */
  metrics?: Registry;
  /**
   * The schema registry this service registers the schemas it produces with, stamping each
   * message with its `schema-id`; consumers validate events their catalog does not know against
   * it. @default none: no header, and unknown versions are invalid
   */
  schemaRegistry?: SchemaRegistry | undefined;
}

/** Thrown by `publishEvent` and `subscribe` when the service is not started. */
export class KafkaServiceStateError extends Error {
  override readonly name = 'KafkaServiceStateError';
}

/**
 * One service's connection to Kafka: its producer, its admin client and its subscriptions, each
 * with its own consumer. Nothing connects before `start`; `stop` ends everything it started.
 */
export class KafkaService {
  readonly instanceId: string;
  private readonly kafka: Kafka;
  private readonly producer: EventProducer;
  private readonly admin: Admin;
  private readonly subscriptions = new Set<Subscription>();
  private readonly consumers: ConsumerRuntime;
  private readonly announce: Announce;
  private readonly log: Logger;
  private readonly options: Required<
    Omit<
      KafkaServiceOptions,
      'logger' | 'instanceId' | 'onProduceRequest' | 'metrics' | 'schemaRegistry'
    >
  >;
  private readonly schemaIdOf: SchemaIdOf | undefined;
  private readonly meter: KafkaMeter;
  private state: 'new' | 'starting' | 'started' | 'stopping' | 'stopped' = 'new';
  private startedAt = 0;

  /** A service's Kafka client from the platform's configuration (`config.kafka`). */
  static fromConfig(
    serviceName: Source,
    config: KafkaConfig & { brokers: string[] },
    logger?: Logger,
    metrics?: Registry,
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
      ...(metrics ? { metrics } : {}),
      ...(config.schemaRegistryUrl
        ? { schemaRegistry: createSchemaRegistry({ url: config.schemaRegistryUrl }) }
        : {}),
    });
  }

  /** Creates the clients; nothing connects before {@link KafkaService.start}. */
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
    this.kafka = new Kafka({
      clientId: this.instanceId,
      brokers: this.options.brokers,
      logLevel: KafkaLogLevel.WARN,
      logCreator: () => (entry) => this.kafkaLog(entry),
      retry: { initialRetryTime: 100, retries: 8 },
    });
    this.admin = this.kafka.admin();
    this.meter = new KafkaMeter({
      admin: this.admin,
      topicName: (topic) => this.topicName(topic),
      groupName: (groupId) => this.groupName(groupId),
      topics: this.options.topics,
      running: () => this.state === 'started',
      onError: (error) => this.log.warn('could not read consumer lag for metrics', { error }),
    });
    if (options.metrics) this.meter.attach(options.metrics);
    this.producer = createEventProducer(this.kafka, options.onProduceRequest, (topic, count) =>
      this.meter.producedTo(topic, count),
    );
    this.schemaIdOf = options.schemaRegistry ? schemaIds(options.schemaRegistry) : undefined;
    this.announce = createAnnouncer(
      serviceName,
      this.topicName('system-events'),
      this.producer.send,
      this.log,
      this.schemaIdOf,
    );
    const deadLetter = createDeadLetter({
      service: serviceName,
      topicName: (topic) => this.topicName(topic),
      send: this.producer.send,
      announce: this.options.announce ? this.announce : undefined,
    });
    this.consumers = {
      kafka: this.kafka,
      topicName: (topic) => this.topicName(topic),
      groupName: (groupId) => this.groupName(groupId),
      log: this.log,
      partitions: this.options.partitions,
      runHandler: createHandlerRunner(
        { retries: this.options.handlerRetries, retryMs: this.options.handlerRetryMs },
        deadLetter,
      ),
      deadLetter,
      subscriptions: this.subscriptions,
      meter: this.meter,
      schemaRegistry: options.schemaRegistry,
    };
  }

  /**
   * Adds this service's `kafka_*` figures to `registry`, for a service made before its process's
   * registry (as the `metrics` option does). A service feeds one registry.
   * @returns false when the service already feeds another registry (nothing changes).
   */
  attachMetrics(registry: Registry): boolean {
    return this.meter.attach(registry);
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
      const topics = this.options.topics.flatMap((t) => [
        { name: this.topicName(t), keepForever: true },
        { name: this.deadLetterTopicName(t), keepForever: false },
      ]);
      await ensureTopics(this.admin, topics, this.options, this.log);
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
      await this.announce('service.started', {
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
      await this.announce('service.stopped', {
        service: this.serviceName,
        instanceId: this.instanceId,
        reason,
        uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      });
    }
    await this.producer.flushed();
    await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
    this.state = 'stopped';
    this.log.info('kafka service stopped');
  }

  /**
   * Validates and publishes one event, keyed by its aggregate id. Concurrent calls are batched
   * into one produce request.
   * @throws {EventValidationError} listing the failing fields; nothing is sent.
   * @throws {SchemaRegistryError} when its schema is not registered yet and the registry cannot
   * register it; nothing is sent.
   */
  async publishEvent<T extends Topic>(topic: T, event: EventOn<T>): Promise<void> {
    const valid = parseEvent(event, topic);
    this.assertRunning('publish');
    const schemaId = await this.schemaId(valid.eventType, valid.version);
    await this.producer.send({
      topic: this.topicName(topic),
      message: eventMessage(valid, schemaId),
    });
  }

  /**
   * Publishes an event serialized and validated earlier (an outbox row) as it is, without
   * parsing and validating it again (about 5 µs of zod per row saved): the relay's path.
   * Batched with concurrent sends like `publishEvent`; call order is kept per partition.
   */
  async publishSerialized(topic: Topic, event: SerializedEvent): Promise<void> {
    this.assertRunning('publish');
    const schemaId = await this.schemaId(event.eventType, event.version);
    await this.producer.send({
      topic: this.topicName(topic),
      message: serializedMessage(event, schemaId),
    });
  }

  /** The registry id of a payload schema (a Map lookup once known); none without a registry. */
  private schemaId(eventType: string, version: string): number | undefined | Promise<number> {
    return this.schemaIdOf?.(eventType, version);
  }

  /**
   * The partitions of a topic with their earliest (`low`) and next (`high`) offsets, as numbers
   * (offsets stay far below 2^53).
   */
  async topicOffsets(topic: Topic): Promise<{ partition: number; low: number; high: number }[]> {
    this.assertRunning('read offsets');
    return fetchTopicOffsets(this.admin, this.topicName(topic));
  }

  /**
   * The offsets consumer group `groupId` (logical, prefixed like every group) committed on the
   * partitions of `topic`: where it resumes, everything before handled or dead-lettered; `-1` on a
   * partition it never committed. In partition order.
   */
  async committedOffsets(
    groupId: string,
    topic: Topic,
  ): Promise<{ partition: number; offset: number }[]> {
    this.assertRunning('read offsets');
    const [committed] = await this.admin.fetchOffsets({
      groupId: this.groupName(groupId),
      topics: [this.topicName(topic)],
    });
    return (committed?.partitions ?? [])
      .map((p) => ({ partition: p.partition, offset: Number(p.offset) }))
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
    this.assertRunning('subscribe');
    return subscribeEach(this.consumers, logicalGroupId, handlers, options);
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
    this.assertRunning('subscribe');
    return subscribeBatches(this.consumers, logicalGroupId, handlers, options);
  }

  /**
   * Pauses this service's subscriptions in logical group `groupId`: they stay members of the
   * group and keep their partitions, but fetch nothing until {@link KafkaService.resume} (an
   * operator's brake, and how tests build up lag). @returns how many subscriptions were paused.
   */
  pause(groupId: string): number {
    return this.inGroup(groupId, (s) => s.pause());
  }

  /** Resumes what {@link KafkaService.pause} paused. @returns how many subscriptions. */
  resume(groupId: string): number {
    return this.inGroup(groupId, (s) => s.resume());
  }

  private inGroup(groupId: string, act: (subscription: Subscription) => void): number {
    const physical = this.groupName(groupId);
    let count = 0;
    for (const subscription of this.subscriptions) {
      if (subscription.groupId !== physical) continue;
      act(subscription);
      count++;
    }
    return count;
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
