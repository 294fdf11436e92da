/**
 * A valid event's way through its handler. A handler that throws an error worth retrying is
 * tried again up to `retries` times, with heartbeats between, after a delay that doubles from
 * `retryMs` (capped at 10 s) with equal jitter (lib/backoff.ts: between half of that and all of
 * it, so consumers that failed together on a shared dependency do not retry in step); when it
 * still fails, the event is dead-lettered (dead-letter.ts) with the last error as its reason, and
 * the consumer moves on.
 *
 * An error that retrying cannot help (`isRetriable` of contracts/errors.ts is false: a
 * `DomainError` with a non-retriable code, an `EventValidationError`, anything with
 * `retriable: false`) is dead-lettered at the first attempt, the same way (`dlq-attempts` 1),
 * instead of blocking its partition through the retries.
 *
 * Errors of kafkajs itself (a handler that publishes while the broker is away) count as
 * retriable whatever their own flag says: kafkajs marks `KafkaJSNumberOfRetriesExceeded` not
 * retriable to stop its own retrier, yet the broker may well be back by the next attempt.
 *
 * Stopping cuts a retry's wait short and leaves the event unhandled, so it is delivered again.
 */
import type { KafkaMessage } from 'kafkajs';
import { isRetriable } from '../../contracts/errors';
import { backoffDelay } from '../../lib/backoff';
import type { Logger } from '../../lib/logger';
import type { EventOn } from '../catalog';
import type { Topic } from '../topics';
import type { EventContext, EventHandler } from './consumer';
import type { DeadLetter } from './dead-letter';
import type { SubscriptionMeter } from './metrics';

/** Whether `error` comes from kafkajs (its errors are all named `KafkaJS...`). */
const isKafkaJSError = (error: unknown): boolean =>
  error instanceof Error && error.name.startsWith('KafkaJS');

/** How often and how patiently a failing handler is retried. */
export interface RetryPolicy {
  /** Attempts after the first failure before the event is dead-lettered. */
  retries: number;
  /**
   * The ceiling of the first retry's delay; it doubles each attempt, capped at 10 s, and each
   * delay is jittered between half of its ceiling and all of it.
   */
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
  /** Times each attempt, counts failures and dead letters; none: nothing is measured. */
  meter?: SubscriptionMeter | undefined;
}

/**
 * Resolves once the handler succeeded or the event was dead-lettered.
 * @throws the handler's error when the subscription stopped meanwhile: the event stays unhandled.
 */
export type RunHandler = <T extends Topic>(run: HandlerRun<T>) => Promise<void>;

const MAX_RETRY_DELAY_MS = 10_000;

/**
 * Runs handlers with `policy`'s retries, then dead-letters with `deadLetter`; a non-retriable
 * error is dead-lettered at once.
 */
export function createHandlerRunner(policy: RetryPolicy, deadLetter: DeadLetter): RunHandler {
  const maxAttempts = policy.retries + 1;
  return async ({ event, context, groupId, handler, message, heartbeat, stopping, log, meter }) => {
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      try {
        await handler(event, { ...context, attempt });
        meter?.handled(context.topic, event.eventType, (performance.now() - started) / 1000);
        return;
      } catch (error) {
        meter?.handled(context.topic, event.eventType, (performance.now() - started) / 1000, true);
        const reason = `handler failed: ${errorMessage(error)}`;
        // Stopping mid-retry: leave the offset unresolved so the message is delivered again.
        if (stopping.aborted) throw error;
        const retriable = isRetriable(error) || isKafkaJSError(error);
        if (!retriable || attempt >= maxAttempts) {
          if (!retriable) {
            log.warn('handler failed; not retriable', { eventId: event.eventId, attempt, error });
          }
          await deadLetter({ context, message, groupId, reason, attempts: attempt, event }, log);
          meter?.deadLettered(context.topic, retriable ? 'retries_exhausted' : 'non_retriable');
          return;
        }
        log.warn('handler failed, will retry', { eventId: event.eventId, attempt, error });
        const delay = backoffDelay(attempt, {
          initialMs: policy.retryMs,
          maxMs: MAX_RETRY_DELAY_MS,
          jitter: 'equal',
        });
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
