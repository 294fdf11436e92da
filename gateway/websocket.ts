/**
 * GraphQL over WebSocket at the gateway: the `graphql-transport-ws` protocol (as graphql-ws
 * defines it; graphql-ws clients, Apollo Client and GraphiQL speak it), on the gateway's own port
 * and GraphQL path (`ws://<gateway>/graphql`), implemented here on a `ws` server.
 *
 * Why not graphql-ws's server: it pays, per subscriber and result, a `JSON.stringify` and a
 * promise that waits for the socket, and per connection two timers, an async frame per operation
 * and the credentials for the connection's life. Live subscriptions here write each result as a
 * WebSocket frame of our own around bytes serialized once for every subscriber (see
 * `Connection.sendFrame` and gateway/subscriptions/result.ts), and an idle connection costs a few
 * small objects.
 *
 * **Authentication** happens once, in `connection_init`, with the same {@link Authenticate} as
 * GraphQL over HTTP. The payload carries what HTTP carries in headers:
 * `{ authorization: 'Bearer <access token>' }` (or `{ token: '<access token>' }`), and, outside
 * production only, the development `{ 'x-identity': '{"userId":...}' }`. A `connection_init`
 * without credentials falls back on the session cookie of the upgrade request (a browser signed
 * in through `/auth/login`: the web app, GraphiQL), but only when the upgrade's `Origin` is the
 * gateway's own (same host) or one of `allowedOrigins`: a browser sends cookies on cross-site
 * upgrades too, and WebSockets have no CORS, so without that check any page could open a socket
 * as its visitor. A connection is closed at its credentials' expiry (the token's `exp`, or the
 * session's access token's): the client refreshes (POST /auth/refresh) and reconnects.
 *
 * **Operations**: queries and mutations run through the same Apollo Server (validation rules,
 * error formatting, query planning) with the same context as HTTP: a freshly signed
 * `x-internal-token` for the caller on every operation, so the subgraphs see who is calling.
 * Subscriptions are live, fed by Kafka (gateway/subscriptions); a gateway without Kafka answers
 * them with the error `SUBSCRIPTIONS_NOT_AVAILABLE` and the socket stays open.
 *
 * **Close codes** ({@link WebSocketCloseCode}; those of errors are the registry's `closeCode`,
 * contracts/errors.ts):
 * - `4401` Unauthorized (`UNAUTHENTICATED`): no credentials, invalid credentials, the access token expired during
 *   the connection, or `subscribe` before `connection_ack`; the reason says which. Sign in or
 *   refresh, then reconnect.
 * - `4403` Forbidden (`FORBIDDEN`): reserved for authorization failures of the connection as a whole (a
 *   subscription the caller may not see is refused per operation, with `FORBIDDEN`).
 * - `1013` Try again later (`SERVICE_UNAVAILABLE`): the issuer's signing keys cannot be loaded
 *   right now.
 * - the protocol's: `4400` a message that is not one of the protocol's (the reason says what is
 *   wrong), `4406` subprotocol other than `graphql-transport-ws`, `4408` no `connection_init`
 *   in time, `4409` an operation id already in use, `4429` a second `connection_init` or more
 *   `subscribe` messages than `subscribeRateLimit` allows (`RATE_LIMITED`; the reason says
 *   which), `4500` internal error; `1012` (service restart, `GATEWAY_STOPPING`) when the gateway
 *   stops: reconnect, to another instance behind the same address, and resume with the last
 *   cursor.
 */
import { IncomingMessage, type Server } from 'node:http';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ApolloServer } from '@apollo/server';
import {
  getOperationAST,
  GraphQLError,
  parse,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import { LRUCache } from 'lru-cache';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Logger } from '../lib/logger';
import { SOCKET_HIGH_WATER_BYTES, writeCoalesced } from '../lib/socket-writes';
import {
  checkRateLimit,
  describeRate,
  fullBucket,
  spend,
  type Bucket,
  type RateLimit,
} from '../lib/rate-limit';
import { ERROR_CODES } from '../contracts/errors';
import type { Identity } from '../contracts/identity';
import { closeCodeOf, graphQLError } from './errors';
import { credentialExpiry, type Authenticate } from './identity';
import type { GatewayContext } from './subgraph-client';
import type { LiveSubscriptions } from './subscriptions/engine';
import type { DrainListener, ResultSink, SubscriberQueue } from './subscriptions/queue';
import type { PreparedResult } from './subscriptions/result';
import { at, expiresAt } from './token-expiry';

