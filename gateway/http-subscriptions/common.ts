/**
 * What the two HTTP transports of subscriptions (sse.ts, multipart.ts) share: who the caller is,
 * the rate limit, the answer to a refused request, and the run of one operation as a stream.
 *
 * - **Authentication**: the gateway's `Authenticate` on the real request (Bearer header, the
 *   `ig_session` cookie, outside production the development `x-identity` header). Without
 *   credentials: 401 `UNAUTHENTICATED`, as the WebSocket refuses a connection without them. A
 *   stream ends when its credentials expire (a Bearer token's `exp`, the session's access token
 *   as the authenticator recorded it), with `UNAUTHENTICATED`: refresh, then resume.
 * - **Refusals** before the stream starts are `{ errors: [{ message, extensions: { code } }] }`
 *   with the registry's HTTP status (contracts/errors.ts); once the stream runs, errors go in the
 *   stream (each framing says how) and it ends.
 * - **Rate limit**: subscribe requests per client address (the gateway's `subscribe` limit; the
 *   WebSocket counts it per connection, which HTTP does not have).
 * - **Stopping**: {@link HttpSubscriptionCore.close} ends every stream the way its framing ends
 *   one at a restart (SSE: without `complete`, so the client reconnects with `Last-Event-ID`;
 *   multipart: `GATEWAY_STOPPING`), so the HTTP server's drain has nothing left to wait for.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApolloServer } from '@apollo/server';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { ERROR_CODES, isErrorCode } from '../../contracts/errors';
import type { Identity } from '../../contracts/identity';
import { BodyTooLargeError, clientAddress, readBody, sendJson } from '../../lib/http-server';
import type { Logger } from '../../lib/logger';
import { checkRateLimit, describeRate, RateLimiter, type RateLimit } from '../../lib/rate-limit';
import { graphQLError, httpGraphQLError } from '../errors';
import { credentialExpiry, type Authenticate } from '../identity';
import type { GatewayContext } from '../subgraph-client';
import type { LiveSubscriptions } from '../subscriptions/engine';
import { at, expiresAt } from '../token-expiry';
import { DEFAULT_SUBSCRIBE_RATE_LIMIT } from '../websocket';
import { isJsonContentType, type GraphQLRequest } from './request';
import { HttpStream, type Framing } from './stream';

/** What the HTTP transports of subscriptions serve with. */
export interface HttpSubscriptionsOptions {
  /** Runs queries and mutations (and, for multipart, every request that is no subscription). */
  apollo: ApolloServer<GatewayContext>;
  /** The context of a request handed on to Apollo as it came (the HTTP server's `context`). */
  httpContext: (req: IncomingMessage) => Promise<GatewayContext>;
  /** The gateway's {@link Authenticate}, run on the real request. */
  authenticate: Authenticate;
  /** The context of one operation of `identity` (the signed internal token). */
  context: (identity: Identity) => Promise<GatewayContext>;
  /**
   * Live subscriptions; without them a `subscription` gets 501 `SUBSCRIPTIONS_NOT_AVAILABLE`
   * (the gateway runs without Kafka).
   */
  live?: Pick<LiveSubscriptions, 'subscribe'> | undefined;
  /** Masks unexpected errors; no development `x-identity` hint in messages. */
  production: boolean;
  logger: Logger;
  /** Largest request body; larger ones get 413 `PAYLOAD_TOO_LARGE`. @default 1_048_576 */
  maxBodyBytes?: number;
  /**
   * Subscribe requests per client address; beyond, 429 `RATE_LIMITED` with `Retry-After`.
   * `false`: no limit. @default DEFAULT_SUBSCRIBE_RATE_LIMIT (20 a second, bursts of 100)
   */
  subscribeRateLimit?: RateLimit | false | undefined;
  /** Load balancers whose `X-Forwarded-For` names the client. @default none */
  trustedProxies?: readonly string[] | undefined;
  /** Interval of the SSE keep-alive comment. @default 12_000 */
  keepAliveMs?: number;
  /** Interval of the multipart heartbeat part (`{}`). @default 5_000 */
  heartbeatMs?: number;
}

/** A request refused before its stream starts: the errors, and headers (`Retry-After`, `Allow`). */
export class Refusal {
  constructor(
    readonly errors: readonly GraphQLError[],
    readonly headers: Record<string, string> = {},
  ) {}
}

/** Who a request is from, and until when its credentials hold. */
export interface Caller {
  identity: Identity;
  expiresAt?: number;
}

/** An error as it leaves the gateway, without the `http` extension the status was taken from. */
export function formatForClient(error: GraphQLError): GraphQLFormattedError {
  const { extensions, ...rest } = error.toJSON();
  if (!extensions) return rest;
  const { http: _http, ...kept } = extensions;
  return { ...rest, extensions: kept };
}

/** The HTTP status of a refusal: `extensions.http.status`, else the registry's for its code. */
export function statusOf(error: GraphQLError | undefined): number {
  const extensions = error?.toJSON().extensions ?? {};
  const http = extensions['http'];
  if (typeof http === 'object' && http !== null && 'status' in http) {
    const { status } = http;
    if (typeof status === 'number') return status;
  }
  const code = extensions['code'];
  return isErrorCode(code) ? ERROR_CODES[code].httpStatus : 500;
}

