/**
 * The bounded queue between a subscription's events and its WebSocket. graphql-ws pulls one
 * result at a time and waits until the socket has flushed it, so a client that does not read
 * stops pulling; the queue then keeps at most `limit` results and drops the oldest. The next
 * result the client does get says how many were dropped before it (`extensions.dropped`), and
 * `extensions.cursor` of the last result it saw lets it fetch them again by resubscribing.
 *
 * Pushing never waits: one slow subscriber cannot slow the fan-out to the others.
 */
import type { ExecutionResult } from 'graphql';

export class SubscriberQueue<
  T extends ExecutionResult = ExecutionResult,
> implements AsyncIterableIterator<T> {
  private readonly items: T[] = [];
  private head = 0;
  private waiting: ((result: IteratorResult<T>) => void) | undefined;
  private droppedSinceLast = 0;
  private closed = false;
  private roomWaiters: (() => void)[] = [];
  /** Results dropped since the queue opened. */
  dropped = 0;

  /**
   * @param limit - most results held for a client that is not reading.
   * @param onClose - runs once, when the client completes the operation or disconnects.
   */
  constructor(
    readonly limit: number,
    private readonly onClose: () => void = () => undefined,
    /** Runs for every result dropped, for the gateway's counters. */
    private readonly onDrop: () => void = () => undefined,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error('The queue limit must be >= 1');
  }

  /** Results waiting to be pulled. */
  get size(): number {
    return this.items.length - this.head;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  push(result: T): void {
    if (this.closed) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve({ value: this.annotate(result), done: false });
      return;
    }
    this.items.push(result);
    if (this.size > this.limit) {
      this.items[this.head++] = undefined as unknown as T;
      this.countDrop();
    }
    // Compact now and then instead of shifting on every pull.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.size > 0) {
      const value = this.items[this.head] as T;
      this.items[this.head++] = undefined as unknown as T;
      if (this.roomWaiters.length > 0 && this.size < this.limit) this.wakeRoomWaiters();
      return Promise.resolve({ value: this.annotate(value), done: false });
    }
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  /** The client completed or went away: nothing more is delivered. */
  return(): Promise<IteratorResult<T>> {
    this.clear();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error?: unknown): Promise<IteratorResult<T>> {
    this.close();
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }

  /** Ends the stream from the server's side: the client gets `complete` once the queue is read. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.waiting?.({ value: undefined, done: true });
    this.waiting = undefined;
    this.wakeRoomWaiters();
    this.onClose();
  }

  /**
   * Resolves when the queue has room (or is closed): for producers that can wait, such as a
   * replay of missed events, which must not push out what it just queued.
   */
  roomFor(): Promise<void> {
    if (this.closed || this.size < this.limit) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  private wakeRoomWaiters(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Drops what is queued and ends the stream now. */
  clear(): void {
    this.items.length = 0;
    this.head = 0;
    this.close();
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  /** Counts a result lost before it reached the queue (e.g. while catching up). */
  countDrop(): void {
    this.dropped++;
    this.droppedSinceLast++;
    this.onDrop();
  }

  private annotate(result: T): T {
    if (this.droppedSinceLast === 0) return result;
    const dropped = this.droppedSinceLast;
    this.droppedSinceLast = 0;
    return { ...result, extensions: { ...result.extensions, dropped } };
  }
}
