/**
 * The outbox relay: publishes unsent outbox rows to Kafka in id order and marks them sent.
 *
 * Two ways in, one loop, so publishing never runs twice at once:
 * - **Handed over** (`committed(rows)`, the fast path): right after a transaction commits, its
 *   rows are published from memory, without reading the table first, and marked sent later in
 *   batches. A busy database (SQLite has one connection per service, queued behind requests)
 *   therefore never delays an event: the table is written, not read, on the way out.
 * - **From the table** (`notify()`, polling, start, failures): unsent rows in id order.
 *
 * The fast path is open only while the relay is caught up: the last table read found nothing
 * unsent, and no commit since then went unseen (a `notify()` without rows, or rows handed over
 * while the relay was reading the table, close it until a table read finds nothing again). So
 * every row the fast path publishes was committed after every row the table read saw, except a
 * row a read saw between its commit and its hand-over: the relay remembers what reads sent and
 * skips it.
 *
 * - Order: rows are handed to the producer in id order and the producer keeps call order per
 *   partition, so one aggregate's events arrive in the order they were committed.
 * - Failure: when a publish fails (broker down), the rows from the first failure on stay unsent
 *   and the relay retries with backoff; rows after a failure may already have reached the broker,
 *   so a retry can publish an event twice. Consumers are idempotent on `eventId`.
 * - Latency: `notify()` after a commit wakes the relay at once; polling is the backstop.
 * - Replicas: with a `lease` (lease.ts) only the replica holding it relays; the others' rows are
 *   read from the table by the holder within its poll interval. While another replica stands by
 *   (`lease.shared()`), the holder publishes rows handed over only when no earlier unsent row
 *   (another replica's) is waiting, which would otherwise go out after later events of the same
 *   aggregate.
 * - Cost: rows were validated when enqueued, so they go out as stored (`publishSerialized`),
 *   without zod parsing each one again.
 */
import type { Database } from '../../lib/database';
import { silentLogger, type Logger } from '../../lib/logger';
import { createWorkLoop } from '../../lib/work-loop';
import type { KafkaService, SerializedEvent } from '../kafka/kafka-service';
import type { Lease } from './lease';
import { OutboxMessage } from './outbox';

/** What {@link createOutboxRelay} publishes from and to, and how often. */
export interface OutboxRelayOptions {
  database: Database;
  kafka: Pick<KafkaService, 'publishSerialized'>;
  /** Rows published per round. @default 500 */
  batchSize?: number;
  /** Poll interval when nothing notifies the relay. @default 250 */
  pollIntervalMs?: number;
  /** Longest wait between retries after a failed publish. @default 5_000 */
  maxBackoffMs?: number;
  logger?: Logger;
  /**
   * For replicas sharing the database (lease.ts): only the holder relays; the others' rows wait
   * in the table for it. Without, the relay assumes it is alone.
   */
  lease?: Lease;
}

/** A service's outbox relay: see the module's comment. */
export interface OutboxRelay {
  start(): void;
  /** Finishes the round in progress and the marking of what it sent, then stops. */
  stop(): Promise<void>;
  /**
   * After a transaction that enqueued `rows` (as `enqueueEvent` returned them) committed: they
   * are published at once when the relay is caught up, else read from the table in order.
   */
  committed(rows: readonly OutboxMessage[]): void;
  /** Wakes the relay to read the table (after a commit whose rows are not at hand). */
  notify(): void;
  /** False while the last round failed to publish. */
  ready(): boolean;
  /** Unsent rows, for readiness reports and tests. */
  pending(): Promise<number>;
}