/** The subprotocol spoken. */
export const GRAPHQL_TRANSPORT_WS_PROTOCOL = 'graphql-transport-ws';

/**
 * Close codes of the gateway's GraphQL WebSocket: graphql-ws's protocol codes, and the registry's
 * `closeCode` of the errors that end a connection (contracts/errors.ts).
 */
export const WebSocketCloseCode = {
  // The graphql-transport-ws protocol's own.
  BadRequest: 4400,
  SubprotocolNotAcceptable: 4406,
  ConnectionInitialisationTimeout: 4408,
  SubscriberAlreadyExists: 4409,
  TooManyInitialisationRequests: 4429,
  InternalError: 4500,
  // The registry's.
  /** `UNAUTHENTICATED`: no, invalid or expired credentials. */
  Unauthorized: ERROR_CODES.UNAUTHENTICATED.closeCode,
  /** `FORBIDDEN`: the connection as a whole is not allowed. */
  Forbidden: ERROR_CODES.FORBIDDEN.closeCode,
  /** `RATE_LIMITED`: a connection over its `subscribe` rate limit. */
  TooManyRequests: ERROR_CODES.RATE_LIMITED.closeCode,
  /** `SERVICE_UNAVAILABLE`: the issuer's signing keys cannot be loaded right now. */
  TryAgainLater: ERROR_CODES.SERVICE_UNAVAILABLE.closeCode,
  /** `GATEWAY_STOPPING` (a restart or a deploy): reconnect, elsewhere, with the cursor. */
  ServiceRestart: ERROR_CODES.GATEWAY_STOPPING.closeCode,
} as const;

/** What {@link attachGraphQLWebSocket} serves with. */
export interface GraphQLWebSocketOptions {
  /** The gateway's HTTP server; its `upgrade` requests on `path` become GraphQL sockets. */
  server: Server;
  /** @default '/graphql' */
  path?: string;
  apollo: ApolloServer<GatewayContext>;
  /** The gateway's API schema once loaded (undefined before: operations are refused). */
  schema: () => GraphQLSchema | undefined;
  /** The gateway's {@link Authenticate}, fed the `connection_init` payload as headers. */
  authenticate: Authenticate;
  /**
   * Origins besides the gateway's own whose upgrades may authenticate with the session cookie
   * (the CORS origins; `*` does not count). @default none
   */
  allowedOrigins?: readonly string[];
  /** The context of one operation of `identity` (the signed internal token). */
  context: (identity: Identity) => Promise<GatewayContext>;
  production: boolean;
  logger: Logger;
  /** Ping interval; a client that has not answered the last ping is cut off. @default 12_000 */
  keepAliveMs?: number;
  /**
   * `subscribe` messages one connection may send: beyond, the socket is closed with 4429 and a
   * reason naming the limit. `false`: no limit. @default 20 a second, bursts of 100
   */
  subscribeRateLimit?: RateLimit | false;
  /** How long a connection may go without `connection_init`. @default 3_000 */
  connectionInitWaitMs?: number;
  /**
   * Live subscriptions; without them a `subscription` gets `SUBSCRIPTIONS_NOT_AVAILABLE` (the
   * gateway runs without Kafka).
   */
  live?: LiveSubscriptions;
}

/** The gateway's GraphQL WebSocket, attached to its HTTP server. */
export interface GraphQLWebSocket {
  /** Closes every socket (`1012`, service restart), stops accepting upgrades. */
  close(): Promise<void>;
}

/** A `subscribe` message's payload, checked. */
interface SubscribePayload {
  query: string;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
  extensions?: Record<string, unknown> | null;
}

/** A client message, checked: what the protocol allows a client to send. */
type ClientMessage =
  | { type: 'connection_init'; payload?: Record<string, unknown> | null }
  | { type: 'ping' | 'pong'; payload?: Record<string, unknown> | null }
  | { type: 'subscribe'; id: string; payload: SubscribePayload }
  | { type: 'complete'; id: string };

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const optional = (value: unknown, check: (v: unknown) => boolean) =>
  value === undefined || value === null || check(value);

