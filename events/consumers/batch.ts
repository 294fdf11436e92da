/**
 * Idempotent event handling a batch at a time: one database transaction per batch holds the
 * effects of all its fresh events and their processed-event records, so a redelivered batch (or
 * any event of it) changes nothing, and a failed batch changes nothing either.
 *
 * Per batch: one query finds which of its eventIds this group already processed (chunked only
 * above {@link LOOKUP_CHUNK} ids), one insert records the fresh ones, the effect runs on one
 * EntityManager fork and is flushed when the transaction commits. Effects see the batch's events
 * in offset order and may rely on what earlier events of the batch wrote (MikroORM flushes
 * pending changes before a query that needs them).
 */
import type { EntityManager } from '@mikro-orm/core';
import { takeWriteLock, type Database } from '../../lib/database';
import type { DomainEvent, EventOn } from '../catalog';
import type { BatchEventHandler, TopicBatchHandlers } from '../kafka/kafka-service';
import type { Topic } from '../topics';
import { ProcessedEvent } from './idempotent';

/** Most ids in one `in (...)` lookup; SQLite allows 32,766 parameters, PostgreSQL 65,535. */
const LOOKUP_CHUNK = 1_000;

/** The batch's transaction, as an effect sees it. */
export interface BatchTransaction {
  /** The batch's EntityManager, inside its transaction. */
  em: EntityManager;
  /**
   * Runs `callback` once after the transaction committed, never when it rolled back: wake the
   * outbox relay after enqueueing events, the mailer after queueing emails.
   */
  afterCommit(callback: () => void): void;
}

/** What a batch of fresh events (not processed before by the group) does to the database. */
export type BatchEffect<E extends DomainEvent = DomainEvent> = (
  events: E[],
  tx: BatchTransaction,
) => Promise<void>;

/**
 * Applies `effect` to the events of `events` that `groupId` has not processed yet, in one
 * transaction with their processed-event records. An eventId repeated within the batch counts
 * once (its first occurrence). Resolves with the fresh events, in order; rejects, having changed
 * nothing, when the effect or the commit fails.
 */
export async function handleBatch<E extends DomainEvent>(
  database: Database,
  groupId: string,
  events: readonly E[],
  effect: BatchEffect<E>,
): Promise<E[]> {
  const callbacks: Array<() => void> = [];
  const fresh = await database.fork().transactional(async (em) => {
    await takeWriteLock(em);
    const seen = new Set<string>();
    const ids = [...new Set(events.map((e) => e.eventId))];
    for (let i = 0; i < ids.length; i += LOOKUP_CHUNK) {
      const rows = await em.find(
        ProcessedEvent,
        { groupId, eventId: { $in: ids.slice(i, i + LOOKUP_CHUNK) } },
        { fields: ['eventId'], disableIdentityMap: true },
      );
      for (const row of rows) seen.add(row.eventId);
    }
    const todo: E[] = [];
    for (const event of events) {
      if (seen.has(event.eventId)) continue;
      seen.add(event.eventId);
      todo.push(event);
    }
    if (todo.length === 0) return todo;
    await effect(todo, { em, afterCommit: (callback) => void callbacks.push(callback) });
    // After the effect, so `processed_at` is the time of the commit, give or take the flush.
    // A native insert: the records need no change tracking, and one statement beats N.
    const now = new Date();
    await em.insertMany(
      ProcessedEvent,
      todo.map((e) => ({ eventId: e.eventId, groupId, eventType: e.eventType, processedAt: now })),
    );
    return todo;
  });
  for (const callback of callbacks) callback();
  return fresh;
}

/** Turns a one-event effect into a batch effect that applies it to each event in order. */
export function eachEvent<E extends DomainEvent>(
  effect: (em: EntityManager, event: E, tx: BatchTransaction) => Promise<unknown>,
): BatchEffect<E> {
  return async (events, tx) => {
    for (const event of events) await effect(tx.em, event, tx);
  };
}

export type TopicEffects = { [T in Topic]?: BatchEffect<EventOn<T>> };

/**
 * The Kafka handlers of a consumer group whose effects are database writes: `batch` runs a
 * fetched batch through {@link handleBatch}; `each` (the fallback after a failed batch, and the
 * path of `batch: false`) runs one event the same way, in a transaction of its own.
 */
export function transactionalHandlers(
  database: Database,
  groupId: string,
  effects: TopicEffects,
  onDuplicates?: (events: DomainEvent[]) => void,
): TopicBatchHandlers {
  const handlers: TopicBatchHandlers = {};
  for (const topic of Object.keys(effects) as Topic[]) {
    const effect = effects[topic] as BatchEffect | undefined;
    if (!effect) continue;
    const run = async (events: DomainEvent[]) => {
      const fresh = await handleBatch(database, groupId, events, effect);
      if (onDuplicates && fresh.length < events.length) {
        const kept = new Set(fresh);
        onDuplicates(events.filter((e) => !kept.has(e)));
      }
    };
    const handler: BatchEventHandler<Topic> = {
      batch: (consumed) => run(consumed.map((c) => c.event)),
      each: (event) => run([event]),
    };
    (handlers as Record<Topic, BatchEventHandler<Topic>>)[topic] = handler;
  }
  return handlers;
}

/**
 * Walks `events` in order, handing each maximal run of consecutive events that `inRun` accepts
 * to `run` (one call, so it can look up what the run needs in one query) and every other event
 * to `single`. Order is kept: a run never overtakes the event before it.
 */
export async function inRuns<E, R extends E>(
  events: readonly E[],
  inRun: (event: E) => event is R,
  run: (events: R[]) => Promise<void>,
  single: (event: E) => Promise<void>,
): Promise<void> {
  let i = 0;
  while (i < events.length) {
    const runEvents: R[] = [];
    for (; i < events.length; i++) {
      const event = events[i] as E;
      if (!inRun(event)) break;
      runEvents.push(event);
    }
    if (runEvents.length > 0) await run(runEvents);
    else await single(events[i++] as E);
  }
}
