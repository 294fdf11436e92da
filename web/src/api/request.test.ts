/**
 * request() and the session against a real HTTP server standing in for the gateway: an expired
 * access token is refreshed once and the request retried; a refused refresh signs out; GraphQL
 * errors arrive as a GraphQLRequestError with their code.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { TypedDocumentString } from '../gql/graphql';
import { createRequest, GraphQLRequestError } from './request';
import { createSessionStore, type SessionStore } from './session';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

const Me = new TypedDocumentString<{ me: { id: string } | null }, Record<string, never>>(
  'query Me { me { id } }',
);

const send = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

const EXPIRED = {
  errors: [
    {
      message: 'Access token has expired; POST /auth/refresh',
      extensions: { code: 'UNAUTHENTICATED', reason: 'expired' },
    },
  ],
};

const SESSION = {
  userId: 'u1',
  email: 'ada@example.com',
  roles: [],
  expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
};

describe('request()', () => {
  let server: Server;
  let base: string;
  let handle: Handler;
  const calls: string[] = [];
  let session: SessionStore;

  beforeEach(async () => {
    calls.length = 0;
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += String(chunk)));
      req.on('end', () => {
        calls.push(`${req.method} ${req.url}`);
        handle(req, body, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    session = createSessionStore({
      fetch: (input, init) => fetch(`${base}${String(input)}`, init),
    });
  });

  afterEach(async () => {
    session.stop();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const request = () =>
    createRequest({ session, fetch: (input, init) => fetch(`${base}${String(input)}`, init) });

  it('refreshes an expired token once and retries, silently', async () => {
    let graphqlCalls = 0;
    handle = (req, body, res) => {
      if (req.url === '/graphql') {
        expect(JSON.parse(body)).toEqual({ query: 'query Me { me { id } }', variables: {} });
        graphqlCalls += 1;
        return graphqlCalls === 1
          ? send(res, 401, EXPIRED)
          : send(res, 200, { data: { me: { id: 'u1' } } });
      }
      if (req.url === '/auth/refresh') {
        return send(res, 200, { accessToken: 't', expiresAt: SESSION.expiresAt, expiresIn: 3600 });
      }
      if (req.url === '/auth/session') return send(res, 200, SESSION);
      send(res, 404, {});
    };
    await expect(request()(Me, {})).resolves.toEqual({ me: { id: 'u1' } });
    expect(calls).toEqual([
      'POST /graphql',
      'POST /auth/refresh',
      'GET /auth/session',
      'POST /graphql',
    ]);
    expect(session.getState()).toMatchObject({ status: 'signed-in' });
  });

  it('signs out when the refresh is refused, and throws the original error', async () => {
    handle = (req, _body, res) => {
      if (req.url === '/graphql') return send(res, 401, EXPIRED);
      if (req.url === '/auth/refresh') {
        return send(res, 401, { error: 'REFRESH_REJECTED', message: 'Sign in again' });
      }
      send(res, 404, {});
    };
    const error = await request()(Me, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GraphQLRequestError);
    expect((error as GraphQLRequestError).code).toBe('UNAUTHENTICATED');
    expect(calls).toEqual(['POST /graphql', 'POST /auth/refresh']);
    expect(session.getState()).toEqual({ status: 'signed-out' });
  });

  it('throws GraphQL errors with their message and code, without refreshing', async () => {
    handle = (_req, _body, res) =>
      send(res, 200, {
        data: null,
        errors: [{ message: 'Not yours', extensions: { code: 'FORBIDDEN' } }],
      });
    const error = await request()(Me, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GraphQLRequestError);
    expect((error as GraphQLRequestError).message).toBe('Not yours');
    expect((error as GraphQLRequestError).code).toBe('FORBIDDEN');
    expect(calls).toEqual(['POST /graphql']);
  });

  it('shares one refresh between concurrent callers', async () => {
    handle = (req, _body, res) => {
      if (req.url === '/auth/refresh') {
        setTimeout(() => send(res, 200, { expiresAt: SESSION.expiresAt }), 20);
        return;
      }
      send(res, 200, SESSION);
    };
    const outcomes = await Promise.all([session.refresh(), session.refresh()]);
    expect(outcomes).toEqual(['refreshed', 'refreshed']);
    expect(calls.filter((call) => call === 'POST /auth/refresh')).toHaveLength(1);
  });
});
