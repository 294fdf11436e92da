/**
 * The consuming side of `KafkaService`: one kafkajs consumer per subscription, in a consumer
 * group, reading one or several topics.
 *
 * - Each message is validated before a handler sees it; an invalid one is dead-lettered
 *   (dead-letter.ts) and the consumer moves on.
 * - A valid event goes to its topic's handler through the retries of handler-retry.ts.
 * - Offsets are resolved only for messages whose handler succeeded or that were dead-lettered,
 *   and committed at least every 100 messages or every second, at the end of a fetched batch,
 *   and on stop.
 * - {@link subscribeBatches} hands a handler all valid events of a fetched partition batch at once
 *   and resolves the batch's offsets only after it resolved; when it throws, the batch is replayed
 *   one event at a time through the retries, so a poison event is isolated.
 * - With a schema registry, a message whose event type or version the catalog lacks, but whose
 *   `schema-id` header names its schema, is validated against that schema
 *   (events/registry/unknown-version.ts): valid, it goes to the subscription's
 *   `onUnknownVersion` handler (never to a typed one), or is dead-lettered when there is none;
 *   invalid, it is dead-lettered with the failing fields. A registry that cannot be asked fails
 *   the fetch, which kafkajs retries: the message is neither handled nor dead-lettered until then.
 */
import type { ConsumerRunConfig, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from '../../lib/logger';
import type { EventOn } from '../catalog';
import type { Topic } from '../topics';
import { decodeEvent } from '../validate';
import { invalidReason, type DeadLetter } from './dead-letter';
import { extractTraceContext, inSpan, SpanKind, type SpanOptions } from '../../lib/tracing';
import { EVENT_HEADERS, readHeaders } from './headers';
import type { RunHandler } from './handler-retry';
import { disconnectForGood } from './kafkajs-fixes';
import type { KafkaMeter, SubscriptionMeter } from './metrics';
import { SchemaRegistryError, type SchemaRegistry } from '../registry/client';
import {
  parseSchemaId,
  unknownToCatalog,
  validateByRegistry,
  type RegistryValidatedEvent,
} from '../registry/unknown-version';

export type { RegistryValidatedEvent } from '../registry/unknown-version';

/**
 * Handles an event of a type or version the catalog does not know, validated against its
 * registry schema (its payload is only known to match that schema); throwing makes it be retried
 * or dead-lettered like any handler's.
 */
export type UnknownVersionHandler = (
  event: RegistryValidatedEvent,
  context: EventContext,
) => Promise<void>;

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

/** Handles one valid event of topic `T`; throwing makes it be retried or dead-lettered. */
export type EventHandler<T extends Topic> = (
  event: EventOn<T>,
  context: EventContext,
) => Promise<void>;

/** Options of `subscribe` and `subscribeAll`. */
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
  /**
   * Takes the events of a type or version this catalog does not know that the schema registry
   * validated (see {@link RegistryValidatedEvent}); typed handlers never see them. Without it
   * (or without a registry) they are dead-lettered. @default none
   */
  onUnknownVersion?: UnknownVersionHandler;
}

