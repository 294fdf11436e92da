/**
 * Every error code a client of the platform can see, in one registry: what it means, the HTTP
 * status it is sent with, the WebSocket close code where it ends a connection, and whether
 * trying again (unchanged) can help. GraphQL errors carry it in `extensions.code`, the REST
 * routes (`/auth/*`, `/webhooks/*`) as `{ "error": CODE, "message": ... }`, and consumers of
 * Kafka ask {@link isRetriable} whether a failed event is worth another attempt.
 *
 * The README's table of codes is generated from {@link ERROR_CODES} (`npm run docs`) and a unit
 * test fails when it is stale, so a code is added here first, then used.
 */

/** Where a code comes from, for the documentation's grouping. */
export type ErrorKind = 'domain' | 'graphql' | 'gateway' | 'subscription' | 'auth' | 'event';

/** One code of the registry. */
export interface ErrorCodeDefinition {
  kind: ErrorKind;
  /** What happened and what the client can do, in a sentence or two. */
  description: string;
  /** The HTTP status a response with this code has. */
  httpStatus: number;
  /** The WebSocket close code when this error ends a graphql-ws connection. */
  closeCode?: number;
  /** Whether sending the same request (or handling the same event) again can succeed. */
  retriable: boolean;
}

function defineCodes<const T extends Record<string, ErrorCodeDefinition>>(codes: T): T {
  return codes;
}

