/**
 * The bounded queue between a subscription's results and its transport.
 *
 * Results are written straight to the transport's {@link ResultSink} while it has room: no
 * promise, no copy, no serialization per subscriber beyond splicing its cursor into the result
 * serialized once (result.ts). When the transport's buffer is full (a client that does not
 * read), results wait here, at most `limit` of them; beyond, the oldest are dropped. The next
 * result the client does get says how many were dropped before it (`extensions.dropped`), and
 * `extensions.cursor` of the last result it saw lets it fetch them again by resubscribing.
 *
 * Pushing never waits: one slow subscriber cannot slow the fan-out to the others.
 *
 * For the protocol adapter (gateway/websocket.ts) the queue is also an async iterator that yields
 * nothing and ends when the subscription ends: `return()` (the client completed or went away)
 * discards what is queued; `close()` (the server ends it) first writes what is queued.
 */
import type { PreparedResult } from './result';

/** Where one subscription's results go: a transport adapter (WebSocket, SSE, ...). */
export interface ResultSink {
  /**
   * Sends one result with this subscriber's cursor and count of results dropped before it (see
   * {@link PreparedResult.encoded}: most subscribers share its bytes).
   */
  send(result: PreparedResult, cursor: string, dropped: number): void;
  /** False while the transport's buffer is full; `onDrain` listeners run once it has room. */
  writable(): boolean;
  /** Calls `listener.drained()` once, the next time the transport has room. */
  onDrain(listener: DrainListener): void;
}

/** What waits for a transport's room (an object, not a closure: there is one per subscriber). */
export interface DrainListener {
  drained(): void;
}

/** Who is told when a queue ends and when it drops a result. */
export interface QueueOwner {
  /** Once, when the client completes the operation or disconnects, or the server ends it. */
  queueClosed(): void;
  /** For every result dropped, for the gateway's counters. */
  resultDropped(): void;
}

/** A sink that throws results away: for subscriptions whose results nobody reads (tests). */
export const DISCARD: ResultSink = {
  send: () => undefined,
  writable: () => true,
  onDrain: () => undefined,
};

/**
 * One subscriber's bounded queue in front of its {@link ResultSink}, and the async iterator the
 * protocol adapter waits on: see the module's comment.
 */
export class SubscriberQueue implements AsyncIterableIterator<never>, DrainListener {
  private results: (PreparedResult | undefined)[] = [];
  private cursors: (string | undefined)[] = [];
  private head = 0;
  private droppedSinceLast = 0;
  private closed = false;
  private awaitingDrain = false;
  private roomWaiters: (() => void)[] = [];
  private ended: ((result: IteratorResult<never>) => void) | undefined;
  /** Results dropped since the queue opened. */
  dropped = 0;
  /** Results written to the sink since the queue opened. */
  sent = 0;

  /**
   * @param limit - most results held while the transport has no room.
   * @param sink - the transport.
   * @param owner - told when the queue ends and when it drops a result.
   * @throws when `limit` is not an integer of at least 1.
   */
  constructor(
    readonly limit: number,
    private readonly sink: ResultSink,
    private readonly owner?: QueueOwner,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error('The queue limit must be >= 1');
  }

  /** Results waiting for room in the transport. */
  get size(): number {
    return this.results.length - this.head;
  }

  /** True once the subscription ended (closed, cleared, or returned by the adapter). */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Hands `result` with this subscriber's `cursor` to the transport, or queues it. */
  push(result: PreparedResult, cursor: string): void {
    if (this.closed) return;
    if (this.size === 0 && this.sink.writable()) {
      this.write(result, cursor);
      return;
    }
    this.results.push(result);
    this.cursors.push(cursor);
    if (this.size > this.limit) {
      this.results[this.head] = undefined;
      this.cursors[this.head++] = undefined;
      this.countDrop();
    }
    // Compact now and then instead of shifting on every write.
    if (this.head > 1024 && this.head * 2 > this.results.length) this.compact();
    this.awaitDrain();
  }

  /** Counts a result lost before it reached the queue (e.g. while catching up). */
  countDrop(): void {
    this.dropped++;
    this.droppedSinceLast++;
    this.owner?.resultDropped();
  }

  /**
   * Resolves when the queue has room (or is closed): for producers that can wait, such as a
   * replay of missed events, which must not push out what it just queued.
   */
  roomFor(): Promise<void> {
    if (this.closed || this.size < this.limit) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** Ends the subscription from the server's side: what is queued is written, then it ends. */
  close(): void {
    if (this.closed) return;
    while (this.size > 0) this.writeHead();
    this.end();
  }

  /** Drops what is queued and ends the subscription now. */
  clear(): void {
    if (this.closed) return;
    this.results = [];
    this.cursors = [];
    this.head = 0;
    this.end();
  }

  /** Resolves (done) when the subscription ends; yields nothing: results go to the sink. */
  next(): Promise<IteratorResult<never>> {
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.ended = resolve;
    });
  }

  /** The client completed or went away: nothing more is delivered. */
  return(): Promise<IteratorResult<never>> {
    this.clear();
    return Promise.resolve({ value: undefined, done: true });
  }

  /** Drops what is queued, ends the subscription, and rejects with `error` (as an `Error`). */
  throw(error?: unknown): Promise<IteratorResult<never>> {
    this.clear();
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<never> {
    return this;
  }

  private end(): void {
    this.closed = true;
    this.ended?.({ value: undefined, done: true });
    this.ended = undefined;
    this.wakeRoomWaiters();
    this.owner?.queueClosed();
  }

  private write(result: PreparedResult, cursor: string): void {
    const dropped = this.droppedSinceLast;
    this.droppedSinceLast = 0;
    this.sent++;
    this.sink.send(result, cursor, dropped);
  }

  private writeHead(): void {
    const result = this.results[this.head] as PreparedResult;
    const cursor = this.cursors[this.head] as string;
    this.results[this.head] = undefined;
    this.cursors[this.head++] = undefined;
    if (this.head === this.results.length) {
      this.results.length = 0;
      this.cursors.length = 0;
      this.head = 0;
    }
    this.write(result, cursor);
  }

  private awaitDrain(): void {
    if (this.awaitingDrain) return;
    this.awaitingDrain = true;
    this.sink.onDrain(this);
  }

  /** The transport has room again: writes what waits, as far as the room goes. */
  drained(): void {
    this.awaitingDrain = false;
    if (this.closed) return;
    while (this.size > 0 && this.sink.writable()) this.writeHead();
    if (this.size > 0) this.awaitDrain();
    if (this.roomWaiters.length > 0 && this.size < this.limit) this.wakeRoomWaiters();
  }

  private compact(): void {
    this.results.splice(0, this.head);
    this.cursors.splice(0, this.head);
    this.head = 0;
  }

  private wakeRoomWaiters(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const wake of waiters) wake();
  }
}