/** A running consumer of one or several topics in a group. */
export interface Subscription {
  readonly topics: readonly Topic[];
  readonly groupId: string;
  /** True while the consumer is a member of its group and has not crashed. */
  ready(): boolean;
  /**
   * Stops fetching (the member stays in its group and keeps its partitions; what it handled is
   * committed), until {@link Subscription.resume}.
   */
  pause(): void;
  /** Fetches again after {@link Subscription.pause}. */
  resume(): void;
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
 * A topic's handler for `KafkaService.subscribeBatch`: `batch` takes every valid event of a
 * (bounded) fetched batch of one partition, in offset order, and must apply all of them or none
 * (one transaction); `each` takes one event, for the fallback and for `batch: false`.
 */
export interface BatchEventHandler<T extends Topic> {
  batch(events: ConsumedEvent<T>[], control: BatchControl): Promise<void>;
  each: EventHandler<T>;
}

/** One batch handler per topic. */
export type TopicBatchHandlers = { [T in Topic]?: BatchEventHandler<T> };

/** Where a batch lies in its partition, for hooks and logs. */
export interface BatchPosition {
  topic: Topic;
  partition: number;
  firstOffset: string;
  lastOffset: string;
  size: number;
}

/** Options of `subscribeBatch`. */
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

/** What the consumers need of the service that owns them. */
export interface ConsumerRuntime {
  kafka: Kafka;
  /** The physical name of a logical topic. */
  topicName: (topic: Topic) => string;
  /** The physical id of a logical consumer group. */
  groupName: (groupId: string) => string;
  log: Logger;
  /** Partitions per topic, for the default concurrency of batches. */
  partitions: number;
  runHandler: RunHandler;
  deadLetter: DeadLetter;
  /** The service's subscriptions: one is added once it has joined, and removed when it stops. */
  subscriptions: Set<Subscription>;
  /** The service's metrics (metrics.ts). */
  meter: KafkaMeter;
  /** Validates events the catalog does not know (by their `schema-id`). @default none */
  schemaRegistry?: SchemaRegistry | undefined;
}

/** What a subscription's run configuration may use. */
interface RunContext {
  groupId: string;
  topicOf: (physical: string) => Topic;
  stopping: AbortSignal;
  log: Logger;
  markCrashed: () => void;
  meter: SubscriptionMeter;
  onUnknownVersion: UnknownVersionHandler | undefined;
}

/**
 * Consumes the topics of `handlers` in group `logicalGroupId`, one message at a time, each with
 * its topic's handler (`KafkaService.subscribeAll`). Resolves once the group has assigned this
 * member its partitions.
 */
export function subscribeEach(
  runtime: ConsumerRuntime,
  logicalGroupId: string,
  handlers: TopicHandlers,
  options: SubscribeOptions,
): Promise<Subscription> {
  return startConsumer(runtime, logicalGroupId, handlers, options, (ctx) => ({
    autoCommit: true,
    // Commit at least every 100 handled messages or every second, and always at the end
    // of a fetched batch and on stop; only handled (or dead-lettered) offsets are resolved.
    autoCommitThreshold: 100,
    autoCommitInterval: 1_000,
    partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
    eachMessage: ({ topic: physical, partition, message, heartbeat }) => {
      const topic = ctx.topicOf(physical);
      return consumeOne(runtime, ctx, topic, handlers[topic] as EventHandler<Topic>, {
        partition,
        message,
        heartbeat,
      });
    },
  }));
}

/**
 * Consumes the topics of `handlers` in group `logicalGroupId` a fetched batch at a time
 * (`KafkaService.subscribeBatch`, which documents the behaviour). Resolves once the group has
 * assigned this member its partitions.
 */
export function subscribeBatches(
  runtime: ConsumerRuntime,
  logicalGroupId: string,
  handlers: TopicBatchHandlers,
  options: BatchSubscribeOptions,
): Promise<Subscription> {
  // One per partition the group reads (at most; kafkajs only runs what is assigned).
  const concurrency =
    options.partitionsConsumedConcurrently ?? runtime.partitions * Object.keys(handlers).length;
  if (options.batch === false) {
    // The same concurrency as batches, so a comparison shows what batching alone changes.
    const each: TopicHandlers = {};
    for (const topic of Object.keys(handlers) as Topic[]) {
      const handler = handlers[topic] as BatchEventHandler<Topic> | undefined;
      if (handler) (each as Record<Topic, EventHandler<Topic>>)[topic] = handler.each;
    }
    return subscribeEach(runtime, logicalGroupId, each, {
      ...options,
      partitionsConsumedConcurrently: concurrency,
    });
  }
  const maxBatchSize = options.maxBatchSize ?? 500;
  let crashed = false;
  return startConsumer(runtime, logicalGroupId, handlers, options, (ctx) => ({
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
          handled = await consumeBatch(runtime, ctx, topic, handler, {
            partition: batch.partition,
            messages,
            heartbeat,
            resolveOffset,
          });
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

/** The consumer lifecycle shared by {@link subscribeEach} and {@link subscribeBatches}. */
async function startConsumer(
  runtime: ConsumerRuntime,
  logicalGroupId: string,
  handlers: TopicHandlers | TopicBatchHandlers,
  options: SubscribeOptions,
  runConfig: (ctx: RunContext) => ConsumerRunConfig,
): Promise<Subscription> {
  const topics = (Object.keys(handlers) as Topic[]).filter((t) => handlers[t] !== undefined);
  if (topics.length === 0) throw new Error('a subscription needs at least one topic handler');
  const byPhysical = new Map(topics.map((t) => [runtime.topicName(t), t]));
  const groupId = runtime.groupName(logicalGroupId);
  const log = runtime.log.child({ topics: [...byPhysical.keys()], groupId });
  const stopping = new AbortController();
  const consumer = runtime.kafka.consumer({
    groupId,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: options.maxWaitTimeInMs ?? 500,
    // A crash while stopping must not bring the consumer back (see disconnectForGood).
    retry: { restartOnFailure: async () => !stopping.signal.aborted },
  });
  let joined = false;
  let crashed = false;
  const meter = runtime.meter.subscription(logicalGroupId, topics);

  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    joined = true;
    const assigned = new Map<Topic, number>();
    for (const [physical, partitions] of Object.entries(payload.memberAssignment)) {
      const topic = byPhysical.get(physical);
      if (topic) assigned.set(topic, partitions.length);
    }
    meter.assigned(assigned);
    meter.transition('join');
  });
  consumer.on(consumer.events.REBALANCING, () => meter.transition('rebalance'));
  consumer.on(consumer.events.HEARTBEAT, () => meter.progress());
  consumer.on(consumer.events.FETCH_START, () => meter.progress());
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    crashed = !payload.restart;
    meter.transition('crash');
    log.error('consumer crashed', { error: payload.error, restart: payload.restart });
  });

  const physicalTopics = [...byPhysical.keys()].map((topic) => ({ topic }));
  const subscription: Subscription = {
    topics,
    groupId,
    ready: () => joined && !crashed && !stopping.signal.aborted,
    pause: () => consumer.pause(physicalTopics),
    resume: () => consumer.resume(physicalTopics),
    stop: async () => {
      if (stopping.signal.aborted) return;
      stopping.abort();
      runtime.subscriptions.delete(subscription);
      await disconnectForGood(consumer);
      meter.transition('stop');
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
        meter,
        onUnknownVersion: options.onUnknownVersion,
      }),
    );
    await joinedOnce;
  } catch (error) {
    stopping.abort();
    await disconnectForGood(consumer).catch(() => undefined);
    meter.transition('stop');
    throw error;
  }
  runtime.subscriptions.add(subscription);
  log.info('subscribed');
  return subscription;
}

