/**
 * Apollo's multipart HTTP subscriptions (what Apollo Client, Apollo Kotlin and iOS, and the
 * Apollo Router speak) on the GraphQL path: a `subscription` sent to `POST /graphql` (or `GET`)
 * with `Accept: multipart/mixed;subscriptionSpec="1.0", application/json` (quotes optional).
 *
 * - The response is `multipart/mixed;boundary="graphql";subscriptionSpec="1.0"`; each part is
 *   `\r\n--graphql\r\ncontent-type: application/json; charset=utf-8\r\n\r\n` and a JSON body:
 *   `{"payload":<ExecutionResult>}` for a result, `{}` as a heartbeat (one first, then every
 *   `heartbeatMs`), and `{"payload":null,"errors":[...]}` for an error that ends the stream
 *   (the access token expired, `GATEWAY_STOPPING`). The stream ends with `\r\n--graphql--\r\n`.
 * - Resuming: `extensions: { cursor }` in the request, as on the WebSocket.
 * - Any other request to the GraphQL path, a query or mutation with that `Accept` included, goes
 *   to Apollo as it came; a refusal before the stream starts is JSON with a status, as Apollo's.
 *   A `POST` with that `Accept` has its body read here (to see whether it is a subscription), so
 *   when it is not one, it is handed to Apollo from here, with the same method, headers, search
 *   and body as the HTTP server would.
 * - A `subscription` without that `Accept` is refused with 400 `BAD_REQUEST` naming the ways
 *   that serve it ({@link refuseSubscriptionsOverPlainHttp}, for Apollo; a `GET` here), instead
 *   of Apollo's 500 (a `POST`) or 405 (a `GET`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { answerWithApollo } from '../../lib/http-server';
import { httpGraphQLError } from '../errors';
import type { GatewayContext } from '../subgraph-client';
import { parseJson, Refusal, sendRefusal, type HttpSubscriptionCore } from './common';
import {
  acceptsMultipartSubscription,
  cookieIsOnlyCredential,
  isJsonContentType,
  operationTypeOf,
  requestFromBody,
  requestFromSearch,
  type GraphQLRequest,
} from './request';
import type { Framing } from './stream';

/** A part's headers; the delimiter before them was written with the part before. */
const PART = '\r\ncontent-type: application/json; charset=utf-8\r\n\r\n';
const DELIMITER = '\r\n--graphql';
const HEAD = `${PART}{"payload":`;
const part = (body: string) => `${PART}${body}${DELIMITER}`;
const ending = (errors?: readonly GraphQLFormattedError[]) =>
  `${errors ? part(JSON.stringify({ payload: null, errors })) : ''}--\r\n`;

/**
 * The framing of Apollo's multipart subscription protocol. Each part is written with the
 * delimiter that follows it: a client reads a part once it sees the next delimiter (Apollo
 * Client does), so a result written with its delimiter is read at once, not at the next
 * heartbeat. The bytes are the same: `\r\n--graphql` + headers + body, ..., `\r\n--graphql--\r\n`.
 */
export const MULTIPART_FRAMING: Framing = {
  contentType: 'multipart/mixed;boundary="graphql";subscriptionSpec="1.0"',
  opening: `${DELIMITER}${part('{}')}`,
  heartbeat: part('{}'),
  head: () => HEAD,
  suffix: `}${DELIMITER}`,
  result: (json) => part(`{"payload":${json}}`),
  ending,
  interrupted: (error) => ending([error]),
};

/** The error of a `subscription` sent as plain GraphQL over HTTP. */
export function subscriptionNotOverPlainHttp(): GraphQLError {
  return httpGraphQLError(
    'BAD_REQUEST',
    'Subscriptions are not served as plain GraphQL over HTTP: use the WebSocket (graphql-transport-ws at ws://<gateway>/graphql), Server-Sent Events at /graphql/stream, or this path with Accept: multipart/mixed;subscriptionSpec="1.0"',
  );
}

