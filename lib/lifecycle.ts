/**
 * One way to start and stop a process's parts: each part, once started, pushes how to stop it
 * onto a {@link Lifecycle}, and `stop()` runs those in reverse order (the last started stops
 * first), each once, every one of them even when an earlier one fails. A start that fails half
 * way stops what it had started with the same call. It is the `AsyncDisposableStack` of newer
 * Node.js versions, small enough to keep on Node 20.
 */
import type { Logger } from './logger';

/** How to stop one part. */
export type Disposer = () => Promise<unknown> | unknown;

interface Entry {
  name: string;
  dispose: Disposer;
}

/** A stack of disposers: {@link Lifecycle.defer} while starting, {@link Lifecycle.stop} once. */
export class Lifecycle {
  private entries: Entry[] = [];

  /** @param logger Told about a disposer that fails (the others still run). */
  constructor(private readonly logger?: Logger) {}

  /** Registers `dispose` (called `name` in errors) to run at {@link stop}, before the earlier ones. */
  defer(name: string, dispose: Disposer): void {
    this.entries.push({ name, dispose });
  }

  /** Registers `value`'s disposer and hands `value` back: `const db = life.use('db', await open(), (d) => d.close())`. */
  use<T>(name: string, value: T, dispose: (value: T) => Promise<unknown> | unknown): T {
    this.defer(name, () => dispose(value));
    return value;
  }

  /** How many disposers are waiting. */
  get size(): number {
    return this.entries.length;
  }

  /**
   * Runs every disposer, last registered first, and forgets them (a second call does nothing
   * until parts are registered again). Rejects after all have run if any failed: with its error,
   * or an `AggregateError` of them.
   */
  async stop(): Promise<void> {
    const entries = this.entries.reverse();
    this.entries = [];
    const failures: unknown[] = [];
    for (const { name, dispose } of entries) {
      try {
        await dispose();
      } catch (error) {
        this.logger?.error('stopping failed', { part: name, error });
        failures.push(error instanceof Error ? error : new Error(`${name}: ${String(error)}`));
      }
    }
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) throw new AggregateError(failures, 'Several parts failed to stop');
  }

  /**
   * Runs `start`; if it throws, stops what it had registered (ignoring errors of the stop) and
   * rethrows the start's error.
   */
  async starting<T>(start: () => Promise<T>): Promise<T> {
    try {
      return await start();
    } catch (error) {
      await this.stop().catch(() => undefined);
      throw error;
    }
  }
}
