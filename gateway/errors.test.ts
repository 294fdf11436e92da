import { GraphQLError, parse, type GraphQLFormattedError } from 'graphql';
import { createLogger } from '../lib/logger';
import { closeCodeOf, createErrorFormatter, graphQLError, httpGraphQLError } from './errors';
import { QUERY_TOO_DEEP, QueryLimitError } from './limits';

function formatter(production: boolean) {
  const lines: string[] = [];
  const format = createErrorFormatter({
    production,
    logger: createLogger('debug', {}, (line) => lines.push(line)),
  });
  return { format, lines };
}

const fromSubgraph = (code: string | undefined): GraphQLFormattedError => ({
  message: `failure ${code ?? 'without code'}`,
  path: ['interview'],
  extensions: {
    ...(code === undefined ? {} : { code }),
    serviceName: 'interviews',
    stacktrace: ['Error: failure', '    at resolver (/srv/interviews/resolvers.ts:10:5)'],
  },
});

describe('createErrorFormatter', () => {
  it.each([undefined, 'INTERNAL_SERVER_ERROR', 'DOWNSTREAM_SERVICE_ERROR'])(
    'masks an unexpected error (code %s) in production and logs its detail',
    (code) => {
      const { format, lines } = formatter(true);
      const error = new GraphQLError('failure', { originalError: new Error('socket hang up') });
      expect(format(fromSubgraph(code), error)).toEqual({
        message: 'Internal server error',
        path: ['interview'],
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      });
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('socket hang up');
      expect(lines[0]).toContain('interviews');
    },
  );

  it.each(['BAD_USER_INPUT', 'NOT_FOUND', 'FORBIDDEN', 'UNAUTHENTICATED', 'INVALID_TRANSITION'])(
    'passes %s through in production, without stack or service name',
    (code) => {
      const { format, lines } = formatter(true);
      expect(format(fromSubgraph(code), new GraphQLError('x'))).toEqual({
        message: `failure ${code}`,
        path: ['interview'],
        extensions: { code },
      });
      expect(lines).toEqual([]);
    },
  );

  it('keeps messages in development but never a stack trace', () => {
    const { format } = formatter(false);
    expect(format(fromSubgraph('INTERNAL_SERVER_ERROR'), new GraphQLError('x'))).toEqual({
      message: 'failure INTERNAL_SERVER_ERROR',
      path: ['interview'],
      extensions: { code: 'INTERNAL_SERVER_ERROR', serviceName: 'interviews' },
    });
  });

  it('restores the code of a limit error that Apollo Server rewrote', () => {
    const { format } = formatter(true);
    const limit = new QueryLimitError(
      'Query depth 14 exceeds the limit of 12',
      QUERY_TOO_DEEP,
      parse('{ a }'),
    );
    const wrapped = new GraphQLError(limit.message, {
      originalError: limit,
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
    });
    expect(
      format(
        { message: limit.message, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } },
        wrapped,
      ),
    ).toEqual({ message: limit.message, extensions: { code: QUERY_TOO_DEEP } });
  });
});

describe('errors with codes of the registry', () => {
  it('puts the code in extensions, beside the others', () => {
    const error = graphQLError('BAD_CURSOR', 'forged', { field: 'cursor' });
    expect(error.message).toBe('forged');
    expect(error.extensions).toEqual({ field: 'cursor', code: 'BAD_CURSOR' });
  });

  it("adds the registry's HTTP status for Apollo Server to answer with", () => {
    expect(
      httpGraphQLError('UNAUTHENTICATED', 'expired', { reason: 'expired' }).extensions,
    ).toEqual({ reason: 'expired', code: 'UNAUTHENTICATED', http: { status: 401 } });
    expect(httpGraphQLError('SERVICE_UNAVAILABLE', 'no keys').extensions['http']).toEqual({
      status: 503,
    });
  });

  it("gives the registry's close code of the codes that end a connection, none for others", () => {
    expect(closeCodeOf(graphQLError('UNAUTHENTICATED', 'x'))).toBe(4401);
    expect(closeCodeOf(graphQLError('SERVICE_UNAVAILABLE', 'x'))).toBe(1013);
    expect(closeCodeOf(graphQLError('NOT_FOUND', 'x'))).toBeUndefined();
    expect(
      closeCodeOf(new GraphQLError('x', { extensions: { code: 'nonsense' } })),
    ).toBeUndefined();
  });
});