/** Answers a refused request: its errors as JSON, with the status of the first. */
export function sendRefusal(res: ServerResponse, refusal: Refusal): void {
  sendJson(
    res,
    statusOf(refusal.errors[0]),
    { errors: refusal.errors.map(formatForClient) },
    refusal.headers,
  );
}

const refusal = (error: GraphQLError, headers?: Record<string, string>): Refusal =>
  new Refusal([error], headers);

/** `text` as JSON, or 400 `BAD_REQUEST` saying why not. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    return refusal(
      httpGraphQLError(
        'BAD_REQUEST',
        `Request body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
      ),
    );
  }
}

/**
 * The transports' shared machinery: see the module's comment. One per gateway; `close` when it
 * stops.
 */
export class HttpSubscriptionCore {
  readonly maxBodyBytes: number;
  private readonly limiter: RateLimiter | undefined;
  private readonly limit: RateLimit | undefined;
  /** Streams running, by framing, for the heartbeats and for `close`. */
  private readonly open = new Map<Framing, Set<HttpStream>>();
  private readonly timers: NodeJS.Timeout[] = [];
  private stopping = false;

  constructor(
    readonly options: HttpSubscriptionsOptions,
    heartbeats: readonly [Framing, number][],
  ) {
    this.maxBodyBytes = options.maxBodyBytes ?? 1_048_576;
    this.limit =
      options.subscribeRateLimit === false
        ? undefined
        : (options.subscribeRateLimit ?? DEFAULT_SUBSCRIBE_RATE_LIMIT);
    if (this.limit) {
      checkRateLimit(this.limit, 'The subscribe rate limit');
      this.limiter = new RateLimiter(this.limit);
    }
    // One timer per framing for all its streams, as the WebSocket's keep-alive.
    for (const [framing, intervalMs] of heartbeats) {
      const streams = new Set<HttpStream>();
      this.open.set(framing, streams);
      const timer = setInterval(() => {
        for (const stream of streams) stream.heartbeat();
      }, intervalMs);
      timer.unref();
      this.timers.push(timer);
    }
  }

  /**
   * Whether a subscribe request may go on: refused while the gateway stops (503
   * `GATEWAY_STOPPING`) and beyond the rate limit of its client address (429 `RATE_LIMITED`).
   */
  admit(req: IncomingMessage): Refusal | undefined {
    if (this.stopping) {
      return refusal(httpGraphQLError('GATEWAY_STOPPING', 'The gateway is stopping'));
    }
    if (!this.limiter || !this.limit) return undefined;
    const client = clientAddress(req, this.options.trustedProxies ?? []);
    const taken = this.limiter.take(client);
    if (taken.ok) return undefined;
    return refusal(
      httpGraphQLError(
        'RATE_LIMITED',
        `Too many subscribe requests from ${client}: at most ${describeRate(this.limit)}; retry after ${taken.retryAfterSeconds} s`,
      ),
      { 'retry-after': String(taken.retryAfterSeconds) },
    );
  }

  /** The body of `req` as text, or 413 `PAYLOAD_TOO_LARGE` beyond `maxBodyBytes`. */
  async readBody(req: IncomingMessage): Promise<string | Refusal> {
    try {
      return await readBody(req, this.maxBodyBytes);
    } catch (error) {
      if (!(error instanceof BodyTooLargeError)) throw error;
      return refusal(
        httpGraphQLError(
          'PAYLOAD_TOO_LARGE',
          `Request body is larger than the limit of ${this.maxBodyBytes} bytes`,
        ),
      );
    }
  }

  /**
   * The JSON body of a `POST`: it must be `content-type: application/json` (which a browser
   * sends cross-site only after a CORS preflight, so a form cannot post a subscription).
   */
  async readJsonBody(req: IncomingMessage): Promise<unknown> {
    if (!isJsonContentType(req.headers['content-type'])) {
      return refusal(
        httpGraphQLError('BAD_REQUEST', 'A POST must have content-type: application/json'),
      );
    }
    const text = await this.readBody(req);
    return text instanceof Refusal ? text : parseJson(text);
  }

  /** The caller of `req`, or why not: 401 `UNAUTHENTICATED` (503 without the IdP's keys). */
  async authenticate(req: IncomingMessage): Promise<Caller | Refusal> {
    let identity: Identity | null;
    try {
      identity = await this.options.authenticate(req);
    } catch (error) {
      if (error instanceof GraphQLError) return refusal(error);
      throw error;
    }
    if (!identity) {
      const ways = this.options.production
        ? 'Authorization: Bearer <access token> or the session cookie'
        : 'Authorization: Bearer <access token>, the session cookie or (outside production) x-identity';
      return refusal(
        httpGraphQLError('UNAUTHENTICATED', `No credentials: send ${ways}`, {
          reason: 'no_credentials',
        }),
      );
    }
    // A Bearer token's `exp`, else what the authenticator recorded (the session's access token).
    const expiry = expiresAt(req.headers.authorization) ?? credentialExpiry(req);
    return expiry === undefined ? { identity } : { identity, expiresAt: expiry };
  }