/**
 * One bounded batch of a partition. Resolves `true` when the whole batch went through the
 * batch handler (offsets are the caller's to resolve), `false` when it was handled one at a
 * time (each offset already resolved as it was handled).
 * @throws when stopping mid-way: the unhandled rest stays unresolved.
 */
async function consumeBatch<T extends Topic>(
  runtime: ConsumerRuntime,
  ctx: RunContext,
  topic: T,
  handler: BatchEventHandler<T>,
  {
    partition,
    messages,
    heartbeat,
    resolveOffset,
  }: {
    partition: number;
    messages: KafkaMessage[];
    heartbeat: () => Promise<void>;
    resolveOffset: (offset: string) => void;
  },
): Promise<boolean> {
  const { groupId, stopping, log, meter } = ctx;
  meter.consumed(topic, messages.length);
  const valid: ConsumedEvent<T>[] = [];
  const invalid: Promise<void>[] = [];
  const unknown: { read: RegistryRead; message: KafkaMessage }[] = [];
  for (const message of messages) {
    // Attempt 1: the batch handler is the first delivery (the fallback's retries count anew).
    const reading = readMessage(runtime, topic, partition, message, 1);
    const read = reading instanceof Promise ? await reading : reading;
    if (read.ok === true) valid.push({ event: read.event, context: read.context });
    else if (read.ok === 'registry') unknown.push({ read, message });
    else {
      const { context, reason } = read;
      invalid.push(runtime.deadLetter({ context, message, groupId, reason, attempts: 0 }, log));
    }
  }
  // Dead-lettered before the batch commits: a crash in between dead-letters them again,
  // as with one event at a time (the dead-letter topic is at-least-once too).
  await Promise.all(invalid);
  for (let i = 0; i < invalid.length; i++) meter.deadLettered(topic, 'invalid');
  // Events only the registry knows, one at a time before the typed batch, the same way.
  for (const { read, message } of unknown)
    await handleUnknown(runtime, ctx, read, message, heartbeat);
  if (valid.length === 0) return true;
  try {
    const started = performance.now();
    // One span for the batch, continuing the trace of its first event (lib/tracing.ts).
    await inSpan(
      `process ${topic}`,
      consumerSpan(topic, groupId, valid[0]?.context, valid.length),
      () => handler.batch(valid, { heartbeat, signal: stopping }),
    );
    // One observation per event, each its share of the batch's time.
    const share = (performance.now() - started) / 1000 / valid.length;
    for (const { event } of valid) meter.handled(topic, event.eventType, share);
    return true;
  } catch (error) {
    if (stopping.aborted) throw error;
    log.warn('batch failed; handling its events one at a time', {
      partition,
      firstOffset: valid[0]?.context.offset,
      size: valid.length,
      error,
    });
  }
  const byOffset = new Map(messages.map((m) => [m.offset, m]));
  for (const { event, context } of valid) {
    await inSpan(`process ${topic}`, consumerSpan(topic, groupId, context, 1), () =>
      runtime.runHandler({
        event,
        context,
        groupId,
        handler: handler.each,
        message: byOffset.get(context.offset) as KafkaMessage,
        heartbeat,
        stopping,
        log,
        meter,
      }),
    );
    resolveOffset(context.offset);
    await heartbeat();
  }
  // Invalid messages after the last valid one were dead-lettered above.
  resolveOffset((messages[messages.length - 1] as KafkaMessage).offset);
  return false;
}

