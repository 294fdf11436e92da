/**
 * A background loop that drains a table of pending work (outbox rows, emails to send): rounds
 * run back to back while there is more, the loop sleeps between polls, `notify()` wakes it at
 * once after a commit, and a failing round is retried with exponential backoff (lib/backoff.ts:
 * from 200 ms, doubling up to `maxBackoffMs`, with equal jitter so that replicas whose rounds
 * failed together, on a broker or mail server gone away, do not all retry at the same moment).
 */
import { backoffDelay } from './backoff';
import { silentLogger, type Logger } from './logger';

/** The ceiling of the wait after a first failed round; it doubles with each further failure. */
const FIRST_BACKOFF_MS = 200;

export interface WorkLoopOptions {
  /** One round of work; resolves `true` when more is waiting, so the next round runs at once. */
  round: () => Promise<boolean>;
  /** Sleep between rounds when nothing notifies the loop. */
  pollIntervalMs: number;
  /**
   * Longest wait between retries after failed rounds; each wait is jittered between half of its
   * ceiling and all of it.
   */
  maxBackoffMs: number;
  /** Logs failures and recoveries; bind a `component` to it. */
  logger?: Logger;
}

/** The controls of a work loop (see {@link createWorkLoop}). */
export interface WorkLoop {
  start(): void;
  /** Finishes the round in progress, then stops. */
  stop(): Promise<void>;
  /** Wakes the loop now. */
  notify(): void;
  /** True while running and the last round succeeded. */
  ready(): boolean;
}

/**
 * A loop over `options.round`, not started: `start()` runs it until `stop()`. A round that throws
 * makes the loop unready and is tried again after a backoff; the first round that succeeds makes
 * it ready again.
 */
export function createWorkLoop(options: WorkLoopOptions): WorkLoop {
  // Here rather than at the first failure, which would end the loop with nobody to tell.
  if (!(options.maxBackoffMs >= 0)) {
    throw new RangeError(`maxBackoffMs must not be negative, not ${options.maxBackoffMs}`);
  }
  const log = options.logger ?? silentLogger;
  let running = false;
  let healthy = true;
  let failures = 0;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let notified = false;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      // stop() during a round found no sleep to cut short: do not start one.
      if (!running) return resolve();
      if (notified) {
        notified = false;
        return resolve();
      }
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  async function run(): Promise<void> {
    while (running) {
      try {
        const more = await options.round();
        if (!healthy) log.info('recovered', { failures });
        healthy = true;
        failures = 0;
        if (!more) await sleep(options.pollIntervalMs);
      } catch (error) {
        healthy = false;
        failures++;
        // Equal jitter: a failing round never runs back to back with the last one.
        const delay = backoffDelay(failures, {
          initialMs: FIRST_BACKOFF_MS,
          maxMs: options.maxBackoffMs,
          jitter: 'equal',
        });
        log.warn('round failed; retrying', { error, failures, retryInMs: delay });
        await sleep(delay);
      }
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      loop = run();
    },
    async stop() {
      running = false;
      wake?.();
      await loop;
    },
    notify() {
      if (wake) wake();
      else notified = true;
    },
    ready: () => running && healthy,
  };
}
