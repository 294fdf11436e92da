/**
 * A GraphQL-over-HTTP server on plain `node:http`, for the gateway and the subgraphs alike.
 *
 * Apollo Server 5 ships no HTTP framework integration in its core; this adapter is the small
 * part a framework would add (body reading with a size limit, the `HeaderMap` conversion) plus
 * the endpoints every process of the platform serves: `/health` (liveness) and `/ready`
 * (readiness). No framework means one less layer on the hot path of every federated fetch.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { HeaderMap, type ApolloServer, type BaseContext } from '@apollo/server';
import { extractTraceContext, inSpan, SpanKind } from './tracing';

/** How long `stop` waits for requests in flight before it cuts their connections. */
const DRAIN_TIMEOUT_MS = 10_000;

/** A handler for one exact path; it answers `res` itself. A rejection becomes a 500. */
export type Route = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** What `/ready` answers: 200 when `ready`, else 503, with `checks` in the body. */
export interface ReadinessReport {
  ready: boolean;
  /** Per-dependency state, shown on `/ready`, e.g. `{ database: 'ok', kafka: 'connecting' }`. */
  checks?: Record<string, string>;
}

/** What {@link createGraphQLHttpServer} serves, and where. */
export interface GraphQLHttpServerOptions<TContext extends BaseContext> {
  apollo: ApolloServer<TContext>;
  /** Builds the per-request context (an EntityManager fork, the caller's identity, ...). */
  context: (req: IncomingMessage) => Promise<TContext>;
  /** @default '/graphql' */
  path?: string;
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @default 0 */
  port?: number;
  /** Largest request body accepted; larger ones get 413. @default 1_048_576 */
  maxBodyBytes?: number;
  /** Answers `/ready`. @default always ready */
  readiness?: () => ReadinessReport | Promise<ReadinessReport>;
  /** Extra routes by exact path (e.g. `/auth/login`), tried before GraphQL. */
  routes?: Record<string, Route>;
  /**
   * Answers requests to the GraphQL path before Apollo does when it resolves `true` (the
   * gateway's subscriptions over HTTP); `false` hands the request on to Apollo untouched.
   */
  beforeGraphQL?: (req: IncomingMessage, res: ServerResponse, search: string) => Promise<boolean>;
  /** Answers paths no route matches (the gateway's web app). @default a 404 in JSON */
  fallback?: Route;
  /** Called once the server listens, with its `Server` (e.g. to attach WebSockets on `upgrade`). */
  onListening?: (server: Server) => void;
  /**
   * Keep-alive timeout for clients (the gateway keeps connections to subgraphs open).
   * @default 65_000
   */
  keepAliveTimeoutMs?: number;
}

/** A server built by {@link createGraphQLHttpServer} or {@link createProbeServer}. */
export interface GraphQLHttpServer {
  readonly server: Server;
  /**
   * Listens; resolves with the URL of the GraphQL endpoint and the port.
   * @throws the `listen` error, e.g. `EADDRINUSE` when the port is taken.
   */
  start(): Promise<{ url: string; port: number }>;
  /**
   * Stops accepting new connections at once (a load balancer sees the port refuse and sends
   * elsewhere), leaving open ones to be served; `stop` then drains them.
   */
  stopAccepting(): void;
  /**
   * Stops accepting, closes idle keep-alive connections, waits for in-flight requests (at most
   * 10 s), closing each connection once its request is answered.
   */
  stop(): Promise<void>;
}

/** Thrown by {@link readBody} for a body over its limit. */
export class BodyTooLargeError extends Error {}

/**
 * The body of `req` as UTF-8 text, at most `limit` bytes.
 * @throws {BodyTooLargeError} when it is larger (declared or sent); the request is then destroyed
 */
export function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) return reject(new BodyTooLargeError());
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new BodyTooLargeError());
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Answers `status` with `body` as JSON, never cached; `headers` besides. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/** A GraphQL-shaped error response, for failures before Apollo sees the request. */
export function sendGraphQLError(
  res: ServerResponse,
  status: number,
  message: string,
  code: string,
): void {
  sendJson(res, status, { errors: [{ message, extensions: { code } }] });
}