/**
 * The relay of `options.database`'s outbox to `options.kafka`; it does nothing until `start()`.
 * A failed publish does not throw: it is logged, `ready()` turns false and the relay retries with
 * backoff.
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { database, kafka } = options;
  const batchSize = options.batchSize ?? 500;
  const pollIntervalMs = options.pollIntervalMs ?? 250;
  const maxBackoffMs = options.maxBackoffMs ?? 5_000;
  const log = (options.logger ?? silentLogger).child({ component: 'outbox-relay' });

  /** True while the fast path is open (see the module's comment). */
  let caughtUp = false;
  /** Bumped by every commit the fast path did not take; a table read that saw none opens it. */
  let unseen = 0;
  /** Rows handed over, in commit order, waiting for the loop. */
  let handed: OutboxMessage[] = [];
  /** Published, not yet marked sent: a table read skips them. */
  const unmarked = new Set<number>();
  /**
   * Rows table reads published, with when: a row committed just before a read can be read and
   * published before its transaction's caller hands it over (a loaded process runs that
   * continuation late, after further reads); the hand-over then finds it here and skips it. Kept
   * {@link READ_MEMORY_MS} and at most {@link READ_MEMORY_ROWS}: a hand-over comes within
   * microseconds of its commit, milliseconds under load.
   */
  const readSent = new Map<number, number>();
  const rememberRead = (rows: readonly OutboxMessage[]) => {
    const at = Date.now();
    for (const row of rows) readSent.set(row.id, at);
    for (const [id, sentAt] of readSent) {
      if (readSent.size <= READ_MEMORY_ROWS && at - sentAt <= READ_MEMORY_MS) break;
      readSent.delete(id);
    }
  };
  let marking: Promise<void> = Promise.resolve();

  /** Marks published rows sent, in the background; what fails to be marked is tried again. */
  function markSent(ids: number[]): void {
    for (const id of ids) unmarked.add(id);
    marking = marking.then(async () => {
      const pendingIds = [...unmarked];
      if (pendingIds.length === 0) return;
      try {
        await database
          .fork()
          .nativeUpdate(
            OutboxMessage,
            { id: { $in: pendingIds } },
            { sentAt: new Date(), attempts: 1 },
          );
        for (const id of pendingIds) unmarked.delete(id);
      } catch (error) {
        // Still unmarked: skipped by table reads, marked by the next call (or at stop).
        log.warn('marking outbox rows sent failed; will retry', { error, rows: pendingIds.length });
      }
    });
  }

  /** Publishes rows in order; those before the first failure are marked sent. */
  async function publish(em: ReturnType<Database['fork']>, rows: OutboxMessage[]) {
    // Hand all rows to the producer at once, in order; it batches them into few requests.
    const results = await Promise.allSettled(
      rows.map((row) => kafka.publishSerialized(row.topic, serialized(row))),
    );
    const firstFailure = results.findIndex((r) => r.status === 'rejected');
    const sent = firstFailure === -1 ? rows : rows.slice(0, firstFailure);
    if (sent.length > 0) markSent(sent.map((r) => r.id));
    if (firstFailure !== -1) {
      // The rest waits in the table, in order; rows handed over meanwhile too.
      caughtUp = false;
      unseen++;
      handed = [];
      const failed = rows[firstFailure] as OutboxMessage;
      const reason = (results[firstFailure] as PromiseRejectedResult).reason as unknown;
      const message = reason instanceof Error ? reason.message : String(reason);
      await em.nativeUpdate(
        OutboxMessage,
        { id: failed.id },
        { attempts: failed.attempts + 1, lastError: message.slice(0, 2000) },
      );
      throw new Error(
        `publishing outbox row ${failed.id} (${failed.eventType}) failed: ${message}`,
      );
    }
    return sent.length;
  }

  /** Publishes what was handed over, or one batch from the table; returns how many rows. */
  async function round(): Promise<number> {
    if (options.lease && !(await options.lease.hold())) {
      // Another replica relays, reading the table: nothing here is published, and once this one
      // holds the lease it starts from the table too.
      caughtUp = false;
      unseen++;
      handed = [];
      return 0;
    }
    const em = database.fork();
    if (caughtUp && handed.length > 0) {
      // A row is handed over once: when a read sent it first, it is forgotten here.
      const rows = handed.filter((row) => !readSent.delete(row.id));
      handed = [];
      if (rows.length === 0) return 0;
      // Replicas write to one table, and only this one relays: a row another replica committed
      // before these (the previous event of the same interview, say) must go first. Such a row is
      // unsent, below the first handed id, and not one this relay published: then the table
      // path takes over, in id order, these rows included. Alone (no replica standing by), there
      // is none, and the fast path reads nothing.
      const earlier =
        options.lease === undefined || !options.lease.shared()
          ? null
          : await em.findOne(
              OutboxMessage,
              { sentAt: null, id: { $lt: rows[0]!.id, $nin: [...unmarked] } },
              { fields: ['id'] },
            );
      if (earlier === null) return publish(em, rows);
      // The table read below takes these rows in order, and any handed over during the check:
      // left in `handed`, those would go out again once the fast path reopens.
      caughtUp = false;
      unseen++;
      handed = [];
    }
    const seen = unseen;
    // Taken before the read: a row marked sent while the read runs may still look unsent to it.
    const skip = new Set(unmarked);
    const rows = (
      await em.find(
        OutboxMessage,
        { sentAt: null },
        { orderBy: { id: 'asc' }, limit: batchSize + skip.size },
      )
    ).filter((row) => !skip.has(row.id));
    if (rows.length === 0) {
      // Nothing unsent, and every commit since the read began was handed over: open.
      if (unseen === seen) caughtUp = true;
      return 0;
    }
    const batch = rows.slice(0, batchSize);
    rememberRead(batch);
    return publish(em, batch);
  }

  const loop = createWorkLoop({
    // A full batch means more rows are probably waiting, as do rows handed over meanwhile.
    round: async () => (await round()) === batchSize || (caughtUp && handed.length > 0),
    pollIntervalMs,
    maxBackoffMs,
    logger: log,
  });

  return {
    start: loop.start,
    async stop() {
      await loop.stop();
      markSent([]);
      await marking;
      await options.lease?.release();
    },
    committed(rows) {
      if (caughtUp) {
        for (const row of rows) handed.push(row);
      } else {
        // The table read in progress may not see them: they wait for the next one.
        unseen++;
      }
      loop.notify();
    },
    notify() {
      caughtUp = false;
      unseen++;
      handed = [];
      loop.notify();
    },
    ready: loop.ready,
    pending: () => database.fork().count(OutboxMessage, { sentAt: null }),
  };
}

/** How long, and for how many rows, a relay remembers what its table reads sent. */
const READ_MEMORY_MS = 60_000;
const READ_MEMORY_ROWS = 100_000;

/**
 * A row as the wire wants it. The envelope was validated at enqueue; only the two header fields
 * the row has no column for are read back from its JSON.
 */
function serialized(row: OutboxMessage): SerializedEvent {
  const { version, source } = JSON.parse(row.event) as Record<string, unknown>;
  return {
    key: row.aggregateId,
    value: row.event,
    eventId: row.eventId,
    eventType: row.eventType,
    version: typeof version === 'string' ? version : '',
    source: typeof source === 'string' ? source : '',
    ...(row.traceContext ? { traceparent: row.traceContext } : {}),
  };
}