/**
 * An Apollo Server plugin that refuses a `subscription` Apollo is asked to run (a `POST` to the
 * GraphQL path without the multipart `Accept`): 400 `BAD_REQUEST` saying where subscriptions are
 * served, instead of the gateway's 500 "Execution of subscriptions not supported by gateway".
 */
export const refuseSubscriptionsOverPlainHttp: ApolloServerPlugin<GatewayContext> = {
  async requestDidStart() {
    return {
      async didResolveOperation({ operation }) {
        if (operation?.operation === 'subscription') throw subscriptionNotOverPlainHttp();
      },
    };
  },
};

/** Queries that cannot be subscriptions skip the parse here (Apollo parses them anyway). */
const MAY_SUBSCRIBE = /\bsubscription\b/;

const isSubscription = (request: GraphQLRequest | GraphQLError): request is GraphQLRequest =>
  !(request instanceof GraphQLError) &&
  MAY_SUBSCRIBE.test(request.query) &&
  operationTypeOf(request) === 'subscription';

/** Runs a multipart subscription: the rate limit, the caller, then the stream. */
async function subscribe(
  core: HttpSubscriptionCore,
  req: IncomingMessage,
  res: ServerResponse,
  request: GraphQLRequest,
): Promise<void> {
  const admitted = core.admit(req);
  if (admitted) return sendRefusal(res, admitted);
  const caller = await core.authenticate(req);
  if (caller instanceof Refusal) return sendRefusal(res, caller);
  await core.subscribe(MULTIPART_FRAMING, res, request, caller);
}

/** See {@link multipartHook}. */
async function handle(
  core: HttpSubscriptionCore,
  req: IncomingMessage,
  res: ServerResponse,
  search: string,
): Promise<boolean> {
  const multipart = acceptsMultipartSubscription(req.headers.accept);
  if (req.method === 'GET') {
    const request = requestFromSearch(search);
    if (!isSubscription(request)) return false;
    if (!multipart) {
      sendRefusal(res, new Refusal([subscriptionNotOverPlainHttp()]));
    } else if (cookieIsOnlyCredential(req)) {
      // Any site can make a browser send this GET with the cookie (CSRF).
      sendRefusal(
        res,
        new Refusal([
          httpGraphQLError(
            'BAD_REQUEST',
            'A GET authenticated by the session cookie alone cannot subscribe: POST with content-type: application/json',
          ),
        ]),
      );
    } else {
      await subscribe(core, req, res, request);
    }
    return true;
  }
  if (req.method !== 'POST' || !multipart) return false;
  // From here the body is read, so the request is answered here: by Apollo unless it subscribes.
  const text = await core.readBody(req);
  if (text instanceof Refusal) {
    sendRefusal(res, text);
    return true;
  }
  const json = isJsonContentType(req.headers['content-type']) && text.length > 0;
  const body = json ? parseJson(text) : text;
  if (body instanceof Refusal) {
    sendRefusal(res, body);
    return true;
  }
  const request = json ? requestFromBody(body) : undefined;
  if (request && isSubscription(request)) await subscribe(core, req, res, request);
  else
    await answerWithApollo(core.options.apollo, req, res, {
      search,
      body,
      context: core.options.httpContext,
    });
  return true;
}

/**
 * The GraphQL path's `beforeGraphQL` hook (lib/http-server.ts): serves multipart subscriptions
 * and refuses a `GET` subscription without the multipart `Accept`; resolves `false` for anything
 * else it did not read the body of, which the HTTP server hands to Apollo.
 */
export function multipartHook(
  core: HttpSubscriptionCore,
): (req: IncomingMessage, res: ServerResponse, search: string) => Promise<boolean> {
  return async (req, res, search) => {
    try {
      return await handle(core, req, res, search);
    } catch (error) {
      core.failed(MULTIPART_FRAMING, res, error);
      return true;
    }
  };
}
