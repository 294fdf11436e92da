/**
 * One subscription over HTTP, for the subscriber processes (clients.ts): Server-Sent Events
 * (graphql-sse's distinct connections mode, `POST /graphql/stream`) or Apollo's multipart
 * subscriptions (`POST /graphql`), gateway/http-subscriptions/.
 *
 * One request per subscriber on a connection of its own (`agent: false`), from a loopback
 * source address of its own when given one: the gateway limits subscribe requests per client
 * address (20 a second, bursts of 100), as it would a thousand real clients, so a thousand
 * subscribers from 127.0.0.1 would be refused after the first hundred.
 *
 * The body is read by lean parsers of exactly what the gateway writes (test/http-streams.ts
 * decodes to strings and parses every part as JSON: too dear on the receiving side of a fan-out):
 * they find the frame boundaries in the received bytes and hand each result's JSON on as a view
 * of them, without a copy unless a frame spans chunks.
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import type { Identity } from '../../contracts/identity';
import { wallClock } from '../lib/clock';

/** The HTTP transports of subscriptions. */
export type HttpTransport = 'sse' | 'multipart';

/** What a stream tells its subscriber, as it is read. */
export interface StreamHandlers {
  /** A result: `payload` is its JSON (`{"data":...,"extensions":{...}}`), `at` its arrival. */
  result(payload: Buffer, at: number): void;
  /** The server ended the subscription (SSE `complete`, multipart errors or closing delimiter). */
  ended(description: string): void;
  /** Bytes the parser did not expect. */
  unexpected(description: string): void;
}

/** A parser of one response body: fed its chunks in order. */
type Parser = (chunk: Buffer, at: number) => void;

const LF_LF = Buffer.from('\n\n');
const EVENT_NEXT = Buffer.from('event: next\n');
const EVENT_COMPLETE = Buffer.from('event: complete\n');
const DATA_LINE = Buffer.from('\ndata: ');
const DELIMITER = Buffer.from('\r\n--graphql');
const CRLF_CRLF = Buffer.from('\r\n\r\n');
const PAYLOAD = Buffer.from('{"payload":');
const PAYLOAD_NULL = Buffer.from('{"payload":null');
const COLON = 0x3a;
const DASH = 0x2d;
const LF = 0x0a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

const startsWith = (bytes: Buffer, prefix: Buffer, at: number, end: number) =>
  end - at >= prefix.length &&
  bytes.compare(prefix, 0, prefix.length, at, at + prefix.length) === 0;

const text = (bytes: Buffer, start: number, end: number) =>
  bytes.toString('utf8', start, Math.min(end, start + 400));

/**
 * The complete frames of a stream of chunks: `frame(bytes, start, end, at)` for every span up to
 * the next `separator`, which may return true to read no further; `rest(bytes, start)` then sees
 * what is left, which waits for the next chunk unless it returns true (no further either).
 */
function framer(
  separator: Buffer,
  frame: (bytes: Buffer, start: number, end: number, at: number) => boolean,
  rest: (bytes: Buffer, start: number) => boolean = () => false,
): Parser {
  let pending: Buffer | undefined;
  let done = false;
  return (chunk, at) => {
    if (done) return;
    // A frame split over chunks (rare: the gateway writes each frame in one piece) is copied.
    const bytes = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
    pending = undefined;
    let position = 0;
    for (;;) {
      const end = bytes.indexOf(separator, position);
      if (end === -1) break;
      if (frame(bytes, position, end, at)) {
        done = true;
        return;
      }
      position = end + separator.length;
    }
    if (position < bytes.length) {
      if (rest(bytes, position)) done = true;
      else pending = bytes.subarray(position);
    }
  };
}

/**
 * The gateway's `text/event-stream` (sse.ts): events end with a blank line (`\n\n`); `:` lines
 * are comments (the opening, keep-alives); a result is `event: next`, `id: <cursor>`, one
 * `data:` line of JSON; `event: complete` ends the stream. The gateway writes LF only and every
 * JSON on one line, which is all this reads.
 */
function sseParser(handlers: StreamHandlers): Parser {
  return framer(LF_LF, (bytes, start, end, at) => {
    if (bytes[start] === COLON) return false;
    if (startsWith(bytes, EVENT_NEXT, start, end)) {
      // From the LF that ends the `event:` line: `\ndata: ` follows it or the `id:` line.
      const dataAt = bytes.indexOf(DATA_LINE, start + EVENT_NEXT.length - 1);
      if (dataAt === -1 || dataAt >= end) {
        handlers.unexpected(`an SSE next without data: ${text(bytes, start, end)}`);
        return false;
      }
      const payloadAt = dataAt + DATA_LINE.length;
      const lineEnd = bytes.indexOf(LF, payloadAt);
      if (lineEnd !== -1 && lineEnd < end) {
        handlers.unexpected(`an SSE next of several lines: ${text(bytes, start, end)}`);
        return false;
      }
      handlers.result(bytes.subarray(payloadAt, end), at);
      return false;
    }
    if (startsWith(bytes, EVENT_COMPLETE, start, end)) {
      handlers.ended('SSE complete');
      return true;
    }
    handlers.unexpected(`an SSE event of another kind: ${text(bytes, start, end)}`);
    return false;
  });
}

/**
 * The gateway's `multipart/mixed; boundary="graphql"` (multipart.ts): parts between delimiters
 * `\r\n--graphql`, each headers, a blank line and a JSON body: `{}` (a heartbeat),
 * `{"payload":<result>}`, or `{"payload":null,"errors":[...]}` (an error that ends the stream);
 * `--` right after a delimiter closes the body. A part is read once the delimiter after it came,
 * as Apollo Client reads it (the gateway writes each part with the delimiter that follows it).
 */
