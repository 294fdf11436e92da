/**
 * GraphQL over WebSocket at the gateway: the `graphql-transport-ws` protocol (graphql-ws 6 on a
 * `ws` server), on the gateway's own port and GraphQL path (`ws://<gateway>/graphql`).
 *
 * **Authentication** happens once, in `connection_init`, with the same {@link Authenticate} as
 * GraphQL over HTTP. The payload carries what HTTP carries in headers:
 * `{ authorization: 'Bearer <access token>' }` (or `{ token: '<access token>' }`), and, outside
 * production only, the development `{ 'x-identity': '{"userId":...}' }`. Cookies on the upgrade
 * request are ignored on purpose: a browser sends them cross-site too, so they would let any page
 * open an authenticated socket. A connection whose token expires is closed at the token's `exp`.
 *
 * **Operations**: queries and mutations run through the same Apollo Server (validation rules,
 * error formatting, query planning) with the same context as HTTP: a freshly signed
 * `x-internal-token` for the caller on every operation, so the subgraphs see who is calling.
 * Subscriptions are live, fed by Kafka (gateway/subscriptions); a gateway without Kafka answers
 * them with the error `SUBSCRIPTIONS_NOT_AVAILABLE` and the socket stays open.
 *
 * **Close codes**:
 * - `4401` Unauthorized: no credentials, invalid credentials, or the access token expired during
 *   the connection; the reason says which (`access token expired`, `Access token signature is
 *   invalid`, ...). Sign in or refresh, then reconnect.
 * - `4403` Forbidden: reserved for authorization failures of the connection as a whole (a
 *   subscription the caller may not see is refused per operation, with `FORBIDDEN`).
 * - `1013` Try again later: the issuer's signing keys cannot be loaded right now.
 * - graphql-ws's own: `4400` bad message, `4408` no `connection_init` within 3 s, `4409`
 *   duplicate operation id, `4429` second `connection_init`, `4406` wrong subprotocol, `4500`
 *   internal error; `1001` when the gateway stops.
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
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import type { SubscribePayload } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { decodeJwt } from 'jose';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../lib/logger';
import type { Identity } from '../subgraphs/shared/identity';
import type { Authenticate } from './identity';
import type { GatewayContext } from './subgraph-client';
import type { LiveSubscriptions } from './subscriptions/engine';
import type { DrainListener, ResultSink } from './subscriptions/queue';
import type { PreparedResult } from './subscriptions/result';

/** Close codes of the gateway's GraphQL WebSocket, beyond graphql-ws's own. */
export const WebSocketCloseCode = {
  Unauthorized: 4401,
  Forbidden: 4403,
  TryAgainLater: 1013,
} as const;

export const SUBSCRIPTIONS_NOT_AVAILABLE = 'SUBSCRIPTIONS_NOT_AVAILABLE';

export interface GraphQLWebSocketOptions {
  /** The gateway's HTTP server; its `upgrade` requests on `path` become GraphQL sockets. */
  server: Server;
  /** @default '/graphql' */
  path?: string;
  apollo: ApolloServer<GatewayContext>;
  /** The gateway's API schema once loaded (graphql-ws hands it on; Apollo executes). */
  schema: () => GraphQLSchema | undefined;
  /** The gateway's {@link Authenticate}, fed the `connection_init` payload as headers. */
  authenticate: Authenticate;
  /** The context of one operation of `identity` (the signed internal token). */
  context: (identity: Identity) => Promise<GatewayContext>;
  production: boolean;
  logger: Logger;
  /** Ping interval; a client that misses a pong is dropped. @default 12_000 */
  keepAliveMs?: number;
  /**
   * Live subscriptions; without them a `subscription` gets `SUBSCRIPTIONS_NOT_AVAILABLE` (the
   * gateway runs without Kafka).
   */
  live?: LiveSubscriptions;
}

export interface GraphQLWebSocket {
  /** Closes every socket (`1001`), stops accepting upgrades. */
  close(): Promise<void>;
}

type ConnectionState = {
  identity?: Identity;
  cancelExpiry?: () => void;
};

/** What one operation runs with: the caller's context and the request as the client sent it. */
class WebSocketOperation {
  constructor(
    readonly payload: SubscribePayload,
    readonly context: GatewayContext,
  ) {}
}

