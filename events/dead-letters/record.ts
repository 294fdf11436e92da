/**
 * The pure side of the dead-letter tooling: a dead-lettered message as a record (from its
 * `dlq-*` headers, events/kafka/dead-letter.ts), references to one (DLQ coordinates or an
 * eventId), the filters of `list`, and the headers of a replay. No I/O here; store.ts reads and
 * writes Kafka.
 */
import { DEAD_LETTER_HEADERS, EVENT_HEADERS } from '../kafka/headers';
import { TOPICS, deadLetterTopic, isTopic, type Topic } from '../topics';

/**
 * Headers a replay adds to the message it sends back to the original topic. `dlq-replays` stays on
 * the message when it is dead-lettered again (dead-lettering keeps the original headers), so the
 * count goes on from there.
 */
export const REPLAY_HEADERS = {
  /** How many times this event was replayed from a dead-letter topic, this replay included. */
  replays: 'dlq-replays',
  /** The DLQ coordinates (`topic/partition/offset`) it was replayed from. */
  replayedFrom: 'dlq-replayed-from',
  /** When, ISO-8601. */
  replayedAt: 'dlq-replayed-at',
} as const;

/** What was decided about a dead letter; the last decision wins (see store.ts). */
export interface Resolution {
  action: 'replayed' | 'discarded';
  /** ISO-8601. */
  at: string;
  /** Replays of this dead-lettered message so far (kept when it is discarded later). */
  replays: number;
}

/** One dead-lettered message. */
export interface DeadLetterRecord {
  /** Its DLQ coordinates, `<dlq topic>/<partition>/<offset>`: see {@link deadLetterId}. */
  id: string;
  /** The physical dead-letter topic. */
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  /** Every header, the original `event-*` ones and the `dlq-*` ones. */
  headers: Record<string, string>;
  /** The message value as it was (the envelope's JSON for a valid event). */
  value: string | null;
  eventId: string | null;
  eventType: string | null;
  reason: string;
  /** The physical consumer group that gave up on it. */
  groupId: string | null;
  /** The service that gave up on it. */
  service: string | null;
  attempts: number | null;
  /** `dlq-failed-at`, else the DLQ message's timestamp. */
  failedAt: Date;
  originalTopic: string | null;
  originalPartition: number | null;
  originalOffset: string | null;
  /** `dlq-replays` of the message: replays before it was dead-lettered this time. */
  replays: number;
  /** What was decided about it, if anything. */
  resolution: Resolution | null;
}