export const ERROR_CODES = defineCodes({
  // Domain: thrown by the subgraphs' services.
  BAD_USER_INPUT: {
    kind: 'domain',
    description: 'An argument or variable is invalid; `extensions.field` names it when known.',
    httpStatus: 400,
    retriable: false,
  },
  NOT_FOUND: {
    kind: 'domain',
    description: 'The entity does not exist, or the caller may not know that it does.',
    httpStatus: 404,
    retriable: false,
  },
  FORBIDDEN: {
    kind: 'domain',
    description: 'The caller is known but may not do this (another user’s data, an admin action).',
    httpStatus: 403,
    closeCode: 4403,
    retriable: false,
  },
  UNAUTHENTICATED: {
    kind: 'auth',
    description:
      'No, an invalid or an expired credential; `extensions.reason` says which. Sign in or refresh.',
    httpStatus: 401,
    closeCode: 4401,
    retriable: false,
  },
  INVALID_TRANSITION: {
    kind: 'domain',
    description:
      'The entity is not in a state that allows this action (`extensions.from`, `allowedFrom`).',
    httpStatus: 409,
    retriable: false,
  },
  CONFLICT: {
    kind: 'domain',
    description: 'The change conflicts with the current data (e.g. a duplicate).',
    httpStatus: 409,
    retriable: false,
  },
  // GraphQL: the request itself.
  GRAPHQL_PARSE_FAILED: {
    kind: 'graphql',
    description: 'The operation is not valid GraphQL syntax.',
    httpStatus: 400,
    retriable: false,
  },
  GRAPHQL_VALIDATION_FAILED: {
    kind: 'graphql',
    description: 'The operation does not validate against the schema.',
    httpStatus: 400,
    retriable: false,
  },
  QUERY_TOO_DEEP: {
    kind: 'graphql',
    description: 'The operation nests deeper than `MAX_QUERY_DEPTH`.',
    httpStatus: 400,
    retriable: false,
  },
  QUERY_TOO_LARGE: {
    kind: 'graphql',
    description: 'The operation selects more fields than `MAX_QUERY_FIELDS`.',
    httpStatus: 400,
    retriable: false,
  },
  BAD_REQUEST: {
    kind: 'graphql',
    description: 'The request is malformed or asks for something not supported (e.g. `@defer`).',
    httpStatus: 400,
    retriable: false,
  },
  // Gateway: the platform.
  INTERNAL_SERVER_ERROR: {
    kind: 'gateway',
    description: 'Something broke; the detail is in the server’s log, never in the response.',
    httpStatus: 500,
    retriable: true,
  },
  DOWNSTREAM_SERVICE_ERROR: {
    kind: 'gateway',
    description: 'A subgraph failed or could not be reached.',
    httpStatus: 502,
    retriable: true,
  },
  SERVICE_UNAVAILABLE: {
    kind: 'gateway',
    description:
      'Not ready yet, or a dependency (the IdP’s keys, the subscription feeds) is unavailable.',
    httpStatus: 503,
    closeCode: 1013,
    retriable: true,
  },
  PAYLOAD_TOO_LARGE: {
    kind: 'gateway',
    description: 'The request body is larger than the route accepts.',
    httpStatus: 413,
    retriable: false,
  },
  METHOD_NOT_ALLOWED: {
    kind: 'gateway',
    description: 'The route does not take this HTTP method; `Allow` lists those it takes.',
    httpStatus: 405,
    retriable: false,
  },
  RATE_LIMITED: {
    kind: 'gateway',
    description:
      'Over a rate limit (sign-in, webhook, `subscribe` messages); `Retry-After` says when to retry.',
    httpStatus: 429,
    closeCode: 4429,
    retriable: true,
  },
  GATEWAY_STOPPING: {
    kind: 'gateway',
    description:
      'The gateway is stopping (a restart or a deploy): reconnect, elsewhere, and resume.',
    httpStatus: 503,
    closeCode: 1012,
    retriable: true,
  },
  // Live subscriptions.
  SUBSCRIPTIONS_NOT_AVAILABLE: {
    kind: 'subscription',
    description: 'This gateway runs without Kafka, so it has no live subscriptions.',
    httpStatus: 501,
    retriable: false,
  },
  BAD_CURSOR: {
    kind: 'subscription',
    description: 'The resume cursor is malformed or its signature does not match.',
    httpStatus: 400,
    retriable: false,
  },
  CURSOR_EXPIRED: {
    kind: 'subscription',
    description:
      'The cursor points before what the topic still keeps; subscribe without it to go on live.',
    httpStatus: 410,
    retriable: false,
  },
  // Sign-in routes and the IdP's webhook.
  NO_SESSION: {
    kind: 'auth',
    description: 'No session, or it expired or was ended; sign in again.',
    httpStatus: 401,
    retriable: false,
  },
  ACCOUNT_SUSPENDED: {
    kind: 'auth',
    description:
      'The account is suspended while its erasure runs, or erased: signing in is refused (the saga restores the account if it fails).',
    httpStatus: 403,
    retriable: false,
  },
  NO_REFRESH_TOKEN: {
    kind: 'auth',
    description: 'The session has no refresh token; sign in again.',
    httpStatus: 401,
    retriable: false,
  },
  REFRESH_REJECTED: {
    kind: 'auth',
    description: 'The IdP refused the refresh token; the session is ended, sign in again.',
    httpStatus: 401,
    retriable: false,
  },
  BAD_CALLBACK: {
    kind: 'auth',
    description:
      'The sign-in callback is not one this gateway started (unknown, expired or reused state, no code); start again at `/auth/login`.',
    httpStatus: 400,
    retriable: false,
  },
  IDP_REFUSED: {
    kind: 'auth',
    description:
      'The identity provider refused the sign-in or refresh, or what it sent does not validate (nonce, ID token, no email); the message says which.',
    httpStatus: 401,
    retriable: false,
  },
  IDP_UNAVAILABLE: {
    kind: 'auth',
    description:
      'The identity provider could not be reached or answered nonsense; try again shortly.',
    httpStatus: 502,
    retriable: true,
  },
  WEBHOOK_NOT_CONFIGURED: {
    kind: 'auth',
    description: 'The gateway has no `AUTHENTIK_WEBHOOK_SECRET`, so its webhook is off.',
    httpStatus: 503,
    retriable: false,
  },
  BAD_WEBHOOK_TIMESTAMP: {
    kind: 'auth',
    description: 'The webhook’s timestamp header is missing, not unix seconds, or too far off.',
    httpStatus: 401,
    retriable: false,
  },
  BAD_WEBHOOK_SIGNATURE: {
    kind: 'auth',
    description: 'The webhook’s signature is missing or does not match its body.',
    httpStatus: 401,
    retriable: false,
  },
  WEBHOOK_REPLAYED: {
    kind: 'auth',
    description: 'This webhook delivery (its signature) was already received.',
    httpStatus: 401,
    retriable: false,
  },
  INVALID_BODY: {
    kind: 'auth',
    description: 'The request body is not JSON or not of the expected shape; the message says how.',
    httpStatus: 400,
    retriable: false,
  },
  // Events.
  INVALID_EVENT: {
    kind: 'event',
    description:
      'An event does not match its envelope or its type’s payload schema; it is dead-lettered at once.',
    httpStatus: 400,
    retriable: false,
  },
});