/**
 * Hands one request to Apollo Server and writes its answer: `body` is the request's body as read
 * (parsed JSON, or the text), `search` its query string. For a hook in front of Apollo
 * (`beforeGraphQL`) that has read the body and then finds the request is Apollo's after all.
 */
export async function answerWithApollo<TContext extends BaseContext>(
  apollo: ApolloServer<TContext>,
  req: IncomingMessage,
  res: ServerResponse,
  request: { search: string; body: unknown; context: (req: IncomingMessage) => Promise<TContext> },
): Promise<void> {
  const headers = new HeaderMap();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  const response = await apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: {
      method: req.method ?? 'GET',
      headers,
      search: request.search,
      body: request.body,
    },
    context: () => request.context(req),
  });
  for (const [name, value] of response.headers) res.setHeader(name, value);
  res.statusCode = response.status ?? 200;
  if (response.body.kind === 'complete') {
    res.end(response.body.string);
    return;
  }
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}

/**
 * Serves `options.apollo` on `options.path` (POST with a JSON body, or GET), `/health`, `/ready`
 * and `options.routes` (exact paths); 404 for anything else. It listens only once `start()` is
 * called. An oversized body gets 413 `PAYLOAD_TOO_LARGE`, invalid JSON 400 `BAD_REQUEST`, and an
 * unexpected failure 500 `INTERNAL_SERVER_ERROR` without detail.
 */
export function createGraphQLHttpServer<TContext extends BaseContext>(
  options: GraphQLHttpServerOptions<TContext>,
): GraphQLHttpServer {
  const path = options.path ?? '/graphql';
  const maxBodyBytes = options.maxBodyBytes ?? 1_048_576;
  const routes = options.routes ?? {};

  const handleGraphQL = async (req: IncomingMessage, res: ServerResponse, search: string) => {
    let body: unknown = undefined;
    if (req.method === 'POST') {
      let raw: string;
      try {
        raw = await readBody(req, maxBodyBytes);
      } catch (error) {
        if (error instanceof BodyTooLargeError) {
          return sendGraphQLError(
            res,
            413,
            `Request body is larger than the limit of ${maxBodyBytes} bytes`,
            'PAYLOAD_TOO_LARGE',
          );
        }
        throw error;
      }
      const type = req.headers['content-type'] ?? '';
      if (type.includes('json') && raw.length > 0) {
        try {
          body = JSON.parse(raw);
        } catch (error) {
          return sendGraphQLError(
            res,
            400,
            `Request body is not valid JSON: ${(error as Error).message}`,
            'BAD_REQUEST',
          );
        }
      } else {
        body = raw;
      }
    }
    await answerWithApollo(options.apollo, req, res, { search, body, context: options.context });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const pathname = queryAt === -1 ? url : url.slice(0, queryAt);
    const search = queryAt === -1 ? '' : url.slice(queryAt);
    if (pathname === path) {
      // A server span, continuing the caller's trace (`traceparent`): see lib/tracing.ts.
      return inSpan(
        `${req.method ?? 'GET'} ${path}`,
        {
          kind: SpanKind.SERVER,
          parent: extractTraceContext(req.headers),
          attributes: { 'http.request.method': req.method ?? 'GET', 'url.path': path },
        },
        async (span) => {
          if (!options.beforeGraphQL || !(await options.beforeGraphQL(req, res, search))) {
            await handleGraphQL(req, res, search);
          }
          span.setAttribute('http.response.status_code', res.statusCode);
        },
      );
    }
    if (await answerProbe(pathname, res, options.readiness)) return;
    const route = routes[pathname];
    if (route) return route(req, res);
    if (options.fallback) return options.fallback(req, res);
    sendJson(res, 404, { error: `Not found: ${pathname}. GraphQL is served at ${path}.` });
  };
  return listener(handle, options);
}

