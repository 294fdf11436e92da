/**
 * One live subscription's HTTP response: the {@link ResultSink} the engine writes results to,
 * whatever the framing (Server-Sent Events, sse.ts, or Apollo's multipart, multipart.ts).
 *
 * As on the WebSocket (gateway/websocket.ts), a result goes out as a few bytes of framing of this
 * response's own (an SSE `id:` line, a multipart part's headers) around the bytes the engine
 * serialized once for every subscriber of the event (subscriptions/result.ts), and what one tick
 * gives a response is written to its socket once, at the end of the tick: one chunk of HTTP/1.1
 * chunked encoding (its size line, the bytes, CRLF) in one write. The bytes go to the socket
 * directly, not through `res.write`, whose per-call cost (chunk framing, header checks,
 * callbacks) was ten times the WebSocket path's per result; `res` still writes the headers (then
 * flushed) and the end (`res.end`, with the last chunk), so the response stays a valid one.
 *
 * The socket's buffer is the backpressure signal: beyond {@link SOCKET_HIGH_WATER_BYTES}
 * results wait in the subscriber's bounded queue (and the oldest are dropped for a client that
 * does not read), and they go on at the socket's `drain`. Headers are written with the first
 * bytes, so that a subscription refused while it is set up can still be answered as plain JSON
 * with a status.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { SOCKET_HIGH_WATER_BYTES, writeCoalesced } from '../../lib/socket-writes';
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

const CRLF = Buffer.from('\r\n');

/** Streams with bytes gathered in this tick, written together once the tick's results are. */
const gathering: HttpStream[] = [];
function writeGathered(): void {
  for (const stream of gathering.splice(0)) stream.writeOut();
}

/**
 * The framing before a live result for `cursor`, as bytes: the last one made per framing is
 * kept, since the subscribers of one event nearly all share its cursor.
 */
const heads = new WeakMap<Framing, { cursor: string; bytes: Buffer }>();
function headBytes(framing: Framing, cursor: string): Buffer {
  const last = heads.get(framing);
  if (last?.cursor === cursor) return last.bytes;
  const bytes = Buffer.from(framing.head(cursor));
  heads.set(framing, { cursor, bytes });
  return bytes;
}

/** A live subscription's response: see the module's comment. */
export class HttpStream implements ResultSink {
  /** The subscription's queue, once it runs. */
  queue: SubscriberQueue | undefined;
  /** Set once the client went away, the credentials expired, or the gateway is stopping. */
  ending: StreamEnding | undefined;
  /** Resolves once the stream's last bytes are written (or the client is gone). */
  readonly settled: Promise<void>;
  private started = false;
  /** The connection, once the headers are out; the body's bytes are written to it. */
  private socket: Socket | undefined;
  /** Whether the body is in chunked encoding (HTTP/1.1), or raw until the connection closes. */
  private chunked = true;
  /** Bytes gathered in this tick, and their number. */
  private out: Buffer[] | undefined;
  private outBytes = 0;
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
      this.out = undefined;
      this.settle();
      void this.queue?.return();
    });
  }

  /** True once the response ended or its connection closed. */
  get finished(): boolean {
    return this.res.writableEnded || this.res.destroyed || this.socket?.destroyed === true;
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
    // The headers go out now, so that the body's bytes can follow on the socket itself.
    this.res.flushHeaders();
    this.socket = this.res.socket ?? undefined;
    this.chunked = this.res.chunkedEncoding;
    this.gather(Buffer.from(this.framing.opening));
  }

  send(result: PreparedResult, cursor: string, dropped: number): void {
    if (this.finished) return;
    this.begin();
    const shared = result.encoded(cursor, dropped, this.framing.suffix);
    this.gather(headBytes(this.framing, cursor), shared);
  }

  /** Writes a result that did not come from the engine (a query's answer). */
  write(text: string): void {
    if (this.finished) return;
    this.begin();
    this.gather(Buffer.from(text));
  }

  writable(): boolean {
    return (
      !this.finished && (this.socket?.writableLength ?? 0) + this.outBytes < SOCKET_HIGH_WATER_BYTES
    );
  }

  onDrain(listener: DrainListener): void {
    (this.drainListeners ??= []).push(listener);
    if (this.drainListeners.length === 1) {
      if (this.socket) this.socket.once('drain', () => this.drained());
      else this.res.once('drain', () => this.drained());
    }
  }

  /** A heartbeat, unless the stream is not open or its buffer is full (then it is not idle). */
  heartbeat(): void {
    if (this.started && this.writable()) this.gather(Buffer.from(this.framing.heartbeat));
  }

  /** Ends the response with `text` (the framing's ending); settles the stream. */
  end(text: string): void {
    if (!this.finished) {
      this.begin();
      this.writeOut();
      this.res.end(text);
    }
    this.settle();
  }

  /** Adds bytes to this tick's write. */
  private gather(...chunks: Buffer[]): void {
    let bytes = 0;
    for (const chunk of chunks) bytes += chunk.length;
    if (this.out === undefined) {
      this.out = chunks;
      this.outBytes = bytes;
      if (gathering.push(this) === 1) process.nextTick(writeGathered);
    } else {
      this.out.push(...chunks);
      this.outBytes += bytes;
    }
  }

  /** Writes what this tick gathered: one chunk, in one buffer or a corked vector. */
  writeOut(): void {
    const out = this.out;
    if (out === undefined) return;
    const bytes = this.outBytes;
    this.out = undefined;
    this.outBytes = 0;
    const socket = this.socket;
    if (!socket || this.finished || bytes === 0) return;
    const parts = this.chunked ? [Buffer.from(`${bytes.toString(16)}\r\n`), ...out, CRLF] : out;
    const total = this.chunked ? bytes + parts[0]!.length + CRLF.length : bytes;
    writeCoalesced(socket, parts, total);
  }

  private drained(): void {
    const listeners = this.drainListeners ?? [];
    this.drainListeners = undefined;
    for (const listener of listeners) listener.drained();
  }
}