/** A code of the registry. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Every code with its definition, in the registry's order (for documentation and checks). */
export function listErrorCodes(): [ErrorCode, ErrorCodeDefinition][] {
  return Object.entries(ERROR_CODES) as [ErrorCode, ErrorCodeDefinition][];
}

/** Whether `code` is one of the registry's. */
export const isErrorCode = (code: unknown): code is ErrorCode =>
  typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);

/**
 * Whether handling an event (or sending a request) again can succeed after `error`: false for
 * an error that carries a registry code the registry calls non-retriable (a {@link DomainError},
 * an invalid event, a GraphQL error with such an `extensions.code`) or that says so itself
 * (`retriable: false`, as kafkajs's errors do); true for anything else, such as a dropped
 * connection or a timeout.
 */
export function isRetriable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return true;
  const own = (error as { retriable?: unknown }).retriable;
  if (typeof own === 'boolean') return own;
  const code =
    (error as { code?: unknown }).code ??
    (error as { extensions?: { code?: unknown } }).extensions?.code;
  return isErrorCode(code) ? ERROR_CODES[code].retriable : true;
}

/**
 * An error the domain means: its {@link ErrorCode} and message reach the client as they are,
 * with `details` as further extensions.
 */
export class DomainError extends Error {
  override readonly name: string = 'DomainError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }

  /** Whether trying the same again can succeed (from the registry). */
  get retriable(): boolean {
    return ERROR_CODES[this.code].retriable;
  }
}

/** `NOT_FOUND`: `entity` `id` does not exist. */
export class NotFoundError extends DomainError {
  constructor(entity: string, id: string) {
    super('NOT_FOUND', `${entity} ${id} does not exist`, { entity, id });
  }
}

/** `FORBIDDEN`, with a message saying what the caller may not do. */
export class ForbiddenError extends DomainError {
  constructor(message: string) {
    super('FORBIDDEN', message);
  }
}

/** `UNAUTHENTICATED`: the operation needs a signed-in caller. */
export class UnauthenticatedError extends DomainError {
  constructor(message = 'Sign in first: this operation needs an authenticated user') {
    super('UNAUTHENTICATED', message);
  }
}

/** `BAD_USER_INPUT`; `field` is the argument path, e.g. `input.questions`. */
export class InvalidInputError extends DomainError {
  constructor(field: string, message: string) {
    super('BAD_USER_INPUT', `${field}: ${message}`, { field });
  }
}

/** `INVALID_TRANSITION`: `action` is not allowed while `entity` `id` is `from`. */
export class InvalidTransitionError extends DomainError {
  constructor(entity: string, id: string, from: string, action: string, allowedFrom: string[]) {
    super(
      'INVALID_TRANSITION',
      `Cannot ${action} ${entity} ${id}: it is ${from}; ${action} is allowed from ${allowedFrom.join(' or ')}`,
      { from, action, allowedFrom },
    );
  }
}