/** A message read from a dead-letter topic, as kafkajs hands it (values as Buffers). */
export interface RawDeadLetter {
  topic: string;
  partition: number;
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** The id of a dead letter: its coordinates, e.g. `user-events.dlq/0/42`. */
export function deadLetterId(topic: string, partition: number, offset: string): string {
  return `${topic}/${partition}/${offset}`;
}

const nonNegativeInt = (raw: string | undefined): number | null =>
  raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : null;

/** A raw DLQ message as a record; `resolution` is what store.ts recorded about it. */
export function toRecord(
  raw: RawDeadLetter,
  resolution: Resolution | null = null,
): DeadLetterRecord {
  const h = raw.headers;
  const value = raw.value?.toString() ?? null;
  const envelope = envelopeFields(value);
  const failedAt = new Date(h[DEAD_LETTER_HEADERS.failedAt] ?? Number(raw.timestamp));
  return {
    id: deadLetterId(raw.topic, raw.partition, raw.offset),
    topic: raw.topic,
    partition: raw.partition,
    offset: raw.offset,
    key: raw.key?.toString() ?? null,
    headers: h,
    value,
    eventId: h[EVENT_HEADERS.eventId] ?? envelope.eventId,
    eventType: h[EVENT_HEADERS.eventType] ?? envelope.eventType,
    reason: h[DEAD_LETTER_HEADERS.reason] ?? '',
    groupId: h[DEAD_LETTER_HEADERS.groupId] ?? null,
    service: h[DEAD_LETTER_HEADERS.service] ?? null,
    attempts: nonNegativeInt(h[DEAD_LETTER_HEADERS.attempts]),
    failedAt: Number.isNaN(failedAt.getTime()) ? new Date(Number(raw.timestamp)) : failedAt,
    originalTopic: h[DEAD_LETTER_HEADERS.originalTopic] ?? null,
    originalPartition: nonNegativeInt(h[DEAD_LETTER_HEADERS.originalPartition]),
    originalOffset: h[DEAD_LETTER_HEADERS.originalOffset] ?? null,
    replays: nonNegativeInt(h[REPLAY_HEADERS.replays]) ?? 0,
    resolution,
  };
}

/** eventId and eventType from a value without headers (an invalid message may still have them). */
function envelopeFields(value: string | null): {
  eventId: string | null;
  eventType: string | null;
} {
  try {
    const parsed: unknown = value === null ? null : JSON.parse(value);
    if (typeof parsed !== 'object' || parsed === null) return { eventId: null, eventType: null };
    const { eventId, eventType } = parsed as Record<string, unknown>;
    return {
      eventId: typeof eventId === 'string' ? eventId : null,
      eventType: typeof eventType === 'string' ? eventType : null,
    };
  } catch {
    return { eventId: null, eventType: null };
  }
}

/** A reference to dead letters: one by its coordinates, or every one of an event. */
export type DeadLetterRef =
  | { kind: 'coordinates'; topic: string; partition: number; offset: string }
  | { kind: 'eventId'; eventId: string };

/** Thrown for a reference, topic or filter that cannot be right; the message says why. */
export class DeadLetterInputError extends Error {
  override readonly name = 'DeadLetterInputError';
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * `user-events.dlq/0/42` (coordinates; the topic logical or physical, with or without `.dlq`) or
 * an eventId (a UUID).
 * @throws {DeadLetterInputError} for anything else.
 */
export function parseDeadLetterRef(raw: string): DeadLetterRef {
  const text = raw.trim();
  if (UUID.test(text)) return { kind: 'eventId', eventId: text.toLowerCase() };
  const match = /^([A-Za-z0-9._-]+)\/(\d+)\/(\d+)$/.exec(text);
  if (match) {
    return {
      kind: 'coordinates',
      topic: match[1]!,
      partition: Number(match[2]),
      offset: String(Number(match[3])),
    };
  }
  throw new DeadLetterInputError(
    `"${raw}" is neither an eventId (a UUID) nor DLQ coordinates like user-events.dlq/0/42`,
  );
}

/**
 * The physical DLQ topic a user means by `name`: a logical topic (`user-events`), its DLQ
 * (`user-events.dlq`), or either with the deployment's `prefix`.
 * @throws {DeadLetterInputError} naming the topics there are.
 */
export function dlqTopicName(name: string, prefix: string): string {
  let logical = name.trim();
  if (prefix && logical.startsWith(prefix)) logical = logical.slice(prefix.length);
  if (logical.endsWith('.dlq')) logical = logical.slice(0, -'.dlq'.length);
  if (!isTopic(logical)) {
    throw new DeadLetterInputError(
      `unknown topic "${name}": one of ${TOPICS.join(', ')} (or its .dlq)`,
    );
  }
  return deadLetterTopic(`${prefix}${logical}`);
}

/** What `list` selects; every field narrows, none set selects every open dead letter. */
export interface DeadLetterFilter {
  /** Logical topics whose dead-letter topics are read. @default every topic */
  topics?: readonly Topic[] | undefined;
  /** The consumer group that gave up, logical (`user-service-group`) or physical. */
  group?: string | undefined;
  eventType?: string | undefined;
  /** A substring of `dlq-reason`, case-insensitive. */
  reason?: string | undefined;
  /** Dead-lettered at or after. */
  since?: Date | undefined;
  /** Dead-lettered before. */
  until?: Date | undefined;
  /** Only these dead letters (any of them). */
  ids?: readonly DeadLetterRef[] | undefined;
  /** Also those already replayed or discarded. @default false */
  includeResolved?: boolean | undefined;
}

/**
 * Whether `record` passes `filter` (topics aside: store.ts reads only their DLQ topics).
 * @param prefix the deployment's topic prefix, so a logical group or topic name matches too.
 */
export function matchesFilter(
  record: DeadLetterRecord,
  filter: DeadLetterFilter,
  prefix = '',
): boolean {
  if (!filter.includeResolved && record.resolution) return false;
  if (filter.group !== undefined) {
    const group = filter.group;
    if (record.groupId !== group && record.groupId !== `${prefix}${group}`) return false;
  }
  if (filter.eventType !== undefined && record.eventType !== filter.eventType) return false;
  if (
    filter.reason !== undefined &&
    !record.reason.toLowerCase().includes(filter.reason.toLowerCase())
  ) {
    return false;
  }
  if (filter.since && record.failedAt < filter.since) return false;
  if (filter.until && record.failedAt >= filter.until) return false;
  if (filter.ids && !filter.ids.some((ref) => refersTo(ref, record, prefix))) return false;
  return true;
}

/** Whether `ref` names `record`. */
export function refersTo(ref: DeadLetterRef, record: DeadLetterRecord, prefix = ''): boolean {
  if (ref.kind === 'eventId') return record.eventId?.toLowerCase() === ref.eventId;
  if (ref.partition !== record.partition || ref.offset !== record.offset) return false;
  try {
    return dlqTopicName(ref.topic, prefix) === record.topic;
  } catch {
    return ref.topic === record.topic;
  }
}

/** The `dlq-replays` a replay of `record` carries: its own count plus earlier replays of it, plus one. */
export function nextReplayCount(record: DeadLetterRecord): number {
  return record.replays + (record.resolution?.replays ?? 0) + 1;
}

/**
 * The headers of `record` replayed to its original topic: the original ones (`event-*`, and any
 * others it came with) without the `dlq-*` ones dead-lettering added, plus {@link REPLAY_HEADERS}.
 */
export function replayHeaders(record: DeadLetterRecord, now = new Date()): Record<string, string> {
  const added = new Set<string>(Object.values(DEAD_LETTER_HEADERS));
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(record.headers)) {
    if (!added.has(name)) headers[name] = value;
  }
  headers[REPLAY_HEADERS.replays] = String(nextReplayCount(record));
  headers[REPLAY_HEADERS.replayedFrom] = record.id;
  headers[REPLAY_HEADERS.replayedAt] = now.toISOString();
  return headers;
}

/** The status a list shows: `open`, `replayed` or `discarded`. */
export function statusOf(record: DeadLetterRecord): 'open' | Resolution['action'] {
  return record.resolution?.action ?? 'open';
}
