/**
 * How errors leave the gateway (Apollo Server's `formatError`).
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
import type { Logger } from '../lib/logger';
import { QueryLimitError } from './limits';

export const INTERNAL_SERVER_ERROR = 'INTERNAL_SERVER_ERROR';

/** Codes that say "something broke", not "the request was wrong": masked in production. */
const UNEXPECTED_CODES = new Set([INTERNAL_SERVER_ERROR, 'DOWNSTREAM_SERVICE_ERROR']);

/** Extensions that carry implementation detail and never reach a client. */
const NEVER_SENT = new Set(['stacktrace', 'exception']);
/** Extensions that describe our topology; kept in development for debugging. */
const PRODUCTION_HIDDEN = new Set(['serviceName']);

export interface ErrorFormatterOptions {
  production: boolean;
  logger: Logger;
}

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
          extensions: { code: INTERNAL_SERVER_ERROR },
        };
      }
    }
    return { ...formatted, extensions };
  };
}
