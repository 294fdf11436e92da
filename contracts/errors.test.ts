import { STATUS_CODES } from 'node:http';
import { GraphQLError } from 'graphql';
import {
  DomainError,
  InvalidInputError,
  listErrorCodes,
  isErrorCode,
  isRetriable,
  NotFoundError,
} from './errors';

describe('the error-code registry', () => {
  it.each(listErrorCodes())('%s has a real HTTP status and close code', (code, d) => {
    expect(code).toMatch(/^[A-Z][A-Z0-9_]+$/);
    expect(STATUS_CODES[d.httpStatus]).toBeDefined();
    if (d.closeCode !== undefined) {
      // 1012/1013 are registered WebSocket codes; 4000-4999 are the application's.
      expect(
        [1012, 1013].includes(d.closeCode) || (d.closeCode >= 4000 && d.closeCode < 5000),
      ).toBe(true);
    }
    expect(d.description.length).toBeGreaterThan(10);
  });

  it('tells its codes from others', () => {
    expect(isErrorCode('NOT_FOUND')).toBe(true);
    expect(isErrorCode('not_found')).toBe(false);
    expect(isErrorCode('toString')).toBe(false);
    expect(isErrorCode(404)).toBe(false);
  });
});

describe('isRetriable', () => {
  it('follows the registry for domain errors and GraphQL errors with a code', () => {
    expect(isRetriable(new InvalidInputError('input.email', 'is taken'))).toBe(false);
    expect(isRetriable(new NotFoundError('Interview', 'i-1'))).toBe(false);
    expect(new DomainError('CONFLICT', 'taken').retriable).toBe(false);
    expect(
      isRetriable(new GraphQLError('down', { extensions: { code: 'SERVICE_UNAVAILABLE' } })),
    ).toBe(true);
    expect(isRetriable(new GraphQLError('bad', { extensions: { code: 'BAD_CURSOR' } }))).toBe(
      false,
    );
    expect(isRetriable(Object.assign(new Error('invalid'), { code: 'INVALID_EVENT' }))).toBe(false);
  });

  it('takes an error’s own retriable flag first (as kafkajs errors carry one)', () => {
    expect(isRetriable(Object.assign(new Error('gone'), { retriable: false }))).toBe(false);
    expect(
      isRetriable(Object.assign(new Error('leader moved'), { retriable: true, code: 'CONFLICT' })),
    ).toBe(true);
  });

  it('calls anything unknown retriable: a timeout, a dropped connection, a non-error', () => {
    expect(isRetriable(new Error('ETIMEDOUT'))).toBe(true);
    expect(isRetriable(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isRetriable('boom')).toBe(true);
    expect(isRetriable(null)).toBe(true);
  });
});
