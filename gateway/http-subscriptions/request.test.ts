/**
 * Reading subscription requests over HTTP (request.ts): the GraphQL request of a GET and of a
 * POST body, the operation's type, the `Accept` headers of both protocols, and the CSRF test.
 */
import { GraphQLError } from 'graphql';
import {
  acceptsEventStream,
  acceptsMultipartSubscription,
  cookieIsOnlyCredential,
  isJsonContentType,
  operationTypeOf,
  requestFromBody,
  requestFromSearch,
} from './request';

const codeOf = (value: unknown) =>
  value instanceof GraphQLError ? value.extensions['code'] : undefined;

describe('requestFromBody', () => {
  it('takes a query with its optional parts, and leaves nulls out', () => {
    expect(
      requestFromBody({
        query: 'subscription { a }',
        variables: { id: '1' },
        operationName: null,
        extensions: { cursor: 'c1.x.y' },
      }),
    ).toEqual({
      query: 'subscription { a }',
      variables: { id: '1' },
      extensions: { cursor: 'c1.x.y' },
    });
  });

  it.each([
    [[], 'a JSON object'],
    [{}, 'has no query'],
    [{ query: '  ' }, 'has no query'],
    [{ query: '{a}', variables: [] }, 'variables must be an object'],
    [{ query: '{a}', extensions: 'x' }, 'extensions must be an object'],
    [{ query: '{a}', operationName: 3 }, 'operationName must be a string'],
  ])('refuses %j with BAD_REQUEST (%s)', (body, message) => {
    const refused = requestFromBody(body);
    expect(codeOf(refused)).toBe('BAD_REQUEST');
    expect((refused as GraphQLError).message).toContain(message);
  });
});

describe('requestFromSearch', () => {
  it('reads query, JSON variables and extensions, and operationName', () => {
    const search = `?${new URLSearchParams({
      query: 'subscription S($id: ID!) { a(id: $id) }',
      variables: '{"id":"7"}',
      operationName: 'S',
      extensions: '{"cursor":"c1.a.b"}',
    })}`;
    expect(requestFromSearch(search)).toEqual({
      query: 'subscription S($id: ID!) { a(id: $id) }',
      variables: { id: '7' },
      operationName: 'S',
      extensions: { cursor: 'c1.a.b' },
    });
  });

  it('refuses variables that are not JSON, and a missing query', () => {
    expect(codeOf(requestFromSearch('?query=%7Ba%7D&variables=%7Bnope'))).toBe('BAD_REQUEST');
    expect(codeOf(requestFromSearch(''))).toBe('BAD_REQUEST');
  });
});

describe('operationTypeOf', () => {
  it('names the operation run, by operationName when there are several', () => {
    expect(operationTypeOf({ query: 'subscription { a }' })).toBe('subscription');
    expect(operationTypeOf({ query: '{ a }' })).toBe('query');
    const both = 'query Q { a } subscription S { a }';
    expect(operationTypeOf({ query: both, operationName: 'S' })).toBe('subscription');
    expect(codeOf(operationTypeOf({ query: both }))).toBe('BAD_REQUEST');
    expect(codeOf(operationTypeOf({ query: both, operationName: 'X' }))).toBe('BAD_REQUEST');
  });

  it('gives a syntax error as GRAPHQL_PARSE_FAILED', () => {
    const error = operationTypeOf({ query: 'subscription {' });
    expect(codeOf(error)).toBe('GRAPHQL_PARSE_FAILED');
    expect((error as GraphQLError).message).toMatch(/Syntax Error/);
  });
});

describe('Accept and content-type', () => {
  it.each([
    'multipart/mixed;subscriptionSpec="1.0", application/json',
    'multipart/mixed;subscriptionSpec=1.0, application/json',
    'multipart/mixed; boundary="graphql"; subscriptionSpec=1.0,application/graphql-response+json,application/json;q=0.9',
    'application/json, Multipart/Mixed ; SubscriptionSpec = "1.0"',
  ])('takes %s as multipart subscriptions', (accept) => {
    expect(acceptsMultipartSubscription(accept)).toBe(true);
  });

  it.each([
    undefined,
    'application/json',
    'multipart/mixed',
    'multipart/mixed; deferSpec=20220824',
    'multipart/mixed;subscriptionSpec="2.0"',
    'multipart/mixed;subscriptionSpec=1.0;q=0',
  ])('does not take %s as multipart subscriptions', (accept) => {
    expect(acceptsMultipartSubscription(accept)).toBe(false);
  });

  it('recognizes text/event-stream and JSON bodies', () => {
    expect(acceptsEventStream('text/event-stream')).toBe(true);
    expect(acceptsEventStream('application/json, text/event-stream;q=0.5')).toBe(true);
    expect(acceptsEventStream('*/*')).toBe(false);
    expect(isJsonContentType('application/json; charset=utf-8')).toBe(true);
    expect(isJsonContentType('text/plain')).toBe(false);
    expect(isJsonContentType(undefined)).toBe(false);
  });
});

describe('cookieIsOnlyCredential', () => {
  it('is true for the session cookie alone, false once a header a page cannot forge is there', () => {
    const cookie = 'theme=dark; ig_session=abc';
    expect(cookieIsOnlyCredential({ headers: { cookie } })).toBe(true);
    expect(cookieIsOnlyCredential({ headers: { cookie: 'theme=dark' } })).toBe(false);
    expect(cookieIsOnlyCredential({ headers: { cookie, authorization: 'Bearer t' } })).toBe(false);
    expect(cookieIsOnlyCredential({ headers: { cookie, 'x-identity': '{}' } })).toBe(false);
    expect(cookieIsOnlyCredential({ headers: {} })).toBe(false);
  });
});
