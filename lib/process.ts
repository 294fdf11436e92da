/**
 * How every process of the platform stops: on SIGINT or SIGTERM it runs `stop` once and exits 0,
 * or 1 when the stop fails, hangs past the deadline, or a second signal asks for "now".
 */
import type { Logger } from './logger';

/** How long a clean stop may take before the process gives up and exits 1. */
export const STOP_DEADLINE_MS = 15_000;

/**
 * Installs the platform's stop handling on `signals`: the first runs `stop` once and exits 0, or
 * 1 when it rejects or takes longer than `deadlineMs`; a second signal exits 1 at once.
 * @param name - what stops, for the log lines (`stopping the gateway`).
 */
export function stopOnSignals(
  name: string,
  stop: () => Promise<unknown>,
  logger: Logger,
  deadlineMs = STOP_DEADLINE_MS,
  signals: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'],
): void {
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info(`stopping the ${name}`, { signal });
    // A stop that hangs (a stuck socket, a library bug) must not keep the process alive.
    setTimeout(() => {
      logger.error(`the ${name} did not stop in time`, { deadlineMs });
      process.exit(1);
    }, deadlineMs).unref();
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error(`the ${name} did not stop cleanly`, { error });
        process.exit(1);
      },
    );
  };
  for (const signal of signals) process.on(signal, () => shutdown(signal));
}

/** Runs an entry point's `main`; a failure to start prints one line and exits 1. */
export function runMain(title: string, main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    console.error(
      `${title} failed to start: ${error instanceof Error ? error.message : String(error)}`,
    );
    process.exit(1);
  });
}
