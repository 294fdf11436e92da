/** The clean-up of a bench run: what it started and created, undone in reverse order. */

/** A stack of clean-up steps, from `createTeardown`. */
export interface Teardown {
  /** Registers a step; steps run last-registered first. */
  defer(step: () => Promise<unknown>): void;
  /**
   * Runs `before`, then the steps registered so far, last first; a failing step is reported and
   * does not skip the others. Calls made while one runs (Ctrl-C during a clean-up) share it; a
   * later call runs what was registered since.
   */
  run(): Promise<void>;
}

/** Options of `createTeardown`. */
export interface TeardownOptions {
  /** Runs first on every `run()`: stopping the child processes still running, say. */
  before?: () => Promise<void>;
  /**
   * Reports a step that failed.
   * @default console.error(`cleanup failed: <message>`)
   */
  onError?: (error: unknown) => void;
}

/** A new, empty clean-up stack. */
export function createTeardown(options: TeardownOptions = {}): Teardown {
  const {
    before,
    onError = (error: unknown) =>
      console.error(`cleanup failed: ${error instanceof Error ? error.message : String(error)}`),
  } = options;
  const steps: (() => Promise<unknown>)[] = [];
  let running: Promise<void> | undefined;
  return {
    defer(step) {
      steps.push(step);
    },
    run() {
      running ??= (async () => {
        await before?.();
        for (let step = steps.pop(); step !== undefined; step = steps.pop()) {
          await step().catch(onError);
        }
      })().finally(() => {
        running = undefined;
      });
      return running;
    },
  };
}
