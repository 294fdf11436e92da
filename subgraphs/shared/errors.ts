/**
 * How errors leave a subgraph. Services throw the domain errors of `contracts/errors.ts`; clients
 * see their `extensions.code` and message. Anything else that escapes a resolver is a bug: it is
 * logged with its stack and the client sees only `INTERNAL_SERVER_ERROR`.
 */
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { DomainError } from '../../contracts/errors';
import type { Logger } from '../../lib/logger';

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