  /**
   * Runs a live subscription as a stream framed by `framing`, until it ends: the client went away,
   * the credentials expired, the gateway stops, or the engine completed it. A subscription the
   * engine refuses is answered as a {@link Refusal}.
   */
  async subscribe(
    framing: Framing,
    res: ServerResponse,
    request: GraphQLRequest,
    caller: Caller,
  ): Promise<void> {
    const { live } = this.options;
    if (!live) {
      return sendRefusal(
        res,
        refusal(
          httpGraphQLError(
            'SUBSCRIPTIONS_NOT_AVAILABLE',
            'Live subscriptions need Kafka: this gateway runs without KAFKA_BROKERS',
          ),
        ),
      );
    }
    const stream = new HttpStream(res, framing);
    const queue = await live.subscribe(request, caller.identity, stream);
    if (!('next' in queue)) {
      if (stream.isStarted) return stream.end(framing.ending(queue.map(formatForClient)));
      return sendRefusal(res, new Refusal(queue));
    }
    if (stream.finished || this.stopping) {
      // The client went away, or the gateway began to stop, while it was being set up.
      void queue.return();
      const stopping = httpGraphQLError('GATEWAY_STOPPING', 'The gateway is stopping');
      if (stream.isStarted) stream.end(framing.interrupted(formatForClient(stopping)));
      else if (!stream.finished) sendRefusal(res, refusal(stopping));
      return;
    }
    stream.queue = queue;
    stream.begin();
    const streams = this.open.get(framing);
    streams?.add(stream);
    const cancelExpiry =
      caller.expiresAt === undefined
        ? undefined
        : at(caller.expiresAt, () => {
            stream.ending ??= 'expired';
            void queue.return();
          });
    try {
      // Resolves when the subscription ends, for whichever reason.
      await queue.next();
    } finally {
      streams?.delete(stream);
      cancelExpiry?.();
    }
    switch (stream.ending) {
      case 'gone':
        return;
      case 'expired':
        return stream.end(
          framing.ending([
            formatForClient(
              graphQLError('UNAUTHENTICATED', 'access token expired', { reason: 'expired' }),
            ),
          ]),
        );
      case 'stopping':
        return stream.end(
          framing.interrupted(
            formatForClient(
              graphQLError(
                'GATEWAY_STOPPING',
                'The gateway is stopping: subscribe again with the last cursor',
              ),
            ),
          ),
        );
      case undefined:
        return stream.end(framing.ending());
    }
  }

  /**
   * Answers a query or mutation through Apollo as one result and the end of the stream; an
   * operation Apollo refuses before executing it (invalid, too deep) is answered as JSON with
   * Apollo's status.
   */
  async execute(
    framing: Framing,
    res: ServerResponse,
    request: GraphQLRequest,
    caller: Caller,
  ): Promise<void> {
    const response = await this.options.apollo.executeOperation(
      {
        query: request.query,
        ...(request.variables ? { variables: request.variables } : {}),
        ...(request.operationName ? { operationName: request.operationName } : {}),
        ...(request.extensions ? { extensions: request.extensions } : {}),
      },
      { contextValue: await this.options.context(caller.identity) },
    );
    if (response.body.kind !== 'single') {
      return sendRefusal(
        res,
        refusal(
          httpGraphQLError('BAD_REQUEST', 'Incremental delivery (@defer) is not served here'),
        ),
      );
    }
    const result = response.body.singleResult;
    const status = response.http.status ?? 200;
    if (status >= 400) return sendJson(res, status, result);
    const stream = new HttpStream(res, framing);
    stream.write(framing.result(JSON.stringify(result)));
    stream.end(framing.ending());
  }

  /**
   * Answers a request that failed unexpectedly (logged here): a 500 before the stream started, an
   * error in the stream after; never the detail in production.
   */
  failed(framing: Framing, res: ServerResponse, error: unknown): void {
    this.options.logger.error('subscription over HTTP failed', { error });
    const message =
      this.options.production || !(error instanceof Error)
        ? 'Internal server error'
        : error.message;
    const failure = graphQLError('INTERNAL_SERVER_ERROR', message);
    if (!res.headersSent) return sendRefusal(res, refusal(failure));
    if (res.writableEnded) return;
    // A stream of ours ends with the error; anything else (Apollo's) is cut.
    if (res.getHeader('content-type') === framing.contentType) {
      res.end(framing.ending([formatForClient(failure)]));
    } else {
      res.destroy();
    }
  }

  /**
   * Refuses new streams and ends those running (see the module's comment); resolves once each has
   * written its last bytes. The HTTP server's drain then closes their connections.
   */
  async close(): Promise<void> {
    this.stopping = true;
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    const settled: Promise<void>[] = [];
    for (const streams of this.open.values()) {
      for (const stream of streams) {
        stream.ending ??= 'stopping';
        settled.push(stream.settled);
        // What is queued is written first: the client then resumes from the latest cursor.
        stream.queue?.close();
      }
    }
    await Promise.all(settled);
  }
}
