/**
 * Fixes to kafkajs 2.2.4. One is applied when this module is loaded (kafka-service.ts imports it
 * first); the other is a file patched at install (`scripts/patch-dependencies.js`, npm's
 * `postinstall`), which this module checks is in place, since without it a send retried after a
 * broker failure can lose messages while it reports success.
 *
 * kafkajs's `RequestQueue` (one per broker connection) reschedules its pending-request check
 * after every response with `setTimeout(throttledUntil - Date.now())`. Unthrottled,
 * `throttledUntil` is -1, so the delay is negative, Node runs it after 1 ms, and the check
 * schedules itself again: every connection wakes its process about 1,000 times a second, forever,
 * from its first response on (tulios/kafkajs#1556, #1604, #1704; fixes proposed in #1667 and
 * #1768, never released). On this platform's two-core machines that loop was a large share of
 * every process's idle and per-event CPU: a plain kafkajs producer sending 100 messages/s spent
 * ~1.5 ms of CPU per message, and every wake-up competes with the processes doing real work.
 *
 * The fix keeps kafkajs's own rules and drops only the loop: with requests pending, the check runs
 * when the throttle ends (or after kafkajs's 10 ms interval, #1532); with none pending and no
 * throttle, nothing is scheduled, since `push` schedules a check when it queues a request and
 * every response and timeout runs one.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** kafkajs's own interval for a check while requests are pending and the throttle is over. */
const CHECK_PENDING_REQUESTS_INTERVAL = 10;

/** The fields of kafkajs's internal `RequestQueue` that its check uses. */
export interface RequestQueueInternals {
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  pending: unknown[];
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

const kafkajsRequire = createRequire(require.resolve('kafkajs'));

/** The first line of kafkajs's `sendMessages.js` once `scripts/patch-dependencies.js` has run. */
const PATCHED_SEND_MESSAGES = '// Patched by Interview Graph (scripts/patch-dependencies.js)';

/** The producer's send, with the retry fix (for tests, which give it a cluster of their own). */
export const SEND_MESSAGES_FILE = kafkajsRequire.resolve('./src/producer/sendMessages');

if (!readFileSync(SEND_MESSAGES_FILE, 'utf8').startsWith(PATCHED_SEND_MESSAGES)) {
  throw new Error(
    `kafkajs is not patched: ${SEND_MESSAGES_FILE} can lose messages when a broker fails during a send. Install with npm's scripts enabled (npm ci), or run node scripts/patch-dependencies.js.`,
  );
}

/** kafkajs's `RequestQueue` class: the very module kafkajs's connections load. */
export const RequestQueue = kafkajsRequire('./src/network/requestQueue') as {
  new (options: Record<string, unknown>): RequestQueueInternals;
  prototype: RequestQueueInternals;
};

function scheduleCheckPendingRequests(this: RequestQueueInternals): void {
  if (this.throttleCheckTimeoutId) return;
  let delay = this.throttledUntil - Date.now();
  if (this.pending.length > 0) {
    if (delay <= 0) delay = CHECK_PENDING_REQUESTS_INTERVAL;
  } else if (delay <= 0) {
    return;
  }
  this.throttleCheckTimeoutId = setTimeout(() => {
    this.throttleCheckTimeoutId = null;
    this.checkPendingRequests();
  }, delay);
}

RequestQueue.prototype.scheduleCheckPendingRequests = scheduleCheckPendingRequests;

/**
 * Disconnects a kafkajs consumer for good. kafkajs restarts a crashed consumer after a delay, and
 * its crash handler arms that restart only after it has awaited the consumer's own disconnect and
 * `restartOnFailure`: a `disconnect()` of ours that runs meanwhile clears no timer yet, and the
 * consumer comes back to life afterwards, retrying forever against a broker that may be gone (and
 * keeping the process alive). Pass `restartOnFailure: () => !stopping` in the consumer's `retry`
 * so a crash seen while stopping does not restart, and disconnect with this: it stops the consumer
 * once more after the crash handler has had its turn.
 */
export async function disconnectForGood(consumer: {
  disconnect(): Promise<void>;
  stop(): Promise<void>;
}): Promise<void> {
  await consumer.disconnect();
  await new Promise((resolve) => setTimeout(resolve, 0));
  await consumer.stop();
}