/** The message in `data`, or what is wrong with it. */
export function parseClientMessage(data: string): ClientMessage | { invalid: string } {
  let message: unknown;
  try {
    message = JSON.parse(data);
  } catch {
    return { invalid: 'Invalid message received: not JSON' };
  }
  if (!isObject(message) || typeof message['type'] !== 'string') {
    return { invalid: 'Invalid message received: an object with a string type is expected' };
  }
  const { type, id, payload } = message;
  switch (type) {
    case 'connection_init':
    case 'ping':
    case 'pong':
      if (!optional(payload, isObject))
        return { invalid: `Invalid ${type}: payload must be an object` };
      return isObject(payload) ? { type, payload } : { type };
    case 'subscribe': {
      if (typeof id !== 'string' || id === '') {
        return { invalid: 'Invalid subscribe: id must be a non-empty string' };
      }
      if (!isObject(payload) || typeof payload['query'] !== 'string') {
        return { invalid: 'Invalid subscribe: payload.query must be a string' };
      }
      if (!optional(payload['operationName'], (v) => typeof v === 'string')) {
        return { invalid: 'Invalid subscribe: payload.operationName must be a string' };
      }
      for (const key of ['variables', 'extensions'] as const) {
        if (!optional(payload[key], isObject)) {
          return { invalid: `Invalid subscribe: payload.${key} must be an object` };
        }
      }
      return { type, id, payload: payload as unknown as SubscribePayload };
    }
    case 'complete':
      if (typeof id !== 'string' || id === '') {
        return { invalid: 'Invalid complete: id must be a non-empty string' };
      }
      return { type, id };
    default:
      return { invalid: `Invalid message received: a client does not send ${type}` };
  }
}

/** Connections with frames gathered in this tick, written together once the tick's results are. */
const gathering: Connection[] = [];
function writeGathered(): void {
  for (const connection of gathering.splice(0)) connection.writeOut();
}

/** `subscribe` messages per connection: 20 a second, bursts of 100. */
export const DEFAULT_SUBSCRIBE_RATE_LIMIT: RateLimit = { perSecond: 20, burst: 100 };

/** What closes a graphql-transport-ws message after its payload (part of the shared bytes). */
const MESSAGE_END = '}';

/** One operation of a connection: a live subscription's queue once it runs. */
interface Operation {
  queue?: SubscriberQueue;
}

/** The connection of each socket, for listeners that every socket shares (`this` is the socket). */
const connections = new WeakMap<WebSocket | Duplex, Connection>();
function onSocketDrain(this: Duplex): void {
  connections.get(this)?.drained();
}
function onPong(this: WebSocket): void {
  const connection = connections.get(this);
  if (connection) connection.alive = true;
}

/**
 * One WebSocket: its protocol state, its operations, and the writer of its live results.
 *
 * Live results are written as WebSocket frames of our own: a frame header and the message's start
 * (`{"id":...,"type":"next","payload":`, a few dozen bytes, built once per subscription and
 * length) per subscriber, then the result's bytes shared by every subscriber of the event
 * (result.ts). The frames one tick makes for one socket are gathered and leave in one write, one
 * system call, once the tick's results are all made: usually a single copy into one small buffer.
 * A socket whose buffer is full makes the queues wait for its `drain`. The frames go to the socket
 * beside `ws`'s own sender, which writes each of its frames synchronously (no permessage-deflate
 * here), so frames never interleave; protocol messages first write out what was gathered, so a
 * `complete` never overtakes the results before it.
 */
class Connection {
  /** Whether the socket answered the last keep-alive ping. */
  alive = true;
  identity: Identity | undefined;
  /** 0: waiting for connection_init, 1: authenticating, 2: acknowledged. */
  state: 0 | 1 | 2 = 0;
  operations: Map<string, Operation> | undefined;
  cancelExpiry: (() => void) | undefined;
  initTimer: NodeJS.Timeout | undefined;
  /** Frames gathered in this tick, and their bytes. */
  private out: Buffer[] | undefined;
  /** The connection's `subscribe` allowance (see `subscribeRateLimit`). */
  subscribes: Bucket | undefined;
  private outBytes = 0;
  private drainListeners: DrainListener[] | undefined;

  constructor(
    readonly ws: WebSocket,
    private readonly raw: Duplex,
    /** The upgrade's `Cookie` header, kept only when its origin may use it (see the module). */
    readonly cookie: string | undefined,
  ) {
    connections.set(ws, this);
    connections.set(raw, this);
  }