/**
 * A live subscription, handed from `onSubscribe` to `subscribe`. Its results do not go through
 * graphql-ws (which would stringify each and wait for each send): the engine writes them to the
 * socket itself (`SocketWriter`), and graphql-ws only sees an iterator that ends with the
 * subscription, then sends `complete` as usual.
 */
class LiveOperation {
  constructor(readonly results: AsyncIterableIterator<never>) {}
}

/**
 * A socket's outgoing bytes beyond which live results wait in their subscriber's bounded queue
 * (gateway/subscriptions/queue.ts) instead of the socket's buffer. Above Node's own high-water
 * mark (16 KiB), so the socket is sure to emit `drain` once it has room again.
 */
const SOCKET_HIGH_WATER_BYTES = 256 * 1024;

/** Writers that wrote in this tick, uncorked together once the tick's results are written. */
const corkedWriters: SocketWriter[] = [];
function uncorkAll(): void {
  for (const writer of corkedWriters.splice(0)) writer.uncork();
}

/** What closes a graphql-transport-ws message after its payload (part of the shared bytes). */
const MESSAGE_END = '}';

/**
 * Writes the `next` messages of a connection's live subscriptions as WebSocket frames of its
 * own: a frame header and the message's start (`{"id":...,"type":"next","payload":`, a few dozen
 * bytes) per subscriber, then the result's bytes shared by every subscriber of the event
 * (result.ts), then `}`. Every message written in one tick to one socket leaves in one system
 * call (the socket is corked until the tick ends). A socket whose buffer is full makes the
 * queues wait for its `drain`.
 *
 * The frames go to the socket beside `ws`'s own sender, which writes each of its frames
 * synchronously (no permessage-deflate here), so frames never interleave.
 */
class SocketWriter {
  /** Whether the socket answered the last keep-alive ping. */
  alive = true;
  private corked = false;
  private drainListeners: DrainListener[] = [];

  constructor(
    readonly ws: WebSocket,
    private readonly raw: Duplex,
  ) {
    socketWriters.set(raw, this);
    raw.on('drain', onSocketDrain);
  }

  /** The socket has room again: the queues that waited write on. */
  drained(): void {
    const listeners = this.drainListeners;
    this.drainListeners = [];
    for (const listener of listeners) listener.drained();
  }

  writable(): boolean {
    return this.ws.readyState === this.ws.OPEN && this.raw.writableLength < SOCKET_HIGH_WATER_BYTES;
  }

  /** Writes one text frame: `head` (this subscription's message start), then `shared`. */
  sendFrame(head: Buffer, shared: Buffer): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    const length = head.length + shared.length;
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
    if (!this.corked) {
      this.corked = true;
      this.raw.cork();
      if (corkedWriters.push(this) === 1) process.nextTick(uncorkAll);
    }
    this.raw.write(start);
    this.raw.write(shared);
  }

  uncork(): void {
    this.corked = false;
    this.raw.uncork();
  }

  onDrain(listener: DrainListener): void {
    this.drainListeners.push(listener);
  }

  /** The sink of subscription `id`: its results framed as graphql-transport-ws `next` messages. */
  sink(id: string): ResultSink {
    return new SubscriptionSink(
      this,
      Buffer.from(`{"id":${JSON.stringify(id)},"type":"next","payload":`),
    );
  }
}

/** The writer of each raw socket, for the one `drain` listener all sockets share. */
const socketWriters = new WeakMap<Duplex, SocketWriter>();
function onSocketDrain(this: Duplex): void {
  socketWriters.get(this)?.drained();
}

/** One subscription's results as `next` messages on its connection's socket. */
class SubscriptionSink implements ResultSink {
  constructor(
    private readonly writer: SocketWriter,
    /** `{"id":"<id>","type":"next","payload":` */
    private readonly head: Buffer,
  ) {}

  send(result: PreparedResult, cursor: string, dropped: number): void {
    this.writer.sendFrame(this.head, result.encoded(cursor, dropped, MESSAGE_END));
  }

  writable(): boolean {
    return this.writer.writable();
  }