/** Answers `/health` and `/ready`; resolves `false` for any other path. */
async function answerProbe(
  pathname: string,
  res: ServerResponse,
  readiness: (() => ReadinessReport | Promise<ReadinessReport>) | undefined,
): Promise<boolean> {
  if (pathname === '/health') {
    sendJson(res, 200, { status: 'ok', pid: process.pid });
    return true;
  }
  if (pathname !== '/ready') return false;
  const report = readiness ? await readiness() : { ready: true };
  sendJson(res, report.ready ? 200 : 503, {
    status: report.ready ? 'ready' : 'not ready',
    ...(report.checks ? { checks: report.checks } : {}),
  });
  return true;
}

/** What {@link createProbeServer} takes: the listen address, readiness and extra routes. */
export type ProbeServerOptions = Pick<
  GraphQLHttpServerOptions<BaseContext>,
  'host' | 'port' | 'readiness' | 'routes'
>;

/** `/health`, `/ready` and extra routes, for a process that serves no GraphQL (a worker). */
export function createProbeServer(options: ProbeServerOptions): GraphQLHttpServer {
  const routes = options.routes ?? {};
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    const pathname = url.split('?', 1)[0] ?? '/';
    if (await answerProbe(pathname, res, options.readiness)) return;
    const route = routes[pathname];
    if (route) return route(req, res);
    sendJson(res, 404, {
      error: `Not found: ${pathname}. This process serves /health and /ready.`,
    });
  };
  return listener(handle, { ...options, path: '' });
}

function listener(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  options: Pick<
    GraphQLHttpServerOptions<BaseContext>,
    'host' | 'port' | 'path' | 'onListening' | 'keepAliveTimeoutMs'
  >,
): GraphQLHttpServer {
  const path = options.path ?? '/graphql';
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // Apollo answers GraphQL errors itself; this is a bug or a broken socket. Never leak a stack.
      if (!res.headersSent)
        sendGraphQLError(res, 500, 'Internal server error', 'INTERNAL_SERVER_ERROR');
      else res.destroy(error instanceof Error ? error : undefined);
    });
  });
  server.keepAliveTimeout = options.keepAliveTimeoutMs ?? 65_000;
  // Connections that never sent a request (a client's spare, opened after a streaming response
  // was aborted): closeIdleConnections() leaves them, so `stop` would wait out its deadline.
  const unused = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    unused.add(socket);
    socket.once('close', () => unused.delete(socket));
  });
  server.on('request', (req: IncomingMessage) => unused.delete(req.socket));

  /** Resolves once the server is closed and its last connection is gone. */
  let closed: Promise<void> | undefined;
  const stopAccepting = (): void => {
    if (closed !== undefined || !server.listening) return;
    closed = new Promise<void>((resolve) => server.close(() => resolve()));
  };

  return {
    server,
    async start() {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
      options.onListening?.(server);
      const { port, address } = server.address() as AddressInfo;
      return { url: `http://${address}:${port}${path}`, port };
    },
    stopAccepting,
    async stop() {
      if (closed === undefined && !server.listening) return;
      stopAccepting();
      // A keep-alive connection goes as soon as its request in flight is answered (not when its
      // keep-alive times out); whatever is still open at the drain deadline is cut.
      server.closeIdleConnections();
      for (const socket of unused) socket.destroy();
      const idle = setInterval(() => server.closeIdleConnections(), 50);
      const deadline = setTimeout(() => server.closeAllConnections(), DRAIN_TIMEOUT_MS);
      await closed;
      clearInterval(idle);
      clearTimeout(deadline);
    },
  };
}

/**
 * The client's address: the socket's peer, or, when that peer is one of `trustedProxies` (a load
 * balancer), the nearest address in `X-Forwarded-For` that is not a trusted proxy itself.
 */
export function clientAddress(
  req: IncomingMessage,
  trustedProxies: readonly string[] = [],
): string {
  const peer = normalizeAddress(req.socket.remoteAddress ?? 'unknown');
  if (!trustedProxies.includes(peer)) return peer;
  const forwarded = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(forwarded) ? forwarded.join(',') : (forwarded ?? ''))
    .split(',')
    .map((hop) => normalizeAddress(hop.trim()))
    .filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] as string;
    if (!trustedProxies.includes(hop)) return hop;
  }
  return peer;
}

/** `::ffff:127.0.0.1` (IPv4 on an IPv6 socket) as `127.0.0.1`. */
function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
