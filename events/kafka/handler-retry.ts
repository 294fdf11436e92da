/**
 * A valid event's way through its handler: a handler that throws is tried again after a delay
 * that doubles from `retryMs` (capped at 10 s), up to `retries` times, with heartbeats between;
 * when it still fails, the event is dead-lettered (dead-letter.ts) with the last error as its
 * reason, and the consumer moves on. Stopping cuts a retry's wait short and leaves the event
 * unhandled, so it is delivered again.
 */
import type { KafkaMessage } from 'kafkajs';
import type { Logger } from '../../lib/logger';
import type { EventOn } from '../catalog';
import type { Topic } from '../topics';
import type { EventContext, EventHandler } from './consumer';
import type { DeadLetter } from './dead-letter';

/** How often and how patiently a failing handler is retried. */
export interface RetryPolicy {
  /** Attempts after the first failure before the event is dead-lettered. */
  retries: number;
  /** Delay before the first retry; it doubles each attempt, capped at 10 s. */
  retryMs: number;
}

/** One valid event for its handler, with what the retries need. */
export interface HandlerRun<T extends Topic> {
  event: EventOn<T>;
  /** Where the event came from; `attempt` is set for each call. */
  context: EventContext;
  /** The physical consumer group. */
  groupId: string;
  handler: EventHandler<T>;
  /** The message the event was decoded from, dead-lettered as it is. */
  message: KafkaMessage;
  heartbeat: () => Promise<void>;
  /** Aborted when the subscription stops. */
  stopping: AbortSignal;
  log: Logger;
}

/**
 * Resolves once the handler succeeded or the event was dead-lettered.
 * @throws the handler's error when the subscription stopped meanwhile: the event stays unhandled.
 */
export type RunHandler = <T extends Topic>(run: HandlerRun<T>) => Promise<void>;

const MAX_RETRY_DELAY_MS = 10_000;

/** Runs handlers with `policy`'s retries, then dead-letters with `deadLetter`. */
export function createHandlerRunner(policy: RetryPolicy, deadLetter: DeadLetter): RunHandler {
  const maxAttempts = policy.retries + 1;
  return async ({ event, context, groupId, handler, message, heartbeat, stopping, log }) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await handler(event, { ...context, attempt });
        return;
      } catch (error) {
        const reason = `handler failed: ${errorMessage(error)}`;
        // Stopping mid-retry: leave the offset unresolved so the message is delivered again.
        if (stopping.aborted) throw error;
        if (attempt >= maxAttempts) {
          await deadLetter({ context, message, groupId, reason, attempts: attempt, event }, log);
          return;
        }
        log.warn('handler failed, will retry', { eventId: event.eventId, attempt, error });
        const delay = Math.min(policy.retryMs * 2 ** (attempt - 1), MAX_RETRY_DELAY_MS);
        await sleep(delay, stopping);
        await heartbeat();
      }
    }
  };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Waits `ms`; rejects at once when `signal` aborts. */
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