  /** Sends a protocol message (not a live result), after the results gathered before it. */
  send(message: string): void {
    this.writeOut();
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(message);
  }

  close(code: number, reason: string): void {
    this.writeOut();
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) {
      this.ws.close(code, closeReason(reason));
    }
  }

  /** Ends every operation: the socket is gone. */
  closed(): void {
    clearTimeout(this.initTimer);
    this.cancelExpiry?.();
    const operations = this.operations;
    this.operations = undefined;
    for (const operation of operations?.values() ?? []) void operation.queue?.return();
  }

  // The writer of live results.

  writable(): boolean {
    return (
      this.ws.readyState === this.ws.OPEN &&
      this.raw.writableLength + this.outBytes < SOCKET_HIGH_WATER_BYTES
    );
  }

  /**
   * Gathers one text frame, `start` (its header and the subscription's message start, see
   * {@link frameStart}) then `shared`, to be written with the tick's others.
   */
  sendFrame(start: Buffer, shared: Buffer): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (this.out === undefined) {
      this.out = [start, shared];
      this.outBytes = start.length + shared.length;
      if (gathering.push(this) === 1) process.nextTick(writeGathered);
    } else {
      this.out.push(start, shared);
      this.outBytes += start.length + shared.length;
    }
  }

  /** Writes what was gathered: one buffer, or a corked vector when it is large. */
  writeOut(): void {
    const out = this.out;
    if (out === undefined) return;
    const bytes = this.outBytes;
    this.out = undefined;
    this.outBytes = 0;
    if (this.ws.readyState !== this.ws.OPEN) return;
    writeCoalesced(this.raw, out, bytes);
  }

  onDrain(listener: DrainListener): void {
    (this.drainListeners ??= []).push(listener);
    if (this.drainListeners.length === 1) this.raw.once('drain', onSocketDrain);
  }

  /** The socket has room again: the queues that waited write on. */
  drained(): void {
    const listeners = this.drainListeners ?? [];
    this.drainListeners = undefined;
    for (const listener of listeners) listener.drained();
  }
}

/**
 * The start of a text frame of `length` payload bytes that begin with `head`: the frame's header
 * (FIN, text, the length; unmasked, as from a server) followed by `head`.
 */
export function frameStart(head: Buffer, length: number): Buffer {
  const headerBytes = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const start = Buffer.allocUnsafe(headerBytes + head.length);
  start[0] = 0x81; // FIN, text
  if (length < 126) {
    start[1] = length;
  } else if (length < 65_536) {
    start[1] = 126;
    start.writeUInt16BE(length, 2);
  } else {
    start[1] = 127;
    start.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    start.writeUInt32BE(length >>> 0, 6);
  }
  head.copy(start, headerBytes);
  return start;
}

/** One subscription's results as `next` messages on its connection's socket. */
class SubscriptionSink implements ResultSink {
  constructor(
    private readonly connection: Connection,
    /** `{"id":"<id>","type":"next","payload":` */
    private readonly head: Buffer,
  ) {}

  /** The frame header and `head` for the last message length: most results repeat it. */
  private start: Buffer | undefined;
  private startLength = -1;

  send(result: PreparedResult, cursor: string, dropped: number): void {
    const shared = result.encoded(cursor, dropped, MESSAGE_END);
    const length = this.head.length + shared.length;
    if (length !== this.startLength) {
      this.start = frameStart(this.head, length);
      this.startLength = length;
    }
    this.connection.sendFrame(this.start as Buffer, shared);
  }

  writable(): boolean {
    return this.connection.writable();
  }

  onDrain(listener: DrainListener): void {
    this.connection.onDrain(listener);
  }
}

/** An error Apollo already formatted, sent to the client exactly as Apollo formatted it. */
export class FormattedError extends GraphQLError {
  constructor(private readonly formatted: GraphQLFormattedError) {
    super(formatted.message);
  }
  override toJSON(): GraphQLFormattedError {
    return this.formatted;
  }
}

/** A close reason fits in 123 bytes of UTF-8. */
function closeReason(reason: string): string {
  if (Buffer.byteLength(reason) <= 123) return reason;
  let cut = reason.slice(0, 120);
  while (Buffer.byteLength(`${cut}...`) > 123) cut = cut.slice(0, -1);
  return `${cut}...`;
}

