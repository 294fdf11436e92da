/**
 * The delivery loop: sends queued emails oldest first and marks them sent. A transient failure
 * (server down, 4xx) stops the round and retries with backoff, so nothing is skipped; a message
 * the server refuses for good (5xx) is marked failed and the queue moves on.
 *
 * Between a send and its `sent_at` update the process could die; the email is then sent again
 * at the next start, with the same Message-ID (and, for files, onto the existing file: nothing).
 */
import type { Database } from '../lib/database';
import { silentLogger, type Logger } from '../lib/logger';
import type { Lease } from '../events/outbox';
import { createWorkLoop } from '../lib/work-loop';
import { Email, FORGOTTEN_ADDRESS } from './entities';
import { PermanentMailError, type MailTransport } from './mail';

/** What {@link createDelivery} sends from and through, and how often. */
export interface DeliveryOptions {
  database: Database;
  transport: MailTransport;
  /** Emails sent per round. @default 50 */
  batchSize?: number;
  /** @default 500 */
  pollIntervalMs?: number;
  /** @default 30_000 */
  maxBackoffMs?: number;
  logger?: Logger;
  /**
   * For replicas sharing the database (events/outbox/lease.ts): only the holder sends, so each
   * email goes out once. Without, the loop assumes it is alone.
   */
  lease?: Lease;
}

/** The notification service's delivery loop: see the module's comment. */
export interface Delivery {
  start(): void;
  /** Finishes the round in progress, then gives the lease up (when there is one). */
  stop(): Promise<void>;
  /** Wakes the loop (after a transaction that queued an email commits). */
  notify(): void;
  /** False while the transport is failing. */
  ready(): boolean;
  /** Queued emails not yet sent nor failed. */
  pending(): Promise<number>;
}

/**
 * The delivery loop of `options.database`'s queued emails through `options.transport`; it does
 * nothing until `start()`. A failed send does not throw: a transient one is logged and retried
 * with backoff (`ready()` false meanwhile), a permanent one marks the email failed.
 */
export function createDelivery(options: DeliveryOptions): Delivery {
  const { database, transport } = options;
  const batchSize = options.batchSize ?? 50;
  const log = (options.logger ?? silentLogger).child({ component: 'mail-delivery' });

  async function round(): Promise<boolean> {
    // Another replica sends; this one's queued emails are in the same table, sent by it.
    if (options.lease && !(await options.lease.hold())) return false;
    const em = database.fork();
    const queued = await em.find(
      Email,
      { sentAt: null, failedAt: null },
      { orderBy: { createdAt: 'asc', eventId: 'asc' }, limit: batchSize },
    );
    for (const email of queued) {
      email.attempts++;
      try {
        await transport.send({ ...email, date: email.createdAt });
        email.sentAt = new Date();
        email.lastError = null;
        // The erasure saga's confirmation was the address's last use: it is forgotten now.
        if (email.eventType === 'erasure.step_requested') email.to = FORGOTTEN_ADDRESS;
        log.info('email sent', { eventId: email.eventId, eventType: email.eventType });
      } catch (error) {
        email.lastError = (error instanceof Error ? error.message : String(error)).slice(0, 2000);
        if (!(error instanceof PermanentMailError)) {
          await em.flush();
          throw error;
        }
        email.failedAt = new Date();
        log.error('email refused for good; not retried', {
          eventId: email.eventId,
          eventType: email.eventType,
          error,
        });
      }
      // Per email: a crash later in the batch must not resend those already out.
      await em.flush();
    }
    return queued.length === batchSize;
  }

  const loop = createWorkLoop({
    round,
    pollIntervalMs: options.pollIntervalMs ?? 500,
    maxBackoffMs: options.maxBackoffMs ?? 30_000,
    logger: log,
  });
  return {
    ...loop,
    async stop() {
      await loop.stop();
      await options.lease?.release();
    },
    pending: () => database.fork().count(Email, { sentAt: null, failedAt: null }),
  };
}
