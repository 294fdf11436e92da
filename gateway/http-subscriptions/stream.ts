/**
 * One live subscription's HTTP response: the {@link ResultSink} the engine writes results to,
 * whatever the framing (Server-Sent Events, sse.ts, or Apollo's multipart, multipart.ts).
 *
 * As on the WebSocket, a result goes out as a few bytes of framing of this response's own (an
 * SSE `id:` line, a multipart part's headers) around the bytes the engine serialized once for
 * every subscriber of the event (subscriptions/result.ts), corked into one write. The response's
 * buffer is the backpressure signal: while `res.writableNeedDrain`, results wait in the
 * subscriber's bounded queue (and the oldest are dropped for a client that does not read), and
 * they go on at the response's `drain`. Headers are written with the first bytes, so that a
 * subscription refused while it is set up can still be answered as plain JSON with a status.
 */
import type { ServerResponse } from 'node:http';
import type { GraphQLFormattedError } from 'graphql';
import type { DrainListener, ResultSink, SubscriberQueue } from '../subscriptions/queue';
import type { PreparedResult } from '../subscriptions/result';

/** How a transport frames a stream of results in one HTTP response. */
export interface Framing {
  /** The response's `content-type`. */
  readonly contentType: string;
  /** Written right after the headers (a comment, a first heartbeat), so that proxies pass them. */
  readonly opening: string;
  /** Written when the stream has been quiet for a while. */
  readonly heartbeat: string;
  /** The framing before a live result's payload; `cursor` is its `extensions.cursor`. */
  head(cursor: string): string;
  /** What follows a live result's payload (part of the bytes shared by its subscribers). */
  readonly suffix: string;
  /** A result that is not a live one: the answer to a query or mutation. */
  result(json: string): string;
  /** What ends the stream, after `errors` when it ends with errors. */
  ending(errors?: readonly GraphQLFormattedError[]): string;
  /**
   * What ends the stream when the gateway stops (`error` is `GATEWAY_STOPPING`): for a client to
   * take up again with its last cursor, elsewhere.
   */
  interrupted(error: GraphQLFormattedError): string;
}

/** Why a stream ends, when not because the engine completed the subscription. */
export type StreamEnding = 'gone' | 'expired' | 'stopping';

/** A live subscription's response: see the module's comment. */
export class HttpStream implements ResultSink {
  /** The subscription's queue, once it runs. */
  queue: SubscriberQueue | undefined;
  /** Set once the client went away, the credentials expired, or the gateway is stopping. */
  ending: StreamEnding | undefined;
  /** Resolves once the stream's last bytes are written (or the client is gone). */
  readonly settled: Promise<void>;
  private started = false;
  private drainListeners: DrainListener[] | undefined;
  private settle!: () => void;

  constructor(
    readonly res: ServerResponse,
    readonly framing: Framing,
  ) {
    this.settled = new Promise((resolve) => (this.settle = resolve));
    res.once('close', () => {
      if (res.writableEnded) return;
      this.ending ??= 'gone';
      this.settle();
      void this.queue?.return();
    });
  }

  /** True once the response ended or its connection closed. */
  get finished(): boolean {
    return this.res.writableEnded || this.res.destroyed;
  }

  /** Whether the response's headers (and so a status of 200) are out. */
  get isStarted(): boolean {
    return this.started;
  }

  /** Writes the headers and the framing's opening, once. */
  begin(): void {
    if (this.started || this.finished) return;
    this.started = true;
    // Set, not passed to writeHead: `getHeader` then tells a stream of ours from Apollo's answer.
    // (CORS headers are set on `res` already.)
    const headers = {
      'content-type': this.framing.contentType,
      'cache-control': 'no-cache, no-store',
      // nginx and other proxies: pass the stream on as it comes.
      'x-accel-buffering': 'no',
    };
    for (const [name, value] of Object.entries(headers)) this.res.setHeader(name, value);
    this.res.writeHead(200);
    this.res.write(this.framing.opening);
  }

  send(result: PreparedResult, cursor: string, dropped: number): void {
    if (this.finished) return;
    this.begin();
    const shared = result.encoded(cursor, dropped, this.framing.suffix);
    this.res.cork();
    this.res.write(this.framing.head(cursor));
    this.res.write(shared);
    this.res.uncork();
  }

  /** Writes a result that did not come from the engine (a query's answer). */
  write(text: string): void {
    if (this.finished) return;
    this.begin();
    this.res.write(text);
  }

  writable(): boolean {
    return !this.finished && !this.res.writableNeedDrain;
  }

  onDrain(listener: DrainListener): void {
    (this.drainListeners ??= []).push(listener);
    if (this.drainListeners.length === 1) this.res.once('drain', () => this.drained());
  }

  /** A heartbeat, unless the stream is not open or its buffer is full (then it is not idle). */
  heartbeat(): void {
    if (this.started && this.writable()) this.res.write(this.framing.heartbeat);
  }

  /** Ends the response with `text` (the framing's ending); settles the stream. */
  end(text: string): void {
    if (!this.finished) {
      this.begin();
      this.res.end(text);
    }
    this.settle();
  }

  private drained(): void {
    const listeners = this.drainListeners ?? [];
    this.drainListeners = undefined;
    for (const listener of listeners) listener.drained();
  }
}