/** The `connection_init` payload as the request headers the gateway's `Authenticate` reads. */
function credentialHeaders(payload: Readonly<Record<string, unknown>> | undefined) {
  const headers: Record<string, string> = {};
  const authorization = payload?.['authorization'] ?? payload?.['Authorization'];
  const token = payload?.['token'];
  if (typeof authorization === 'string') headers['authorization'] = authorization;
  else if (typeof token === 'string') headers['authorization'] = `Bearer ${token}`;
  const identity = payload?.['x-identity'];
  if (typeof identity === 'string') headers['x-identity'] = identity;
  else if (identity !== undefined && identity !== null)
    headers['x-identity'] = JSON.stringify(identity);
  return headers;
}

/**
 * The upgrade's `Cookie` header when its `Origin` may use it: the gateway's own host (the
 * `Host` the browser connected to) or one of `allowedOrigins` exactly. Browsers always send
 * `Origin` on WebSocket upgrades; a request without one is no browser's, and gets no cookie.
 */
export function cookieOfAllowedOrigin(
  req: Pick<IncomingMessage, 'headers'>,
  allowedOrigins: readonly string[],
): string | undefined {
  const { cookie, origin, host } = req.headers;
  if (!cookie || !origin) return undefined;
  if (allowedOrigins.includes(origin)) return cookie;
  try {
    return new URL(origin).host === host ? cookie : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Serves `graphql-transport-ws` on the `upgrade` requests of `options.server` to `path`: see the
 * module's comment for authentication, operations and close codes.
 */
export function attachGraphQLWebSocket(options: GraphQLWebSocketOptions): GraphQLWebSocket {
  const path = options.path ?? '/graphql';
  const { logger } = options;
  const subscribeLimit =
    options.subscribeRateLimit === false
      ? undefined
      : (options.subscribeRateLimit ?? DEFAULT_SUBSCRIBE_RATE_LIMIT);
  if (subscribeLimit) checkRateLimit(subscribeLimit, 'The subscribe rate limit');
  const wss = new WebSocketServer({
    noServer: true,
    // Frames of our own are written beside ws's (see Connection): no compression.
    perMessageDeflate: false,
    handleProtocols: (protocols) =>
      protocols.has(GRAPHQL_TRANSPORT_WS_PROTOCOL) ? GRAPHQL_TRANSPORT_WS_PROTOCOL : false,
  });
  // Thousands of sockets often send the same operation: one parsed document serves them all.
  const documents = new LRUCache<string, DocumentNode>({ max: 1000 });
  const parseCached = (query: string): DocumentNode => {
    let document = documents.get(query);
    if (!document) {
      document = parse(query);
      documents.set(query, document);
    }
    return document;
  };

  const authenticate = async (
    payload: Readonly<Record<string, unknown>> | undefined,
    cookie: string | undefined,
  ): Promise<{ identity: Identity; expiresAt?: number } | { refused: number; reason: string }> => {
    const headers = credentialHeaders(payload);
    if (Object.keys(headers).length === 0) {
      if (cookie === undefined) {
        return {
          refused: WebSocketCloseCode.Unauthorized,
          reason:
            "No credentials: connection_init must carry { authorization: 'Bearer <token>' }, or sign in (same-origin session cookie)",
        };
      }
      headers['cookie'] = cookie;
    }
    const req = new IncomingMessage(new Socket());
    req.headers = headers;
    let identity: Identity | null;
    try {
      identity = await options.authenticate(req);
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error;
      // UNAUTHENTICATED closes with 4401, SERVICE_UNAVAILABLE (no signing keys) with 1013.
      const closeCode = closeCodeOf(error);
      if (closeCode === undefined) throw error;
      return { refused: closeCode, reason: error.message };
    }
    if (!identity) {
      return {
        refused: WebSocketCloseCode.Unauthorized,
        reason: options.production
          ? 'No valid credentials: x-identity is not accepted in production'
          : 'No valid credentials',
      };
    }
    const expiry = expiresAt(headers['authorization']) ?? credentialExpiry(req);
    return expiry === undefined ? { identity } : { identity, expiresAt: expiry };
  };

  const internalError = (connection: Connection, error: unknown) => {
    logger.error('websocket operation failed', { error });
    const message = error instanceof Error ? error.message : String(error);
    connection.close(
      WebSocketCloseCode.InternalError,
      options.production ? 'Internal server error' : message,
    );
  };

  async function onConnectionInit(
    connection: Connection,
    payload: Record<string, unknown> | undefined,
  ): Promise<void> {
    connection.state = 1;
    clearTimeout(connection.initTimer);
    const result = await authenticate(payload, connection.cookie);
    if (connection.ws.readyState !== connection.ws.OPEN) return;
    if ('refused' in result) {
      logger.debug('websocket connection refused', {
        code: result.refused,
        reason: result.reason,
      });
      connection.close(result.refused, result.reason);
      return;
    }
    connection.identity = result.identity;
    if (result.expiresAt !== undefined) {
      connection.cancelExpiry = at(result.expiresAt, () =>
        connection.close(WebSocketCloseCode.Unauthorized, 'access token expired'),
      );
    }
    connection.state = 2;
    connection.send('{"type":"connection_ack"}');
  }

  const errorMessage = (id: string, errors: readonly GraphQLError[]) =>
    JSON.stringify({ id, type: 'error', payload: errors });
  const completeMessage = (id: string) => `{"id":${JSON.stringify(id)},"type":"complete"}`;

  /** Runs one operation; `operation` stays in the connection's map while it is wanted. */
  async function run(
    connection: Connection,
    identity: Identity,
    id: string,
    payload: SubscribePayload,
    operation: Operation,
  ): Promise<void> {
    const wanted = () => connection.operations?.get(id) === operation;
    const refuse = (errors: readonly GraphQLError[]) => {
      if (!wanted()) return;
      connection.operations?.delete(id);
      connection.send(errorMessage(id, errors));
    };
    let document: DocumentNode;
    try {
      document = parseCached(payload.query);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return refuse([graphQLError('GRAPHQL_PARSE_FAILED', message)]);
    }
    const schema = options.schema();
    if (!schema) {
      return refuse([
        graphQLError('SERVICE_UNAVAILABLE', 'The gateway has not loaded its schema yet'),
      ]);
    }
    const ast = getOperationAST(document, payload.operationName ?? undefined);
    if (ast?.operation === 'subscription') {
      if (!options.live) {
        return refuse([
          graphQLError(
            'SUBSCRIPTIONS_NOT_AVAILABLE',
            'Live subscriptions need Kafka: this gateway runs without KAFKA_BROKERS',
          ),
        ]);
      }
      const head = Buffer.from(`{"id":${JSON.stringify(id)},"type":"next","payload":`);
      const results = await options.live.subscribe(
        payload,
        identity,
        new SubscriptionSink(connection, head),
      );
      if (!('next' in results)) return refuse(results);
      if (!wanted()) {
        // The client completed it, or went away, while it was being set up.
        void results.return();
        return;
      }
      operation.queue = results;
      // Resolves when the subscription ends: the client completed it (the operation is gone
      // from the map, nothing to send) or the server ended it (`complete`).
      await results.next();
      if (wanted()) {
        connection.operations?.delete(id);
        connection.send(completeMessage(id));
      }
      return;
    }
    // Queries and mutations: Apollo Server validates, plans, executes and formats.
    const response = await options.apollo.executeOperation(
      {
        query: payload.query,
        ...(payload.variables ? { variables: payload.variables } : {}),
        ...(payload.operationName ? { operationName: payload.operationName } : {}),
        ...(payload.extensions ? { extensions: payload.extensions } : {}),
      },
      { contextValue: await options.context(identity) },
    );
    if (!wanted()) return;
    if (response.body.kind !== 'single') {
      return refuse([
        graphQLError('BAD_REQUEST', 'Incremental delivery (@defer) is not served over WebSocket'),
      ]);
    }
    const { data, errors, extensions } = response.body.singleResult;
    const result: ExecutionResult = {
      ...(data !== undefined ? { data } : {}),
      ...(errors ? { errors: errors.map((e) => new FormattedError(e)) } : {}),
      ...(extensions ? { extensions } : {}),
    };
    connection.operations?.delete(id);
    connection.send(JSON.stringify({ id, type: 'next', payload: result }));
    connection.send(completeMessage(id));
  }

  function onMessage(connection: Connection, data: RawData): void {
    const message = parseClientMessage(String(data));
    if ('invalid' in message) {
      connection.close(WebSocketCloseCode.BadRequest, message.invalid);
      return;
    }
    switch (message.type) {
      case 'connection_init':
        if (connection.state !== 0) {
          connection.close(
            WebSocketCloseCode.TooManyInitialisationRequests,
            'Too many initialisation requests',
          );
          return;
        }
        onConnectionInit(connection, message.payload ?? undefined).catch((error: unknown) =>
          internalError(connection, error),
        );
        return;
      case 'ping':
        connection.send(
          message.payload
            ? JSON.stringify({ type: 'pong', payload: message.payload })
            : '{"type":"pong"}',
        );
        return;
      case 'pong':
        return;
      case 'subscribe': {
        const { identity } = connection;
        if (connection.state !== 2 || !identity) {
          connection.close(WebSocketCloseCode.Unauthorized, 'Unauthorized');
          return;
        }
        if (subscribeLimit) {
          const now = Date.now();
          connection.subscribes ??= fullBucket(subscribeLimit, now);
          if (!spend(connection.subscribes, subscribeLimit, now).ok) {
            connection.close(
              WebSocketCloseCode.TooManyRequests,
              `Too many subscribe requests: at most ${describeRate(subscribeLimit)}`,
            );
            return;
          }
        }
        const operations = (connection.operations ??= new Map());
        if (operations.has(message.id)) {
          connection.close(
            WebSocketCloseCode.SubscriberAlreadyExists,
            `Subscriber for ${message.id} already exists`,
          );
          return;
        }
        const operation: Operation = {};
        operations.set(message.id, operation);
        run(connection, identity, message.id, message.payload, operation).catch((error: unknown) =>
          internalError(connection, error),
        );
        return;
      }
      case 'complete': {
        const operation = connection.operations?.get(message.id);
        connection.operations?.delete(message.id);
        void operation?.queue?.return();
        return;
      }
    }
  }

  const initWaitMs = options.connectionInitWaitMs ?? 3_000;
  wss.on('connection', (ws: WebSocket, raw: Duplex, cookie: string | undefined) => {
    const connection = new Connection(ws, raw, cookie);
    if (ws.protocol !== GRAPHQL_TRANSPORT_WS_PROTOCOL) {
      connection.close(WebSocketCloseCode.SubprotocolNotAcceptable, 'Subprotocol not acceptable');
      return;
    }
    connection.initTimer = setTimeout(() => {
      if (connection.state === 0) {
        connection.close(
          WebSocketCloseCode.ConnectionInitialisationTimeout,
          'Connection initialisation timeout',
        );
      }
    }, initWaitMs);
    ws.on('message', onSocketMessage);
    ws.on('pong', onPong);
    ws.once('close', onSocketClose);
    ws.on('error', onSocketError);
  });
  function onSocketMessage(this: WebSocket, data: RawData): void {
    const connection = connections.get(this);
    if (connection) onMessage(connection, data);
  }
  function onSocketClose(this: WebSocket): void {
    connections.get(this)?.closed();
  }
  function onSocketError(this: WebSocket, error: Error): void {
    logger.debug('websocket error', { error });
  }

  // Every `keepAliveMs` each socket is pinged; one that has not answered the previous ping is
  // cut off. One timer for every socket.
  const keepAlive = setInterval(() => {
    for (const ws of wss.clients) {
      const connection = connections.get(ws);
      if (!connection) continue;
      if (!connection.alive) {
        ws.terminate();
        continue;
      }
      connection.alive = false;
      ws.ping();
    }
  }, options.keepAliveMs ?? 12_000);
  keepAlive.unref();

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const pathname = queryAt === -1 ? url : url.slice(0, queryAt);
    if (pathname !== path) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    // The request is not kept: nothing reads it after the upgrade, but its cookie may.
    const cookie = cookieOfAllowedOrigin(req, options.allowedOrigins ?? []);
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, socket, cookie));
  };
  options.server.on('upgrade', onUpgrade);

  return {
    async close() {
      clearInterval(keepAlive);
      options.server.off('upgrade', onUpgrade);
      // 1012 Service Restart: clients reconnect (to another instance) and resume by cursor. Each
      // connection first writes out the results it had gathered.
      for (const client of wss.clients) {
        const connection = connections.get(client);
        if (connection) connection.close(WebSocketCloseCode.ServiceRestart, 'Service restart');
        else client.close(WebSocketCloseCode.ServiceRestart, 'Service restart');
      }
      // A client that does not answer the close handshake is cut off.
      const terminate = setTimeout(() => {
        for (const client of wss.clients) client.terminate();
      }, 1_000);
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      clearTimeout(terminate);
    },
  };
}
