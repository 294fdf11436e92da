/**
 * The outbox relay: publishes unsent outbox rows to Kafka in id order and marks them sent.
 *
 * - Order: rows are handed to the producer in id order and the producer keeps call order per
 *   partition, so one aggregate's events arrive in the order they were committed.
 * - Failure: when a publish fails (broker down), the rows from the first failure on stay unsent
 *   and the relay retries with backoff; rows after a failure may already have reached the broker,
 *   so a retry can publish an event twice. Consumers are idempotent on `eventId`.
 * - Latency: `notify()` after a commit wakes the relay at once; polling is the backstop.
 * - Cost: rows were validated when enqueued, so they go out as stored (`publishSerialized`),
 *   without zod parsing each one again.
 */
import type { Database } from '../../lib/database';
import { silentLogger, type Logger } from '../../lib/logger';
import { createWorkLoop } from '../../lib/work-loop';
import type { KafkaService, SerializedEvent } from '../kafka/kafka-service';
import { OutboxMessage } from './outbox';

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
}

export interface OutboxRelay {
  start(): void;
  /** Finishes the round in progress, then stops. */
  stop(): Promise<void>;
  /** Wakes the relay now (call after a transaction that enqueued events commits). */
  notify(): void;
  /** False while the last round failed to publish. */
  ready(): boolean;
  /** Unsent rows, for readiness reports and tests. */
  pending(): Promise<number>;
}

export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { database, kafka } = options;
  const batchSize = options.batchSize ?? 500;
  const pollIntervalMs = options.pollIntervalMs ?? 250;
  const maxBackoffMs = options.maxBackoffMs ?? 5_000;
  const log = (options.logger ?? silentLogger).child({ component: 'outbox-relay' });

  /** Publishes one batch; returns how many rows went out. */
  async function round(): Promise<number> {
    const em = database.fork();
    const rows = await em.find(
      OutboxMessage,
      { sentAt: null },
      { orderBy: { id: 'asc' }, limit: batchSize },
    );
    if (rows.length === 0) return 0;
    // Hand all rows to the producer at once, in order; it batches them into few requests.
    const results = await Promise.allSettled(
      rows.map((row) => kafka.publishSerialized(row.topic, serialized(row))),
    );
    const firstFailure = results.findIndex((r) => r.status === 'rejected');
    const sent = firstFailure === -1 ? rows : rows.slice(0, firstFailure);
    const now = new Date();
    if (sent.length > 0) {
      await em.nativeUpdate(
        OutboxMessage,
        { id: { $in: sent.map((r) => r.id) } },
        { sentAt: now, attempts: 1 },
      );
    }
    if (firstFailure !== -1) {
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

  const loop = createWorkLoop({
    // A full batch means more rows are probably waiting.
    round: async () => (await round()) === batchSize,
    pollIntervalMs,
    maxBackoffMs,
    logger: log,
  });

  return {
    start: loop.start,
    stop: loop.stop,
    notify: loop.notify,
    ready: loop.ready,
    pending: () => database.fork().count(OutboxMessage, { sentAt: null }),
  };
}

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
  };
}
