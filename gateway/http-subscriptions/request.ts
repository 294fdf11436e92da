/**
 * What a subscription request over HTTP asks for, read and checked before anything runs: the
 * GraphQL request of a `GET` (search parameters) or a `POST` (a JSON body), which protocol the
 * `Accept` header picks, and whether a browser could have sent the request from any site with
 * the session cookie alone (CSRF).
 *
 * Everything here is a pure function of the request's parts, so the unit tests cover it without
 * a server; a request that does not do becomes a coded GraphQL error (contracts/errors.ts), which
 * the transports answer as JSON with the registry's HTTP status.
 */
import type { IncomingMessage } from 'node:http';
import { getOperationAST, parse, type GraphQLError, type OperationTypeNode } from 'graphql';
import { IDENTITY_HEADER } from '../../contracts/identity';
import { SESSION_COOKIE } from '../auth/sessions';
import { httpGraphQLError } from '../errors';
import type { LiveRequest } from '../subscriptions/engine';

/** A GraphQL request over HTTP, checked: a query string, and objects where objects go. */
export type GraphQLRequest = LiveRequest;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const badRequest = (message: string) => httpGraphQLError('BAD_REQUEST', message);

/**
 * The request in a JSON body (`{ query, variables?, operationName?, extensions? }`), or what is
 * wrong with it (`BAD_REQUEST`).
 */
export function requestFromBody(body: unknown): GraphQLRequest | GraphQLError {
  if (!isObject(body)) return badRequest('The body must be a JSON object with a query');
  const { query, variables, operationName, extensions } = body;
  if (typeof query !== 'string' || query.trim() === '') {
    return badRequest('The request has no query: send { "query": "subscription { ... }" }');
  }
  if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') {
    return badRequest('operationName must be a string');
  }
  for (const [name, value] of [
    ['variables', variables],
    ['extensions', extensions],
  ] as const) {
    if (value !== undefined && value !== null && !isObject(value)) {
      return badRequest(`${name} must be an object`);
    }
  }
  return {
    query,
    ...(typeof operationName === 'string' ? { operationName } : {}),
    ...(isObject(variables) ? { variables } : {}),
    ...(isObject(extensions) ? { extensions } : {}),
  };
}

/**
 * The request in a URL's search (`?query=...&variables=<json>&operationName=...&extensions=<json>`),
 * or what is wrong with it (`BAD_REQUEST`).
 */
export function requestFromSearch(search: string): GraphQLRequest | GraphQLError {
  const params = new URLSearchParams(search);
  const body: Record<string, unknown> = {};
  const query = params.get('query');
  if (query !== null) body['query'] = query;
  const operationName = params.get('operationName');
  if (operationName !== null && operationName !== '') body['operationName'] = operationName;
  for (const name of ['variables', 'extensions'] as const) {
    const text = params.get(name);
    if (text === null || text === '') continue;
    try {
      body[name] = JSON.parse(text) as unknown;
    } catch {
      return badRequest(`The ${name} parameter is not JSON`);
    }
  }
  return requestFromBody(body);
}

/**
 * The type of the operation `request` runs, or its syntax error (`GRAPHQL_PARSE_FAILED`), or
 * `BAD_REQUEST` when the document has no such operation (several and no `operationName`).
 */
export function operationTypeOf(request: GraphQLRequest): OperationTypeNode | GraphQLError {
  let document;
  try {
    document = parse(request.query);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return httpGraphQLError('GRAPHQL_PARSE_FAILED', message);
  }
  const operation = getOperationAST(document, request.operationName ?? undefined);
  if (!operation) {
    return badRequest(
      request.operationName
        ? `The document has no operation named ${request.operationName}`
        : 'The document has several operations: name the one to run in operationName',
    );
  }
  return operation.operation;
}

/** The media ranges of an `Accept` header: type (lowercase) and parameters (names lowercase). */
function mediaRanges(accept: string | undefined): { type: string; params: Map<string, string> }[] {
  const ranges: { type: string; params: Map<string, string> }[] = [];
  // Commas and semicolons inside quoted values do not separate.
  for (const range of accept?.match(/(?:[^,"]|"[^"]*")+/g) ?? []) {
    const [type = '', ...params] = range.match(/(?:[^;"]|"[^"]*")+/g) ?? [];
    const parsed = new Map<string, string>();
    for (const param of params) {
      const equals = param.indexOf('=');
      if (equals === -1) continue;
      const value = param.slice(equals + 1).trim();
      parsed.set(
        param.slice(0, equals).trim().toLowerCase(),
        value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value,
      );
    }
    if (parsed.get('q') !== undefined && Number(parsed.get('q')) === 0) continue;
    ranges.push({ type: type.trim().toLowerCase(), params: parsed });
  }
  return ranges;
}

/**
 * Whether `accept` takes Apollo's multipart subscriptions: `multipart/mixed` with
 * `subscriptionSpec=1.0` (quoted or not), as Apollo Client and the Apollo Router send it.
 */
export function acceptsMultipartSubscription(accept: string | undefined): boolean {
  return mediaRanges(accept).some(
    (range) => range.type === 'multipart/mixed' && range.params.get('subscriptionspec') === '1.0',
  );
}

/** Whether `accept` names `text/event-stream` (what EventSource and graphql-sse send). */
export function acceptsEventStream(accept: string | undefined): boolean {
  return mediaRanges(accept).some((range) => range.type === 'text/event-stream');
}

/** Whether a `content-type` is JSON (`application/json`, any parameters). */
export function isJsonContentType(contentType: string | undefined): boolean {
  const type = contentType?.split(';', 1)[0]?.trim().toLowerCase();
  return type === 'application/json';
}

/**
 * Whether the session cookie is the request's only credential: a browser sends such a request
 * from any site (a "simple" GET needs no preflight), so it proves nothing about who wrote it. A
 * request with an `Authorization` or `x-identity` header was written by code allowed to send
 * them (cross-site, only after a CORS preflight).
 */
export function cookieIsOnlyCredential(req: Pick<IncomingMessage, 'headers'>): boolean {
  const { headers } = req;
  if (headers.authorization !== undefined || headers[IDENTITY_HEADER] !== undefined) return false;
  const cookie = headers.cookie ?? '';
  return cookie.split(';').some((part) => part.trim().startsWith(`${SESSION_COOKIE}=`));
}
