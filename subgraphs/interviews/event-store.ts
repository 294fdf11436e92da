/**
 * The interviews' event store: every change to an interview is recorded as one event, in the
 * transaction of the change, twice over: in the outbox (published to `interview-events`) and in
 * the interview's own stream (`interview_event`, kept for ever). {@link recordEvent} is the one
 * way an interview event is written, so no change can reach the table without its event.
 *
 * The stream also keeps each event's unpublished *facts* (the question texts of a creation, the
 * content of an answer), so the interview with its questions and answers can be rebuilt from it
 * alone (`history.ts`) while the topic never carries a candidate's words.
 */
import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/core';
import { z } from 'zod';
import type { DomainEvent, EventEnvelope, EventOn } from '../../events/catalog';
import { enqueueEvent, type OutboxMessage } from '../../events/outbox';
import { validateEvent } from '../../events/validate';
import { StreamEventEntity } from './entities';

/** An event of the interview-events topic, at its current version. */
export type InterviewEvent = EventOn<'interview-events'>;
export type InterviewEventType = InterviewEvent['eventType'];

const questionFacts = z.strictObject({
  questions: z
    .array(
      z.strictObject({
        id: z.string().min(1),
        position: z.number().int().min(1),
        text: z.string(),
      }),
    )
    .min(1),
});
const answerFacts = z.strictObject({ content: z.string() });

/** What the stream keeps of an event beyond the published envelope, per event type. */
const FACTS = {
  'interview.created': questionFacts,
  'interview.answer_submitted': answerFacts,
} as const;

type WithFacts = keyof typeof FACTS;
/**
 * Whether `error` is another writer's event taking this one's place in a stream: two concurrent
 * changes of one interview, the later of which must be retried (as an optimistic-lock failure).
 * PostgreSQL names the index, SQLite its columns.
 */
export function isStreamConflict(error: unknown): boolean {
  return (
    error instanceof UniqueConstraintViolationException &&
    /interview_event_stream_uq|interview_event\.interview_id/.test(error.message)
  );
}

/** The unpublished facts an event type carries in the stream (`undefined` for most). */
export type FactsOf<T extends InterviewEventType> = T extends WithFacts
  ? z.output<(typeof FACTS)[T]>
  : undefined;

/** One event of a stream, read back: validated (and upcast), with its facts. */
export type StreamEvent = {
  [T in InterviewEventType]: {
    sequence: number;
    eventType: T;
    event: EventEnvelope<T>;
    facts: FactsOf<T>;
  };
}[InterviewEventType];

/** An event to record, with the facts its type keeps (none for most types). */
export type Recorded = {
  [T in InterviewEventType]: FactsOf<T> extends undefined
    ? { event: EventEnvelope<T>; facts?: undefined }
    : { event: EventEnvelope<T>; facts: FactsOf<T> };
}[InterviewEventType];

/** A stored stream event that is not what the store wrote: never silently skipped. */
export class StreamCorruptError extends Error {
  override readonly name = 'StreamCorruptError';
}

/**
 * Records an event of an interview: enqueues it in the outbox and appends it to the interview's
 * stream as event number `sequence`, inside the caller's unit of work (nothing is written until
 * the caller's transaction commits). `sequence` is 1 for a creation and the interview's
 * `version + 1` for a change (the version its row gets from this change): two concurrent writers
 * of one interview thus collide on the stream's unique key as on the row's version.
 * @returns the outbox row, for the relay's fast path (`eventsCommitted([row])`).
 */
