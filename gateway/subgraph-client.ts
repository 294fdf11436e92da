/**
 * HTTP from the gateway to its subgraphs.
 *
 * One undici `Agent` (a keep-alive connection pool per subgraph origin) is shared by the
 * gateway's data sources and its readiness probes. Requests go through `Dispatcher.request`, not
 * through `fetch`: the WHATWG layer (streams, Request/Response objects) costs more CPU per
 * subgraph call than the call itself on a local network, and `RemoteGraphQLDataSource` only needs
 * the small `Fetcher` surface of @apollo/utils.fetcher.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import { RemoteGraphQLDataSource } from '@apollo/gateway';
import type { Fetcher, FetcherResponse } from '@apollo/utils.fetcher';
import type { Counter, Histogram } from 'prom-client';
import { Agent, type Dispatcher } from 'undici';
import { activeTraceparent, TRACEPARENT_HEADER } from '../lib/tracing';

/** The limits and timeouts of {@link createSubgraphAgent}. */
export interface SubgraphAgentOptions {
  /** Most connections per subgraph origin. @default 128 */
  connections?: number;
  /** Idle time after which a connection is closed (undici also honours the server's hint). @default 10_000 */
  keepAliveTimeoutMs?: number;
  /** Time to wait for a subgraph's response headers, and then for each body chunk. @default 30_000 */
  requestTimeoutMs?: number;
}

/**
 * A keep-alive pool for subgraph traffic. `pipelining: 1` sends one request at a time per
 * connection (HTTP/1.1 pipelining stalls behind a slow response and is unsafe through proxies).
 */
export function createSubgraphAgent(options: SubgraphAgentOptions = {}): Agent {
  const timeout = options.requestTimeoutMs ?? 30_000;
  return new Agent({
    connections: options.connections ?? 128,
    pipelining: 1,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 10_000,
    keepAliveMaxTimeout: 60_000,
    headersTimeout: timeout,
    bodyTimeout: timeout,
  });
}

/** A `Fetcher` for `RemoteGraphQLDataSource` on top of an undici dispatcher. */
export function createUndiciFetcher(dispatcher: Dispatcher): Fetcher {
  // By subgraph URL: as many entries as the supergraph has subgraphs, so no eviction.
  const targets = new Map<string, { origin: string; path: string }>();
  const target = (url: string) => {
    let found = targets.get(url);
    if (!found) {
      const parsed = new URL(url);
      found = { origin: parsed.origin, path: parsed.pathname + parsed.search };
      targets.set(url, found);
    }
    return found;
  };

  return async (url, init = {}) => {
    const { origin, path } = target(url);
    const { statusCode, headers, body } = await dispatcher.request({
      origin,
      path,
      method: (init.method ?? 'GET') as Dispatcher.HttpMethod,
      headers: init.headers ?? {},
      body: init.body ?? null,
      ...(init.signal instanceof AbortSignal ? { signal: init.signal } : {}),
    });
    const text = await body.text();
    return textResponse(url, statusCode, headers, text);
  };
}

function textResponse(
  url: string,
  status: number,
  raw: Record<string, string | string[] | undefined>,
  text: string,
): FetcherResponse {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.set(name, value);
  }
  const response: FetcherResponse = {
    bodyUsed: false,
    url,
    redirected: false,
    status,
    ok: status >= 200 && status < 300,
    statusText: STATUS_CODES[status] ?? '',
    headers,
    text: async () => text,
    json: async (): Promise<unknown> => JSON.parse(text),
    arrayBuffer: async () => {
      const bytes = Buffer.from(text);
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    },
    clone: () => response,
  };
  return response;
}

/** The gateway's per-request context: what the data sources need from the incoming request. */
export type GatewayContext = {
  /**
   * Headers to send to every subgraph for this request, built once per request in the context
   * function (the signed internal token: gateway/identity.ts).
   */
  subgraphHeaders: Record<string, string>;
};

/**
 * Builds {@link GatewayContext.subgraphHeaders} from the incoming request. Asynchronous, as
 * authenticating the caller and signing are; it runs once per request, not per subgraph call.
 * A rejection with a `GraphQLError` answers the request with that error (e.g. 401).
 */
export type BuildRequestHeaders = (req: IncomingMessage) => Promise<Record<string, string>>;

/** The gateway's figures of subgraph requests, labelled `subgraph` (gateway.ts registers them). */
export interface SubgraphRequestMetrics {
  /** `gateway_subgraph_request_duration_seconds` */
  duration: Histogram<'subgraph'>;
  /** `gateway_subgraph_request_errors_total`: requests that failed (transport, non-2xx). */
  errors: Counter<'subgraph'>;
}

type ProcessOptions = Parameters<RemoteGraphQLDataSource<GatewayContext>['process']>[0];
type ProcessResult = ReturnType<RemoteGraphQLDataSource<GatewayContext>['process']>;

/**
 * The data source of one subgraph: keep-alive HTTP through the shared agent, and the headers the
 * context carries for this request (the internal token) and its trace context (`traceparent`);
 * with `metrics`, each request is timed and failures are counted.
 */
export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(name: string, url: string, fetcher: Fetcher, metrics?: SubgraphRequestMetrics) {
    super({ url, fetcher });
    this.name = name;
    // Children made once per data source: a request pays an observation, no label lookup.
    this.measured = metrics && {
      duration: metrics.duration.labels(name),
      errors: metrics.errors.labels(name),
    };
  }

  readonly name: string;
  private readonly measured:
    { duration: { observe(seconds: number): void }; errors: { inc(): void } } | undefined;

  override async process(options: ProcessOptions): ProcessResult {
    const measured = this.measured;
    if (!measured) return super.process(options);
    const started = performance.now();
    try {
      return await super.process(options);
    } catch (error) {
      measured.errors.inc();
      throw error;
    } finally {
      measured.duration.observe((performance.now() - started) / 1000);
    }
  }

  override willSendRequest({
    request,
    context,
  }: Parameters<NonNullable<RemoteGraphQLDataSource<GatewayContext>['willSendRequest']>>[0]) {
    // Health checks and schema loads run without an incoming request, hence without headers.
    const headers: Record<string, string> | undefined = context.subgraphHeaders;
    if (!request.http) return;
    for (const [name, value] of Object.entries(headers ?? {}))
      request.http.headers.set(name, value);
    // The subgraph continues this request's trace (lib/tracing.ts); nothing when tracing is off.
    const traceparent = activeTraceparent();
    if (traceparent) request.http.headers.set(TRACEPARENT_HEADER, traceparent);
  }
}
