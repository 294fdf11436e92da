/**
 * The producing side of `KafkaService`: one idempotent kafkajs producer that waits for all
 * in-sync replicas, behind a {@link SendBatcher} that coalesces concurrent sends into one produce
 * request while keeping their order; the wire form of an event (keyed by its aggregate id, with
 * the `event-*` headers, and `schema-id` with a registry); and the service's best-effort announcements on `system-events`.
 */
import { type IHeaders, type Kafka, type Message, Partitioners } from 'kafkajs';
import type { Logger } from '../../lib/logger';
import type { DomainEvent, PayloadOf } from '../catalog';
import type { Source } from '../envelope';
import { SystemEventFactory } from '../factories';
import { aggregateKey } from '../validate';
import { SendBatcher, type OutgoingMessage } from './batcher';
import { activeTraceparent, TRACEPARENT_HEADER } from '../../lib/tracing';
import { EVENT_HEADERS } from './headers';
import type { SchemaIdOf } from '../registry/schema-ids';

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
  /** The trace context of the request that made it (lib/tracing.ts), as the `traceparent` header. */
  traceparent?: string;
}

/** Called after each produce request, for metrics and benchmarks. */
export type ProduceRequestHook = (request: { messages: number; durationMs: number }) => void;

/** The service's producer; every send is batched with the concurrent ones. */
export interface EventProducer {
  connect(): Promise<void>;
  /** Resolves once the message is acknowledged by all in-sync replicas. */
  send(item: OutgoingMessage): Promise<void>;
  /** Resolves once everything queued so far has been sent (or failed). */
  flushed(): Promise<void>;
  disconnect(): Promise<void>;
}

/**
 * The producer of a service on the client `kafka`; `onProduceRequest` sees each request, and
 * `onProduced` each acknowledged topic's message count (for metrics).
 */
export function createEventProducer(
  kafka: Kafka,
  onProduceRequest?: ProduceRequestHook,
  onProduced?: (topic: string, count: number) => void,
): EventProducer {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
    // Bounded, so a publish during an outage fails in tens of seconds instead of hanging:
    // callers (the outbox relay) retry, and consumers are idempotent on eventId.
    retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 6 },
  });
  const batcher = new SendBatcher(async (batch) => {
    const byTopic = new Map<string, Message[]>();
    for (const { topic, message } of batch) {
      const list = byTopic.get(topic);
      if (list) list.push(message);
      else byTopic.set(topic, [message]);
    }
    const started = performance.now();
    await producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
    onProduceRequest?.({ messages: batch.length, durationMs: performance.now() - started });
    if (onProduced) for (const [topic, messages] of byTopic) onProduced(topic, messages.length);
  });
  return {
    connect: () => producer.connect(),
    send: (item) => batcher.enqueue(item),
    flushed: () => batcher.flushed(),
    disconnect: () => producer.disconnect(),
  };
}

/**
 * A validated event as a message: keyed by its aggregate id, with the `event-*` headers (and
 * `schema-id` when given: its payload schema's registry id).
 */
export function eventMessage(event: DomainEvent, schemaId?: number): Message {
  const traceparent = activeTraceparent();
  return {
    key: aggregateKey(event),
    value: JSON.stringify(event),
    headers: eventHeaders(traceparent ? { ...event, traceparent } : event, schemaId),
  };
}

/** A serialized event (an outbox row) as a message, as it is (with `schema-id` when given). */
export function serializedMessage(event: SerializedEvent, schemaId?: number): Message {
  return { key: event.key, value: event.value, headers: eventHeaders(event, schemaId) };
}

function eventHeaders(
  event: Pick<SerializedEvent, 'eventId' | 'eventType' | 'version' | 'source' | 'traceparent'>,
  schemaId: number | undefined,
): IHeaders {
  return {
    [EVENT_HEADERS.eventId]: event.eventId,
    [EVENT_HEADERS.eventType]: event.eventType,
    [EVENT_HEADERS.version]: event.version,
    [EVENT_HEADERS.source]: event.source,
    [EVENT_HEADERS.contentType]: 'application/json',
    ...(event.traceparent ? { [TRACEPARENT_HEADER]: event.traceparent } : {}),
    ...(schemaId === undefined ? {} : { [EVENT_HEADERS.schemaId]: String(schemaId) }),
  };
}

/** The system events a service announces about itself. */
export type Announcement = 'service.started' | 'service.stopped' | 'handler.failed';

/** Publishes one announcement; never rejects. */
export type Announce = <T extends Announcement>(type: T, payload: PayloadOf<T>) => Promise<void>;

/**
 * Announcements of `service` on the physical topic `topic`. They are best effort: a lost
 * `service.stopped` must not fail a shutdown, so a failure is logged, not thrown. They go
 * straight to `send`, without a started-state check, because they are sent while starting and
 * stopping.
 */
export function createAnnouncer(
  service: Source,
  topic: string,
  send: (item: OutgoingMessage) => Promise<void>,
  log: Logger,
  schemaIdOf?: SchemaIdOf,
): Announce {
  return async (type, payload) => {
    try {
      const event = SystemEventFactory.create(type, service, payload) as DomainEvent;
      const schemaId = schemaIdOf ? await schemaIdOf(event.eventType, event.version) : undefined;
      await send({ topic, message: eventMessage(event, schemaId) });
    } catch (error) {
      log.warn(`could not publish ${type}`, { error });
    }
  };
}
