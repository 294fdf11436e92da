/**
 * A background loop that drains a table of pending work (outbox rows, emails to send): rounds
 * run back to back while there is more, the loop sleeps between polls, `notify()` wakes it at
 * once after a commit, and a failing round is retried with exponential backoff.
 */
import { silentLogger, type Logger } from './logger';

export interface WorkLoopOptions {
  /** One round of work; resolves `true` when more is waiting, so the next round runs at once. */
  round: () => Promise<boolean>;
  /** Sleep between rounds when nothing notifies the loop. */
  pollIntervalMs: number;
  /** Longest wait between retries after failed rounds. */
  maxBackoffMs: number;
  /** Logs failures and recoveries; bind a `component` to it. */
  logger?: Logger;
}

export interface WorkLoop {
  start(): void;
  /** Finishes the round in progress, then stops. */
  stop(): Promise<void>;
  /** Wakes the loop now. */
  notify(): void;
  /** True while running and the last round succeeded. */
  ready(): boolean;
}

export function createWorkLoop(options: WorkLoopOptions): WorkLoop {
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
        const delay = Math.min(100 * 2 ** Math.min(failures, 10), options.maxBackoffMs);
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