export function recordEvent(
  em: EntityManager,
  sequence: number,
  recorded: Recorded,
): OutboxMessage {
  const { event, facts } = recorded as { event: InterviewEvent; facts?: unknown };
  const row = enqueueEvent(em, 'interview-events', event);
  const expected = FACTS[event.eventType as WithFacts] as z.ZodType | undefined;
  if (expected) expected.parse(facts);
  else if (facts !== undefined) throw new TypeError(`${event.eventType} has no facts to keep`);
  const stored = new StreamEventEntity();
  Object.assign(stored, {
    interviewId: event.payload.interviewId,
    sequence,
    eventId: event.eventId,
    eventType: event.eventType,
    version: event.version,
    occurredAt: new Date(event.timestamp),
    // The outbox row holds the validated envelope as it will be published.
    envelope: row.event,
    facts: facts === undefined ? null : JSON.stringify(facts),
  } satisfies Omit<StreamEventEntity, 'id'>);
  em.persist(stored);
  return row;
}

/** The stream event a stored row holds, validated and upcast. @throws {StreamCorruptError} */
export function readStreamEvent(row: StreamEventEntity): StreamEvent {
  const where = `interview ${row.interviewId}, event ${row.sequence} (${row.eventId})`;
  let json: unknown;
  try {
    json = JSON.parse(row.envelope);
  } catch (error) {
    throw new StreamCorruptError(`${where}: envelope is not JSON: ${(error as Error).message}`);
  }
  const result = validateEvent(json, 'interview-events');
  if (!result.ok) {
    const issues = result.issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    throw new StreamCorruptError(`${where}: envelope breaks its contract: ${issues}`);
  }
  const event = result.event as DomainEvent as InterviewEvent;
  if (event.payload.interviewId !== row.interviewId) {
    throw new StreamCorruptError(
      `${where}: the envelope names interview ${event.payload.interviewId}`,
    );
  }
  const schema = FACTS[event.eventType as WithFacts] as z.ZodType | undefined;
  let facts: unknown;
  if (schema) {
    if (row.facts === null) throw new StreamCorruptError(`${where}: its facts are missing`);
    const parsed = schema.safeParse(JSON.parse(row.facts));
    if (!parsed.success) {
      throw new StreamCorruptError(`${where}: facts are invalid: ${parsed.error.message}`);
    }
    facts = parsed.data;
  }
  return { sequence: row.sequence, eventType: event.eventType, event, facts } as StreamEvent;
}

/** The stored rows of interviews' streams, each in order, keyed by interview id. */
export async function loadStreams(
  em: EntityManager,
  interviewIds: readonly string[],
): Promise<Map<string, StreamEventEntity[]>> {
  const rows = await em.find(
    StreamEventEntity,
    { interviewId: { $in: [...interviewIds] } },
    { orderBy: { interviewId: 'asc', sequence: 'asc' } },
  );
  const streams = new Map<string, StreamEventEntity[]>(interviewIds.map((id) => [id, []]));
  for (const row of rows) streams.get(row.interviewId)?.push(row);
  return streams;
}

/**
 * Rewrites the stored copy of events in place, for erasure only (`erasure.ts`): `edit` gets each
 * event's envelope and facts as plain JSON and returns them changed, or `undefined` to leave the
 * event as it is. The rewritten envelope must still meet its contract. What was published to the
 * topic is not changed by this; see the README's "Account erasure".
 */
export async function rewriteStreams(
  em: EntityManager,
  interviewIds: readonly string[],
  edit: (
    envelope: Record<string, unknown> & { eventType: string; payload: Record<string, unknown> },
    facts: Record<string, unknown> | null,
  ) => { envelope: object; facts: object | null } | undefined,
): Promise<number> {
  const streams = await loadStreams(em, interviewIds);
  let changed = 0;
  for (const rows of streams.values()) {
    for (const row of rows) {
      const next = edit(
        JSON.parse(row.envelope),
        row.facts === null ? null : JSON.parse(row.facts),
      );
      if (!next) continue;
      row.envelope = JSON.stringify(next.envelope);
      row.facts = next.facts === null ? null : JSON.stringify(next.facts);
      readStreamEvent(row); // still a valid event, or the erasure fails and rolls back
      changed++;
    }
  }
  return changed;
}