/** One message of `subscribeEach`: validated, then handled with retries or dead-lettered. */
async function consumeOne<T extends Topic>(
  runtime: ConsumerRuntime,
  ctx: RunContext,
  topic: T,
  handler: EventHandler<T>,
  {
    partition,
    message,
    heartbeat,
  }: { partition: number; message: KafkaMessage; heartbeat: () => Promise<void> },
): Promise<void> {
  const { groupId, log, meter } = ctx;
  // Attempt 0: the handler retries set it for each call.
  meter.consumed(topic);
  const reading = readMessage(runtime, topic, partition, message, 0);
  const read = reading instanceof Promise ? await reading : reading;
  if (read.ok === 'registry') {
    await handleUnknown(runtime, ctx, read, message, heartbeat);
    return;
  }
  if (!read.ok) {
    const { context, reason } = read;
    await runtime.deadLetter({ context, message, groupId, reason, attempts: 0 }, log);
    meter.deadLettered(topic, 'invalid');
    return;
  }
  await handleInSpan(runtime, ctx, topic, read.event, read.context, handler, message, heartbeat);
}

/** One event to its handler, with retries (or dead-lettering), in a consumer span. */
function handleInSpan<T extends Topic>(
  runtime: ConsumerRuntime,
  { groupId, stopping, log, meter }: RunContext,
  topic: T,
  event: EventOn<T>,
  context: EventContext,
  handler: EventHandler<T>,
  message: KafkaMessage,
  heartbeat: () => Promise<void>,
): Promise<void> {
  return inSpan(`process ${topic}`, consumerSpan(topic, groupId, context, 1), () =>
    runtime.runHandler({
      event,
      context,
      groupId,
      handler,
      message,
      heartbeat,
      stopping,
      log,
      meter,
    }),
  );
}

/**
 * A consumer span's options: a child of the trace context in the message's headers (the
 * request that published it), with OpenTelemetry's messaging attributes.
 */
