/**
 * Domain errors with codes. Services throw these; clients see `extensions.code` and the
 * message. Anything else that escapes a resolver is a bug: it is logged with its stack and the
 * client sees only `INTERNAL_SERVER_ERROR`.
 */
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Logger } from '../../lib/logger';

export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'FORBIDDEN'
  | 'UNAUTHENTICATED'
  | 'INVALID_TRANSITION'
  | 'CONFLICT';

export class DomainError extends Error {
  override readonly name: string = 'DomainError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export class NotFoundError extends DomainError {
  constructor(entity: string, id: string) {
    super('NOT_FOUND', `${entity} ${id} does not exist`, { entity, id });
  }
}

export class ForbiddenError extends DomainError {
  constructor(message: string) {
    super('FORBIDDEN', message);
  }
}

export class UnauthenticatedError extends DomainError {
  constructor(message = 'Sign in first: this operation needs an authenticated user') {
    super('UNAUTHENTICATED', message);
  }
}

/** Invalid input; `field` is the argument path, e.g. `input.questions`. */
export class InvalidInputError extends DomainError {
  constructor(field: string, message: string) {
    super('BAD_USER_INPUT', `${field}: ${message}`, { field });
  }
}

export class InvalidTransitionError extends DomainError {
  constructor(entity: string, id: string, from: string, action: string, allowedFrom: string[]) {
    super(
      'INVALID_TRANSITION',
      `Cannot ${action} ${entity} ${id}: it is ${from}; ${action} is allowed from ${allowedFrom.join(' or ')}`,
      { from, action, allowedFrom },
    );
  }
}

/**
 * Apollo Server `formatError` for subgraphs: domain errors keep message and code; unexpected
 * errors are logged and masked. Stack traces never leave the process.
 */
export function formatSubgraphError(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = error instanceof GraphQLError ? error.originalError : error;
    if (original instanceof DomainError) {
      return {
        ...formatted,
        message: original.message,
        extensions: { code: original.code, ...original.details },
      };
    }
    const code = formatted.extensions?.code;
    if (
      original === undefined ||
      original === error ||
      (typeof code === 'string' && code !== 'INTERNAL_SERVER_ERROR')
    ) {
      // GraphQL's own errors (validation, bad variables) are safe and useful as they are.
      const { stacktrace: _stack, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions };
    }
    logger.error('unexpected error in resolver', { error: original, path: formatted.path });
    return {
      message: 'Internal server error',
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    };
  };
}
