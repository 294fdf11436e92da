/**
 * GraphQL over Server-Sent Events at `/graphql/stream`: the graphql-sse protocol's "distinct
 * connections mode" (one request per operation; graphql-sse's `createClient`, or a browser's
 * `EventSource` for a `GET`).
 *
 * - `GET /graphql/stream?query=...&variables=<json>&operationName=...&extensions=<json>` or
 *   `POST /graphql/stream` with `content-type: application/json` and
 *   `{ query, variables, operationName, extensions }`; `Accept: text/event-stream`.
 * - The response is `text/event-stream`: each result an `event: next` with the result as `data`,
 *   then `event: complete` (with an empty `data:`, which `EventSource` needs to fire it). A live
 *   result's event carries `id: <its extensions.cursor>`, so an `EventSource` that reconnects
 *   sends `Last-Event-ID`, which is taken as `extensions.cursor`: the missed events come first,
 *   none twice. A comment (`:`) every `keepAliveMs` keeps proxies from closing a quiet stream.
 * - Subscriptions are live (the engine); queries (`GET` or `POST`) and mutations (`POST` only: a
 *   `GET` must not change anything) are answered through Apollo as one `next` and `complete`,
 *   so a client can use one endpoint for everything. Every request here spends one from the
 *   `subscribe` rate limit of its client address.
 * - Unlike the protocol's advice, a request refused before the stream starts (not JSON, no
 *   query, invalid, forbidden, no or bad credentials, a bad cursor, over the rate limit) gets a
 *   JSON `{ errors }` with the registry's HTTP status instead of an accepted stream with the
 *   errors in a `next`: a client sees at once why (graphql-sse reports it as a `NetworkError`
 *   with the response; `EventSource` stops retrying on a status other than 200).
 * - When the access token expires, a last `next` carries `UNAUTHENTICATED` and the stream
 *   completes. When the gateway stops, the stream ends without `complete`: an `EventSource`
 *   reconnects by itself (to another instance) with `Last-Event-ID`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Route } from '../../lib/http-server';
import { httpGraphQLError } from '../errors';
import { Refusal, sendRefusal, type HttpSubscriptionCore } from './common';
import {
  acceptsEventStream,
  cookieIsOnlyCredential,
  operationTypeOf,
  requestFromBody,
  requestFromSearch,
  type GraphQLRequest,
} from './request';
import type { Framing } from './stream';

const COMPLETE = 'event: complete\ndata:\n\n';

/** The `text/event-stream` framing of graphql-sse's distinct connections mode. */
export const SSE_FRAMING: Framing = {
  contentType: 'text/event-stream; charset=utf-8',
  opening: ':\n\n',
  heartbeat: ':\n\n',
  // A cursor is base64url and dots; a line break would end the field, so such an id is left out.
  head: (cursor) =>
    /[\r\n]/.test(cursor) ? 'event: next\ndata: ' : `event: next\nid: ${cursor}\ndata: `,
  suffix: '\n\n',
  result: (json) => `event: next\ndata: ${json}\n\n`,
  ending: (errors?: readonly GraphQLFormattedError[]) =>
    errors ? `event: next\ndata: ${JSON.stringify({ errors })}\n\n${COMPLETE}` : COMPLETE,
  // No `complete`: the client is to reconnect, with `Last-Event-ID`.
  interrupted: () => '',
};

/** The path of the SSE endpoint. */
export const SSE_PATH = '/graphql/stream';

/**
 * The request of a `GET` or `POST` to the SSE endpoint, `Last-Event-ID` taken as its
 * `extensions.cursor`; or why it is refused.
 */
async function readRequest(
  core: HttpSubscriptionCore,
  req: IncomingMessage,
): Promise<GraphQLRequest | Refusal> {
  let request: GraphQLRequest | GraphQLError;
  if (req.method === 'POST') {
    const body = await core.readJsonBody(req);
    if (body instanceof Refusal) return body;
    request = requestFromBody(body);
  } else {
    const url = req.url ?? '';
    const queryAt = url.indexOf('?');
    request = requestFromSearch(queryAt === -1 ? '' : url.slice(queryAt));
  }
  if (request instanceof GraphQLError) return new Refusal([request]);
  // An EventSource that reconnects says where it was: resume from there.
  const lastEventId = req.headers['last-event-id'];
  if (typeof lastEventId === 'string' && lastEventId !== '') {
    request = { ...request, extensions: { ...request.extensions, cursor: lastEventId } };
  }
  return request;
}

/** Serves one request to the SSE endpoint: see the module's comment. */
async function serve(
  core: HttpSubscriptionCore,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'POST') {
    return sendRefusal(
      res,
      new Refusal([httpGraphQLError('METHOD_NOT_ALLOWED', `${SSE_PATH} takes GET and POST`)], {
        allow: 'GET, POST',
      }),
    );
  }
  // Any site can make a browser send a GET with the cookie; an EventSource cannot send more.
  if (
    req.method === 'GET' &&
    cookieIsOnlyCredential(req) &&
    !acceptsEventStream(req.headers.accept)
  ) {
    return sendRefusal(
      res,
      new Refusal([
        httpGraphQLError(
          'BAD_REQUEST',
          'A GET authenticated by the session cookie alone must accept text/event-stream (EventSource); otherwise POST with content-type: application/json',
        ),
      ]),
    );
  }
  const admitted = core.admit(req);
  if (admitted) return sendRefusal(res, admitted);
  const request = await readRequest(core, req);
  if (request instanceof Refusal) return sendRefusal(res, request);
  const caller = await core.authenticate(req);
  if (caller instanceof Refusal) return sendRefusal(res, caller);
  const type = operationTypeOf(request);
  if (type instanceof GraphQLError) return sendRefusal(res, new Refusal([type]));
  if (type === 'subscription') return core.subscribe(SSE_FRAMING, res, request, caller);
  if (type === 'mutation' && req.method === 'GET') {
    return sendRefusal(
      res,
      new Refusal([httpGraphQLError('METHOD_NOT_ALLOWED', 'A mutation must be sent with POST')], {
        allow: 'POST',
      }),
    );
  }
  return core.execute(SSE_FRAMING, res, request, caller);
}

/** The route of `/graphql/stream` (GraphQL over SSE). */
export function eventStreamRoute(core: HttpSubscriptionCore): Route {
  return async (req, res) => {
    try {
      await serve(core, req, res);
    } catch (error) {
      core.failed(SSE_FRAMING, res, error);
    }
  };
}