function consumerSpan(
  topic: Topic,
  groupId: string,
  context: EventContext | undefined,
  count: number,
): SpanOptions {
  return {
    kind: SpanKind.CONSUMER,
    parent: extractTraceContext(context?.headers),
    attributes: {
      'messaging.system': 'kafka',
      'messaging.operation.type': 'process',
      'messaging.destination.name': topic,
      'messaging.consumer.group.name': groupId,
      'messaging.batch.message_count': count,
      ...(context
        ? {
            'messaging.destination.partition.id': String(context.partition),
            'messaging.kafka.offset': Number(context.offset),
            ...(context.headers[EVENT_HEADERS.eventType]
              ? { 'event.type': context.headers[EVENT_HEADERS.eventType] }
              : {}),
          }
        : {}),
    },
  };
}

/** A message the catalog does not know that its registry schema validated. */
interface RegistryRead {
  ok: 'registry';
  context: EventContext;
  event: RegistryValidatedEvent;
}

/**
 * An event validated by the registry: to the subscription's `onUnknownVersion` handler, with
 * its retries, or dead-lettered when it has none (as it would be without a registry).
 */
async function handleUnknown(
  runtime: ConsumerRuntime,
  run: RunContext,
  { context, event }: RegistryRead,
  message: KafkaMessage,
  heartbeat: () => Promise<void>,
): Promise<void> {
  const { groupId, log, meter, onUnknownVersion } = run;
  if (onUnknownVersion === undefined) {
    const reason = `unknown event: ${event.eventType} ${event.version} is not in this consumer's catalog (its payload matches registry schema ${event.schemaId}) and the subscription has no onUnknownVersion handler`;
    await runtime.deadLetter({ context, message, groupId, reason, attempts: 0 }, log);
    meter.deadLettered(context.topic, 'invalid');
    return;
  }
  // The retries only pass the event through to the handler, which takes it as what it is.
  const handler: EventHandler<Topic> = (_event, ctx) => onUnknownVersion(event, ctx);
  const passed = event as unknown as EventOn<Topic>;
  await handleInSpan(runtime, run, context.topic, passed, context, handler, message, heartbeat);
}

/**
 * Where a message came from and its event, validated against `topic`'s catalog entries (or,
 * when the catalog lacks its type or version, against its registry schema); or, for a message
 * that is no valid event, the dead-letter reason. Synchronous (no promise) unless the registry
 * is asked, so a valid event costs no extra turn of the event loop.
 * @throws {SchemaRegistryError} when the registry cannot be asked now (retriable).
 */
function readMessage<T extends Topic>(
  runtime: ConsumerRuntime,
  topic: T,
  partition: number,
  message: KafkaMessage,
  attempt: number,
): MessageRead<T> | Promise<MessageRead<T>> {
  const context: EventContext = {
    topic,
    partition,
    offset: message.offset,
    key: message.key?.toString() ?? null,
    headers: readHeaders(message.headers),
    attempt,
  };
  const decoded = decodeEvent(message.value, topic);
  if (decoded.ok) {
    const read: MessageRead<T> = { ok: true, context, event: decoded.event as EventOn<T> };
    return read;
  }
  const invalid = { ok: false as const, context, reason: invalidReason(decoded.issues) };
  const registry = runtime.schemaRegistry;
  const schemaId = parseSchemaId(context.headers[EVENT_HEADERS.schemaId]);
  if (registry === undefined || schemaId === undefined) return invalid;
  const envelope = unknownToCatalog(message.value, topic);
  if (envelope === undefined) return invalid;
  return validateByRegistry(envelope, schemaId, registry).then(
    (checked): MessageRead<T> =>
      checked.ok
        ? { ok: 'registry', context, event: checked.event }
        : { ok: false, context, reason: invalidReason(checked.issues) },
    (error: unknown) => {
      // An unknown schema id is the message's fault; anything else may pass: fail the fetch,
      // so the message is read again.
      if (error instanceof SchemaRegistryError && !error.retriable)
        return { ok: false, context, reason: `${invalid.reason}; ${error.message}` };
      throw error;
    },
  );
}

/** What {@link readMessage} found. */
type MessageRead<T extends Topic> =
  | { ok: true; context: EventContext; event: EventOn<T> }
  | RegistryRead
  | { ok: false; context: EventContext; reason: string };