function multipartParser(handlers: StreamHandlers): Parser {
  let seenFirst = false;
  const closes = (bytes: Buffer, start: number) =>
    seenFirst && bytes[start] === DASH && bytes[start + 1] === DASH;
  return framer(
    DELIMITER,
    (bytes, start, end, at) => {
      // What comes before the first delimiter is the preamble (empty here).
      if (!seenFirst) {
        seenFirst = true;
        return false;
      }
      if (closes(bytes, start)) {
        handlers.ended('the closing delimiter');
        return true;
      }
      const headersEnd = bytes.indexOf(CRLF_CRLF, start);
      if (headersEnd === -1 || headersEnd >= end) {
        handlers.unexpected(`a part without headers: ${text(bytes, start, end)}`);
        return false;
      }
      const bodyAt = headersEnd + CRLF_CRLF.length;
      if (end - bodyAt === 2 && bytes[bodyAt] === OPEN_BRACE && bytes[bodyAt + 1] === CLOSE_BRACE) {
        return false;
      }
      if (startsWith(bytes, PAYLOAD_NULL, bodyAt, end)) {
        handlers.ended(`a part with payload null: ${text(bytes, bodyAt, end)}`);
        return true;
      }
      if (startsWith(bytes, PAYLOAD, bodyAt, end) && bytes[end - 1] === CLOSE_BRACE) {
        handlers.result(bytes.subarray(bodyAt + PAYLOAD.length, end - 1), at);
        return false;
      }
      handlers.unexpected(`a part of another kind: ${text(bytes, bodyAt, end)}`);
      return false;
    },
    (bytes, start) => {
      if (!closes(bytes, start)) return false;
      handlers.ended('the closing delimiter');
      return true;
    },
  );
}

/** Where and how to subscribe. */
export interface HttpSubscriptionOptions {
  transport: HttpTransport;
  /** `http://host:port/graphql/stream` (SSE) or `http://host:port/graphql` (multipart). */
  url: string;
  query: string;
  variables: Record<string, unknown>;
  /** Sent as the development `x-identity` header. */
  identity: Identity;
  /** The connection's source address (a loopback address of the subscriber's own). */
  localAddress?: string;
  /** Most ms until the response started (or, refused, its body ended). */
  timeoutMs: number;
}

/** A subscription whose response started (200, the stream's content type). */
export interface HttpSubscription {
  /** Ends the request; resolves once its connection closed. */
  close(): Promise<void>;
  /** The connection's `close` after the stream started, unless `close` was called. */
  onClosed(listener: (description: string) => void): void;
}

const ACCEPT: Record<HttpTransport, string> = {
  sse: 'text/event-stream',
  multipart: 'multipart/mixed;subscriptionSpec="1.0", application/json',
};
const CONTENT_TYPE: Record<HttpTransport, string> = {
  sse: 'text/event-stream',
  multipart: 'multipart/mixed',
};

/** Up to 1,000 bytes of `res`'s body, for an error message. */
function bodyOf(res: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      if (size < 1_000) chunks.push(chunk);
      size += chunk.length;
    });
    const done = () => resolve(Buffer.concat(chunks).toString('utf8').slice(0, 1_000));
    res.on('end', done);
    res.on('close', done);
    res.on('error', done);
  });
}

/**
 * POSTs the subscription; resolves once the response started as a stream (status 200 and the
 * transport's content type), its results going to `handlers` from then on.
 * @throws an error naming the status and the body of any other response (`HTTP 429
 * {"errors":[...]}`), or the connection's error, or the timeout.
 */
export function subscribeOverHttp(
  options: HttpSubscriptionOptions,
  handlers: StreamHandlers,
): Promise<HttpSubscription> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ query: options.query, variables: options.variables });
    let settled = false;
    let closing = false;
    let closedListener: ((description: string) => void) | undefined;
    let closedWith: string | undefined;
    const fail = (reason: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(new Error(reason));
    };
    const req: ClientRequest = httpRequest(options.url, {
      method: 'POST',
      agent: false,
      ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
      headers: {
        accept: ACCEPT[options.transport],
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'x-identity': JSON.stringify(options.identity),
      },
    });
    const timer = setTimeout(
      () => fail(`no stream started within ${options.timeoutMs} ms`),
      options.timeoutMs,
    );
    req.on('error', (error) => fail(error.message));
    req.on('response', (res) => {
      const type = res.headers['content-type'] ?? '';
      if (res.statusCode !== 200 || !type.startsWith(CONTENT_TYPE[options.transport])) {
        // The timeout still runs: a refusal whose body does not end fails all the same.
        void bodyOf(res).then((text) =>
          fail(`HTTP ${res.statusCode ?? '?'} (${type || 'no content-type'}): ${text}`),
        );
        return;
      }
      settled = true;
      clearTimeout(timer);
      const parse = options.transport === 'sse' ? sseParser(handlers) : multipartParser(handlers);
      res.on('data', (chunk: Buffer) => parse(chunk, wallClock()));
      res.on('error', () => undefined);
      const closed = new Promise<void>((done) => res.socket.once('close', () => done()));
      res.once('close', () => {
        if (closing) return;
        closedWith = res.complete ? 'the response ended' : 'the connection closed';
        closedListener?.(closedWith);
      });
      resolve({
        close: () => {
          closing = true;
          req.destroy();
          return closed;
        },
        onClosed: (listener) => {
          closedListener = listener;
          // Closed before anyone listened (a stream ended as soon as it started).
          if (closedWith !== undefined) listener(closedWith);
        },
      });
    });
    req.end(body);
  });
}