  onDrain(listener: DrainListener): void {
    this.writer.onDrain(listener);
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

/** The `exp` (ms) of a bearer token that was just verified; undefined if it has none. */
function expiresAt(authorization: string | undefined): number | undefined {
  const token = /^Bearer +(\S+)$/i.exec(authorization?.trim() ?? '')?.[1];
  if (!token) return undefined;
  try {
    const { exp } = decodeJwt(token);
    return exp === undefined ? undefined : exp * 1000;
  } catch {
    return undefined;
  }
}

/** Runs `run` at `time` (ms); returns the cancel. setTimeout caps at ~24.8 days, so it re-arms. */
function at(time: number, run: () => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    const wait = time - Date.now();
    if (wait <= 0) {
      timer = undefined;
      run();
      return;
    }
    timer = setTimeout(arm, Math.min(wait, 2_147_483_647));
    timer.unref();
  };
  arm();
  return () => clearTimeout(timer);
}

export function attachGraphQLWebSocket(options: GraphQLWebSocketOptions): GraphQLWebSocket {
  const path = options.path ?? '/graphql';
  const { logger } = options;
  const wss = new WebSocketServer({ noServer: true });
  const writers = new WeakMap<WebSocket, SocketWriter>();
  // One listener for every socket (`this` is the socket), not a closure each.
  function markAlive(this: WebSocket): void {
    const writer = writers.get(this);
    if (writer) writer.alive = true;
  }
  // Thousands of sockets often send the same operation: one parsed document serves them all.
  const documents = new Map<string, DocumentNode>();
  const parseCached = (query: string): DocumentNode => {
    let document = documents.get(query);
    if (!document) {
      document = parse(query);
      if (documents.size >= 1000) documents.delete(documents.keys().next().value as string);
      documents.set(query, document);
    }
    return document;
  };

  const authenticate = async (
    payload: Readonly<Record<string, unknown>> | undefined,
  ): Promise<{ identity: Identity; expiresAt?: number } | { refused: number; reason: string }> => {
    const headers = credentialHeaders(payload);
    if (Object.keys(headers).length === 0) {
      return {
        refused: WebSocketCloseCode.Unauthorized,
        reason: "No credentials: connection_init must carry { authorization: 'Bearer <token>' }",
      };
    }
    const req = new IncomingMessage(new Socket());
    req.headers = headers;
    let identity: Identity | null;
    try {
      identity = await options.authenticate(req);
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error;
      const http = error.extensions['http'];
      const status =
        typeof http === 'object' && http !== null && 'status' in http ? http.status : undefined;
      if (status === 503)
        return { refused: WebSocketCloseCode.TryAgainLater, reason: error.message };
      if (status === 401 || error.extensions['code'] === 'UNAUTHENTICATED')
        return { refused: WebSocketCloseCode.Unauthorized, reason: error.message };
      throw error;
    }
    if (!identity) {
      return {
        refused: WebSocketCloseCode.Unauthorized,
        reason: options.production
          ? 'No valid credentials: x-identity is not accepted in production'
          : 'No valid credentials',
      };
    }
    const expiry = expiresAt(headers['authorization']);
    return expiry === undefined ? { identity } : { identity, expiresAt: expiry };
  };

  useServer<Record<string, unknown>, ConnectionState>(
    {
      isProd: options.production,
      onConnect: async (ctx) => {
        const { socket } = ctx.extra;
        const result = await authenticate(ctx.connectionParams);
        if (socket.readyState !== socket.OPEN) return false;
        if ('refused' in result) {
          logger.debug('websocket connection refused', {
            code: result.refused,
            reason: result.reason,
          });
          // Our code and reason go first; graphql-ws's own 4403 close then does nothing.
          socket.close(result.refused, closeReason(result.reason));
          return false;
        }
        ctx.extra.identity = result.identity;
        // The credentials (an access token is a kilobyte or two) are not needed once verified;
        // graphql-ws would keep them for the connection's life.
        delete (ctx as { connectionParams?: unknown }).connectionParams;
        if (result.expiresAt !== undefined) {
          ctx.extra.cancelExpiry = at(result.expiresAt, () =>
            socket.close(WebSocketCloseCode.Unauthorized, 'access token expired'),
          );
        }
        return true;
      },
      onClose: (ctx) => {
        ctx.extra.cancelExpiry?.();
      },
      onSubscribe: async (ctx, id, payload) => {
        const { identity } = ctx.extra;
        if (!identity) {
          return [
            new GraphQLError('Not authenticated', { extensions: { code: 'UNAUTHENTICATED' } }),
          ];
        }
        let document: DocumentNode;
        try {
          document = parseCached(payload.query);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          return [new GraphQLError(message, { extensions: { code: 'GRAPHQL_PARSE_FAILED' } })];
        }
        const operation = getOperationAST(document, payload.operationName ?? undefined);
        const schema = options.schema();
        if (!schema) {
          return [
            new GraphQLError('The gateway has not loaded its schema yet', {
              extensions: { code: 'SERVICE_UNAVAILABLE' },
            }),
          ];
        }
        if (operation?.operation === 'subscription') {
          if (!options.live) {
            return [
              new GraphQLError(
                'Live subscriptions need Kafka: this gateway runs without KAFKA_BROKERS',
                { extensions: { code: SUBSCRIPTIONS_NOT_AVAILABLE } },
              ),
            ];
          }
          const writer = writers.get(ctx.extra.socket);
          if (!writer) throw new Error('A WebSocket without its writer');
          const results = await options.live.subscribe(payload, identity, writer.sink(id));
          if (!('next' in results)) return [...results];
          return {
            schema,
            document,
            operationName: payload.operationName,
            variableValues: payload.variables,
            contextValue: new LiveOperation(results),
          } satisfies ExecutionArgs;
        }
        const args: ExecutionArgs = {
          schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: new WebSocketOperation(payload, await options.context(identity)),
        };
        return args;
      },
      subscribe: (args) => {
        if (!(args.contextValue instanceof LiveOperation)) {
          throw new Error('Subscription without its live results');
        }
        return args.contextValue.results;
      },
      execute: async (args): Promise<ExecutionResult> => {
        const operation = args.contextValue;
        if (!(operation instanceof WebSocketOperation)) {
          throw new Error('WebSocket operation without its context');
        }
        const { query, variables, operationName, extensions } = operation.payload;
        const response = await options.apollo.executeOperation(
          {
            query,
            ...(variables ? { variables } : {}),
            ...(operationName ? { operationName } : {}),
            ...(extensions ? { extensions } : {}),
          },
          { contextValue: operation.context },
        );
        if (response.body.kind !== 'single') {
          return {
            errors: [
              new GraphQLError('Incremental delivery (@defer) is not served over WebSocket', {
                extensions: { code: 'BAD_REQUEST' },
              }),
            ],
          };
        }
        const { data, errors, extensions: resultExtensions } = response.body.singleResult;
        return {
          ...(data !== undefined ? { data } : {}),
          ...(errors ? { errors: errors.map((e) => new FormattedError(e)) } : {}),
          ...(resultExtensions ? { extensions: resultExtensions } : {}),
        };
      },
    },
    wss,
    // Keep-alive runs below, one timer for every socket rather than one per socket.
    0,
  );

  // Every `keepAliveMs` each socket is pinged; one that has not answered the previous ping is
  // cut off (as graphql-ws's own keep-alive does, without its two timers per socket).
  const keepAliveMs = options.keepAliveMs ?? 12_000;
  const keepAlive = setInterval(() => {
    for (const ws of wss.clients) {
      const writer = writers.get(ws);
      if (!writer) continue;
      if (!writer.alive) {
        ws.terminate();
        continue;
      }
      writer.alive = false;
      ws.ping();
    }
  }, keepAliveMs);
  keepAlive.unref();

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const pathname = queryAt === -1 ? url : url.slice(0, queryAt);
    if (pathname !== path) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      writers.set(ws, new SocketWriter(ws, socket));
      ws.on('pong', markAlive);
      // graphql-ws keeps the request as long as the connection lives; nothing here reads it after
      // the upgrade, so it keeps the path only, not the headers and their strings.
      wss.emit('connection', ws, { url: req.url, headers: {} } as IncomingMessage);
    });
  };
  options.server.on('upgrade', onUpgrade);

  return {
    async close() {
      clearInterval(keepAlive);
      options.server.off('upgrade', onUpgrade);
      for (const client of wss.clients) client.close(1001, 'Going away');
      // A client that does not answer the close handshake is cut off.
      const terminate = setTimeout(() => {
        for (const client of wss.clients) client.terminate();
      }, 1_000);
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      clearTimeout(terminate);
    },
  };
}
