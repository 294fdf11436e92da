/**
 * How errors leave the gateway: the GraphQL errors it makes ({@link graphQLError}, codes from the
 * registry in contracts/errors.ts) and Apollo Server's `formatError` ({@link createErrorFormatter}).
 *
 * - Never a stack trace, in any environment: `stacktrace` and `exception` extensions are dropped,
 *   including those a subgraph in development mode sent along.
 * - In production, unexpected errors are masked: no code, `INTERNAL_SERVER_ERROR`, or
 *   `DOWNSTREAM_SERVICE_ERROR` (what @apollo/gateway gives a subgraph error that had no code)
 *   become `Internal server error`, and are logged here with their detail. Errors with any other
 *   code (BAD_USER_INPUT, NOT_FOUND, FORBIDDEN, UNAUTHENTICATED, INVALID_TRANSITION, ...) pass
 *   through with their message and code; the `serviceName` the gateway adds is dropped.
 * - The limits' codes (QUERY_TOO_DEEP, QUERY_TOO_LARGE) are restored over the
 *   GRAPHQL_VALIDATION_FAILED that Apollo Server writes on every validation error.
 */
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import {
  ERROR_CODES,
  isErrorCode,
  type ErrorCode,
  type ErrorCodeDefinition,
} from '../contracts/errors';
import type { Logger } from '../lib/logger';
import { QueryLimitError } from './limits';

/** Codes that say "something broke", not "the request was wrong": masked in production. */
const UNEXPECTED_CODES: ReadonlySet<unknown> = new Set<ErrorCode>([
  'INTERNAL_SERVER_ERROR',
  'DOWNSTREAM_SERVICE_ERROR',
]);

/** Extensions that carry implementation detail and never reach a client. */
const NEVER_SENT = new Set(['stacktrace', 'exception']);
/** Extensions that describe our topology; kept in development for debugging. */
const PRODUCTION_HIDDEN = new Set(['serviceName']);

/**
 * A GraphQL error with `code` in `extensions.code` and `extensions` besides: for an error in a
 * result or in a graphql-ws `error` message, where no HTTP status applies.
 */
export function graphQLError(
  code: ErrorCode,
  message: string,
  extensions: Record<string, unknown> = {},
  options: { originalError?: Error } = {},
): GraphQLError {
  return new GraphQLError(message, { ...options, extensions: { ...extensions, code } });
}

/**
 * {@link graphQLError} for an error thrown before execution, where Apollo Server answers the HTTP
 * request with `extensions.http.status` (the registry's status of `code`) and keeps `http` out of
 * the body: the context function's authentication (401, 503).
 */
export function httpGraphQLError(
  code: ErrorCode,
  message: string,
  extensions: Record<string, unknown> = {},
): GraphQLError {
  return graphQLError(code, message, {
    ...extensions,
    http: { status: ERROR_CODES[code].httpStatus },
  });
}

/**
 * The WebSocket close code the registry gives the `extensions.code` of `error`, when that code
 * ends a connection (UNAUTHENTICATED 4401, SERVICE_UNAVAILABLE 1013, ...); undefined otherwise.
 */
export function closeCodeOf(error: GraphQLError): number | undefined {
  const code = error.extensions['code'];
  if (!isErrorCode(code)) return undefined;
  const definition: ErrorCodeDefinition = ERROR_CODES[code];
  return definition.closeCode;
}

/** What {@link createErrorFormatter} needs. */
export interface ErrorFormatterOptions {
  /** Masks unexpected errors and hides `serviceName`. */
  production: boolean;
  logger: Logger;
}

/**
 * Apollo Server's `formatError` for the gateway: drops stack traces, masks unexpected errors in
 * production (logging their detail) and restores the limits' codes; see the module's comment.
 */
export function createErrorFormatter({ production, logger }: ErrorFormatterOptions) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = error instanceof GraphQLError ? error.originalError : undefined;
    const extensions: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(formatted.extensions ?? {})) {
      if (NEVER_SENT.has(key) || (production && PRODUCTION_HIDDEN.has(key))) continue;
      extensions[key] = value;
    }
    if (original instanceof QueryLimitError) extensions.code = original.code;

    const code = extensions.code;
    if (typeof code !== 'string' || UNEXPECTED_CODES.has(code)) {
      logger.error('unexpected error in a GraphQL response', {
        message: formatted.message,
        path: formatted.path,
        code,
        serviceName: formatted.extensions?.serviceName,
        error: original ?? error,
        masked: production,
      });
      if (production) {
        return {
          message: 'Internal server error',
          ...(formatted.path ? { path: formatted.path } : {}),
          extensions: { code: 'INTERNAL_SERVER_ERROR' satisfies ErrorCode },
        };
      }
    }
    return { ...formatted, extensions };
  };
}
