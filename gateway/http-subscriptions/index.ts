/**
 * GraphQL subscriptions over HTTP at the gateway, beside the WebSocket (websocket.ts), on the same
 * live engine (subscriptions/engine.ts), authentication and limits:
 *
 * - Server-Sent Events at `/graphql/stream`, graphql-sse's distinct connections mode (sse.ts);
 * - Apollo's multipart subscriptions on the GraphQL path (multipart.ts).
 *
 * The gateway wires {@link createHttpSubscriptions}'s `routes` and `beforeGraphQL` into its HTTP
 * server, {@link refuseSubscriptionsOverPlainHttp} into Apollo, and `close` into its stop, before
 * the HTTP server drains (common.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Route } from '../../lib/http-server';
import { HttpSubscriptionCore, type HttpSubscriptionsOptions } from './common';
import { MULTIPART_FRAMING, multipartHook } from './multipart';
import { eventStreamRoute, SSE_FRAMING, SSE_PATH } from './sse';

export type { HttpSubscriptionsOptions } from './common';
export { refuseSubscriptionsOverPlainHttp } from './multipart';
export { SSE_PATH } from './sse';

/** The HTTP transports of subscriptions, for the gateway's HTTP server. */
export interface HttpSubscriptions {
  /** `/graphql/stream`, for the HTTP server's `routes`. */
  routes: Record<string, Route>;
  /** For the HTTP server's `beforeGraphQL`: multipart subscriptions on the GraphQL path. */
  beforeGraphQL: (req: IncomingMessage, res: ServerResponse, search: string) => Promise<boolean>;
  /** Refuses new streams and ends the running ones; resolves once their last bytes are written. */
  close(): Promise<void>;
}

/** Builds the SSE endpoint and the multipart hook over one shared core: see the module's comment. */
export function createHttpSubscriptions(options: HttpSubscriptionsOptions): HttpSubscriptions {
  const core = new HttpSubscriptionCore(options, [
    [SSE_FRAMING, options.keepAliveMs ?? 12_000],
    [MULTIPART_FRAMING, options.heartbeatMs ?? 5_000],
  ]);
  return {
    routes: { [SSE_PATH]: eventStreamRoute(core) },
    beforeGraphQL: multipartHook(core),
    close: () => core.close(),
  };
}
