/**
 * Both HTTP transports of subscriptions on a real HTTP server (lib/http-server.ts, wired as the
 * gateway wires them) with a real Apollo Server over a small schema: the framing of SSE and
 * multipart streams, heartbeats, backpressure, the end of a stream for each reason, and the
 * refusals. The live engine is passed in explicitly, so a stub stands in for it here: each
 * `subscribe` gets a real SubscriberQueue the test pushes real PreparedResults into. Kafka and
 * the federated pipeline are covered by http-subscriptions.int.test.ts.
 */
import type { IncomingMessage } from 'node:http';
import { ApolloServer } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { createClient, NetworkError } from 'graphql-sse';
import { Agent, fetch, type RequestInit, type Response } from 'undici';
import type { Identity } from '../../contracts/identity';
import { createGraphQLHttpServer, type GraphQLHttpServer } from '../../lib/http-server';
import { silentLogger } from '../../lib/logger';
import { graphQLError, httpGraphQLError } from '../errors';
import { recordCredentialExpiry } from '../identity';
import type { GatewayContext } from '../subgraph-client';
import type { LiveRequest, LiveSubscriptions } from '../subscriptions/engine';
import { SubscriberQueue, type ResultSink } from '../subscriptions/queue';
import { PreparedResult } from '../subscriptions/result';
import {
  createHttpSubscriptions,
  refuseSubscriptionsOverPlainHttp,
  type HttpSubscriptions,
  type HttpSubscriptionsOptions,
} from '.';
import { readMultipartParts, readServerSentEvents, type StreamItem } from '../../test/http-streams';

const typeDefs = `
  type Query { hello: String! }
  type Mutation { bump: Int! }
  type Subscription { ticks: Int! }
`;

/** A JWT-shaped Bearer token expiring at `exp` (s); `authenticate` below accepts it. */
const tokenExpiringAt = (exp: number) =>
  ['{"alg":"none"}', JSON.stringify({ exp })]
    .map((part) => Buffer.from(part).toString('base64url'))
    .join('.') + '.sig';

/** `Bearer good`, a token from {@link tokenExpiringAt}, or the cookie: u-1; `Bearer bad`: 401. */
async function authenticate(req: IncomingMessage): Promise<Identity | null> {
  const authorization = req.headers.authorization;
  if (authorization === 'Bearer bad') {
    throw httpGraphQLError('UNAUTHENTICATED', 'Access token signature is invalid');
  }
  // A session whose access token expires in a second, as the sign-in's authenticator records it.
  if (req.headers.cookie?.includes('ig_session=expiring')) {
    recordCredentialExpiry(req, Date.now() + 1_000);
  }
  if (authorization?.startsWith('Bearer ') || req.headers.cookie?.includes('ig_session=')) {
    return { userId: 'u-1', roles: [] };
  }
  return null;
}

/** The live engine's `subscribe`, answering with real queues the test feeds. */
class StubLive implements Pick<LiveSubscriptions, 'subscribe'> {
  readonly requests: LiveRequest[] = [];
  readonly queues: SubscriberQueue[] = [];
  refusal: GraphQLError[] | undefined;
  queueLimit = 100;

  async subscribe(request: LiveRequest, _identity: Identity, sink: ResultSink) {
    this.requests.push(request);
    if (this.refusal) return this.refusal;
    const queue = new SubscriberQueue(this.queueLimit, sink);
    this.queues.push(queue);
    return queue;
  }

  /** Pushes result `n` (`{ ticks: n }`, event `e-n`, cursor `c-n`) to every open queue. */
  push(n: number, padding = ''): void {
    const result = new PreparedResult(
      { data: { ticks: n, ...(padding ? { padding } : {}) } },
      `e-${n}`,
    );
    for (const queue of this.queues) queue.push(result, `c-${n}`);
  }

  get openQueues(): SubscriberQueue[] {
    return this.queues.filter((queue) => !queue.isClosed);
  }
}

/** Waits until `condition` holds (at most 3 s). */
async function until(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 3_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('subscriptions over HTTP', () => {
  let apollo: ApolloServer<GatewayContext>;
  let live: StubLive;
  let subscriptions: HttpSubscriptions;
  let http: GraphQLHttpServer;
  let graphqlUrl: string;
  let streamUrl: string;
  /**
   * The test's own connections, destroyed when it ends: undici opens a fresh, unused connection
   * when a streaming fetch is aborted, which an HTTP server's stop waits out (10 s).
   */
  let agent: Agent;
  const aborts: AbortController[] = [];
  const fetchFn = (url: string, init: RequestInit = {}) =>
    fetch(url, { ...init, dispatcher: agent });

  const start = async (options: Partial<HttpSubscriptionsOptions> = {}) => {
    agent = new Agent();
    live = new StubLive();
    subscriptions = createHttpSubscriptions({
      apollo,
      httpContext: async () => ({ subgraphHeaders: {} }),
      authenticate,
      context: async () => ({ subgraphHeaders: {} }),
      live,
      production: false,
      logger: silentLogger,
      keepAliveMs: 40,
      heartbeatMs: 40,
      ...options,
    });
    http = createGraphQLHttpServer<GatewayContext>({
      apollo,
      context: async () => ({ subgraphHeaders: {} }),
      routes: subscriptions.routes,
      beforeGraphQL: subscriptions.beforeGraphQL,
    });
    ({ url: graphqlUrl } = await http.start());
    streamUrl = new URL('/graphql/stream', graphqlUrl).href;
  };

  const stop = async () => {
    for (const abort of aborts.splice(0)) abort.abort();
    await agent.destroy();
    await subscriptions.close();
    await http.stop();
  };

  /** A fetch this test aborts when done. */
  const open = (url: string, init: RequestInit = {}) => {
    const abort = new AbortController();
    aborts.push(abort);
    return fetchFn(url, { ...init, signal: abort.signal });
  };

  const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
    open(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer good', ...headers },
      body: JSON.stringify(body),
    });

  const MULTIPART = 'multipart/mixed;subscriptionSpec="1.0", application/json';
  const TICKS = { query: 'subscription { ticks }' };

  beforeAll(async () => {
    apollo = new ApolloServer<GatewayContext>({
      typeDefs,
      resolvers: { Query: { hello: () => 'world' }, Mutation: { bump: () => 1 } },
      plugins: [refuseSubscriptionsOverPlainHttp],
    });
    await apollo.start();
  });
  afterAll(() => apollo.stop());

  describe('Server-Sent Events', () => {
    beforeEach(() => start());
    afterEach(() => stop());

    it('sends each result as `next` with its cursor as id, comments as keep-alive, `complete` at the end', async () => {
      const response = await post(streamUrl, TICKS, { accept: 'text/event-stream' });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      const items = readServerSentEvents(response.body!);
      const seen: StreamItem[] = [];
      const reading = (async () => {
        for await (const item of items) seen.push(item);
      })();
      await until('the subscription', () => live.openQueues.length === 1);
      live.push(1);
      live.push(2);
      await until(
        'two keep-alive comments after the results',
        () => seen.filter((i) => i.kind === 'comment').length >= 3,
      );
      live.queues[0]!.close();
      await reading;
      const events = seen.filter((item) => item.kind === 'event');
      expect(events).toEqual([
        {
          kind: 'event',
          event: 'next',
          id: 'c-1',
          data: JSON.stringify({
            data: { ticks: 1 },
            extensions: { eventId: 'e-1', cursor: 'c-1' },
          }),
        },
        {
          kind: 'event',
          event: 'next',
          id: 'c-2',
          data: JSON.stringify({
            data: { ticks: 2 },
            extensions: { eventId: 'e-2', cursor: 'c-2' },
          }),
        },
        { kind: 'event', event: 'complete', data: '', id: undefined },
      ]);
    });

    it('is consumed by the graphql-sse client, which ends the subscription when disposed', async () => {
      const client = createClient({
        url: streamUrl,
        headers: { authorization: 'Bearer good' },
        retryAttempts: 0,
        fetchFn,
      });
      const results: unknown[] = [];
      const dispose = client.subscribe(TICKS, {
        next: (result) => results.push(result.data),
        error: () => undefined,
        complete: () => undefined,
      });
      await until('the subscription', () => live.openQueues.length === 1);
      live.push(1);
      live.push(2);
      await until('two results', () => results.length === 2);
      expect(results).toEqual([{ ticks: 1 }, { ticks: 2 }]);
      dispose();
      client.dispose();
      await until('the queue to be returned', () => live.openQueues.length === 0);
    });

    it('takes Last-Event-ID as the cursor to resume from', async () => {
      const search = new URLSearchParams({ query: TICKS.query, extensions: '{"cursor":"old"}' });
      await open(`${streamUrl}?${search}`, {
        headers: {
          accept: 'text/event-stream',
          authorization: 'Bearer good',
          'last-event-id': 'c-7',
        },
      });
      expect(live.requests[0]).toEqual({ query: TICKS.query, extensions: { cursor: 'c-7' } });
    });

    it('answers a query as one `next` and `complete`; a mutation only over POST', async () => {
      const response = await post(streamUrl, { query: '{ hello }' });
      expect(await response.text()).toBe(
        `:\n\nevent: next\ndata: {"data":{"hello":"world"}}\n\nevent: complete\ndata:\n\n`,
      );
      const mutation = await post(streamUrl, { query: 'mutation { bump }' });
      expect(await mutation.text()).toContain('{"data":{"bump":1}}');
      const byGet = await open(`${streamUrl}?query=${encodeURIComponent('mutation { bump }')}`, {
        headers: { authorization: 'Bearer good' },
      });
      expect(byGet.status).toBe(405);
      expect(byGet.headers.get('allow')).toBe('POST');
      const invalid = await post(streamUrl, { query: '{ nope }' });
      expect(invalid.status).toBe(400);
      expect(await invalid.json()).toEqual({
        errors: [
          expect.objectContaining({
            message: expect.stringMatching(/nope/),
            extensions: expect.objectContaining({ code: 'GRAPHQL_VALIDATION_FAILED' }),
          }),
        ],
      });
    });

    it('refuses with JSON and the status of the registry', async () => {
      const refusal = async (response: Response) => ({
        status: response.status,
        code: ((await response.json()) as { errors: { extensions: { code: string } }[] }).errors[0]
          ?.extensions.code,
      });
      expect(await refusal(await post(streamUrl, TICKS, { authorization: '' }))).toEqual({
        status: 401,
        code: 'UNAUTHENTICATED',
      });
      expect(await refusal(await post(streamUrl, TICKS, { authorization: 'Bearer bad' }))).toEqual({
        status: 401,
        code: 'UNAUTHENTICATED',
      });
      const notJson = await open(streamUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer good' },
        body: '{',
      });
      expect(await refusal(notJson)).toEqual({ status: 400, code: 'BAD_REQUEST' });
      const form = await open(streamUrl, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', authorization: 'Bearer good' },
        body: JSON.stringify(TICKS),
      });
      expect(await refusal(form)).toEqual({ status: 400, code: 'BAD_REQUEST' });
      expect(await refusal(await post(streamUrl, { query: 'subscription {' }))).toEqual({
        status: 400,
        code: 'GRAPHQL_PARSE_FAILED',
      });
      expect(await refusal(await open(streamUrl, { method: 'PUT' }))).toEqual({
        status: 405,
        code: 'METHOD_NOT_ALLOWED',
      });
      // A GET with only the cookie is an EventSource's, or a page's on another site.
      const cookieGet = `${streamUrl}?query=${encodeURIComponent(TICKS.query)}`;
      expect(await refusal(await open(cookieGet, { headers: { cookie: 'ig_session=s' } }))).toEqual(
        {
          status: 400,
          code: 'BAD_REQUEST',
        },
      );
      live.refusal = [graphQLError('FORBIDDEN', 'Not your interview')];
      expect(await refusal(await post(streamUrl, TICKS))).toEqual({
        status: 403,
        code: 'FORBIDDEN',
      });
      live.refusal = [graphQLError('BAD_CURSOR', 'The cursor is malformed')];
      expect(await refusal(await post(streamUrl, TICKS, { 'last-event-id': 'x' }))).toEqual({
        status: 400,
        code: 'BAD_CURSOR',
      });
      live.refusal = undefined;
      // An EventSource's GET with the cookie is fine.
      const eventSource = await open(cookieGet, {
        headers: { cookie: 'ig_session=s', accept: 'text/event-stream' },
      });
      expect(eventSource.status).toBe(200);
    });

    it.each([
      [
        'Bearer token',
        () => ({ authorization: `Bearer ${tokenExpiringAt(Math.floor(Date.now() / 1000) + 1)}` }),
      ],
      ['session', () => ({ authorization: '', cookie: 'ig_session=expiring' })],
    ])('ends the stream with UNAUTHENTICATED when the %s expires', async (_, headers) => {
      const response = await post(streamUrl, TICKS, headers());
      expect(response.status).toBe(200);
      // Open until the expiry: a result still arrives.
      await until('the subscription', () => live.openQueues.length === 1);
      live.push(1);
      const text = await response.text();
      expect(text).toContain('id: c-1');
      expect(text).toMatch(
        /event: next\ndata: \{"errors":\[\{"message":"access token expired","extensions":\{"reason":"expired","code":"UNAUTHENTICATED"\}\}\]\}\n\nevent: complete\ndata:\n\n$/,
      );
      expect(live.openQueues).toHaveLength(0);
    });

    it('ends the subscription when the client goes away', async () => {
      const abort = new AbortController();
      const response = await fetchFn(streamUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer good' },
        body: JSON.stringify(TICKS),
        signal: abort.signal,
      });
      expect(response.status).toBe(200);
      await until('the subscription', () => live.openQueues.length === 1);
      abort.abort();
      await until('the queue to be returned', () => live.openQueues.length === 0);
    });

    it('keeps results in the bounded queue while the client does not read, dropping the oldest', async () => {
      live.queueLimit = 5;
      const response = await post(streamUrl, TICKS);
      await until('the subscription', () => live.openQueues.length === 1);
      const queue = live.queues[0]!;
      // 64 KiB a result: the socket buffers fill within a few, then the queue holds 5.
      const padding = 'x'.repeat(64 * 1024);
      for (let n = 1; n <= 200; n++) live.push(n, padding);
      expect(queue.size).toBe(5);
      expect(queue.dropped).toBeGreaterThan(0);
      const ticks: number[] = [];
      let dropped = 0;
      for await (const item of readServerSentEvents(response.body!)) {
        if (item.kind !== 'event') continue;
        const result = JSON.parse(item.data) as {
          data: { ticks: number };
          extensions: { dropped?: number };
        };
        ticks.push(result.data.ticks);
        dropped += result.extensions.dropped ?? 0;
        if (result.data.ticks === 200) break;
      }
      // Every result is either received or counted as dropped, and the newest arrive.
      expect(ticks.length + dropped).toBe(200);
      expect(ticks.slice(-5)).toEqual([196, 197, 198, 199, 200]);
    });
  });

  describe('multipart', () => {
    beforeEach(() => start());
    afterEach(() => stop());

    it('sends each result as a payload part, heartbeats as {}, and the closing delimiter at the end', async () => {
      const response = await post(graphqlUrl, TICKS, { accept: MULTIPART });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe(
        'multipart/mixed;boundary="graphql";subscriptionSpec="1.0"',
      );
      const parts: unknown[] = [];
      const reading = (async () => {
        for await (const part of readMultipartParts(response.body!)) parts.push(part);
      })();
      await until('the subscription', () => live.openQueues.length === 1);
      live.push(1);
      // Read at once (its delimiter came with it), not at the next heartbeat.
      await until('the result', () => parts.some((p) => JSON.stringify(p).includes('ticks')));
      await until('a heartbeat after it', () => JSON.stringify(parts.at(-1)) === '{}');
      live.queues[0]!.close();
      await reading;
      expect(parts[0]).toEqual({});
      expect(parts.filter((part) => JSON.stringify(part) !== '{}')).toEqual([
        { payload: { data: { ticks: 1 }, extensions: { eventId: 'e-1', cursor: 'c-1' } } },
      ]);
    });

    it('writes the bytes of the protocol', async () => {
      const response = await post(graphqlUrl, TICKS, {
        accept: 'multipart/mixed;subscriptionSpec=1.0',
      });
      await until('the subscription', () => live.openQueues.length === 1);
      live.push(1);
      live.queues[0]!.close();
      const part = '\r\n--graphql\r\ncontent-type: application/json; charset=utf-8\r\n\r\n';
      const text = (await response.text()).replaceAll(`${part}{}`, '');
      expect(text).toBe(
        `${part}{"payload":{"data":{"ticks":1},"extensions":{"eventId":"e-1","cursor":"c-1"}}}\r\n--graphql--\r\n`,
      );
    });

    it('hands anything but a subscription to Apollo, the multipart Accept included', async () => {
      const query = await post(graphqlUrl, { query: '{ hello }' }, { accept: MULTIPART });
      expect(query.status).toBe(200);
      expect(await query.json()).toEqual({ data: { hello: 'world' } });
      const plain = await post(graphqlUrl, { query: '{ hello }' });
      expect(await plain.json()).toEqual({ data: { hello: 'world' } });
      // Apollo's CSRF prevention still applies to what is handed on.
      const form = await open(graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', accept: MULTIPART },
        body: JSON.stringify({ query: '{ hello }' }),
      });
      expect(form.status).toBe(400);
    });

    it('refuses a subscription without the multipart Accept with 400, naming the ways that serve it', async () => {
      for (const response of [
        await post(graphqlUrl, TICKS),
        await open(`${graphqlUrl}?query=${encodeURIComponent(TICKS.query)}`, {
          headers: { 'apollo-require-preflight': '1', authorization: 'Bearer good' },
        }),
      ]) {
        expect(response.status).toBe(400);
        const { errors } = (await response.json()) as {
          errors: { message: string; extensions: { code: string } }[];
        };
        expect(errors[0]?.extensions.code).toBe('BAD_REQUEST');
        expect(errors[0]?.message).toMatch(/WebSocket.*\/graphql\/stream.*multipart\/mixed/);
      }
      expect(live.requests).toHaveLength(0);
    });

    it('refuses before the stream: no credentials, the engine, the cookie alone on a GET', async () => {
      const noCredentials = await post(graphqlUrl, TICKS, { accept: MULTIPART, authorization: '' });
      expect(noCredentials.status).toBe(401);
      live.refusal = [graphQLError('FORBIDDEN', 'Not yours')];
      const forbidden = await post(graphqlUrl, TICKS, { accept: MULTIPART });
      expect(forbidden.status).toBe(403);
      live.refusal = undefined;
      const cookieGet = await open(`${graphqlUrl}?query=${encodeURIComponent(TICKS.query)}`, {
        headers: { accept: MULTIPART, cookie: 'ig_session=s' },
      });
      expect(cookieGet.status).toBe(400);
      const get = await open(`${graphqlUrl}?query=${encodeURIComponent(TICKS.query)}`, {
        headers: { accept: MULTIPART, authorization: 'Bearer good' },
      });
      expect(get.status).toBe(200);
    });
  });

  describe('limits and stopping', () => {
    afterEach(() => stop());

    it('refuses subscribe requests over the rate limit of the client address with 429', async () => {
      await start({ subscribeRateLimit: { perSecond: 0.01, burst: 2 } });
      expect((await post(graphqlUrl, TICKS, { accept: MULTIPART })).status).toBe(200);
      expect((await post(streamUrl, TICKS)).status).toBe(200);
      const limited = await post(streamUrl, TICKS);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(
        ((await limited.json()) as { errors: { extensions: { code: string } }[] }).errors[0]
          ?.extensions.code,
      ).toBe('RATE_LIMITED');
    });

    it('answers SUBSCRIPTIONS_NOT_AVAILABLE (501) without live subscriptions', async () => {
      await start({ live: undefined });
      const response = await post(streamUrl, TICKS);
      expect(response.status).toBe(501);
    });

    it('ends every stream when it stops: SSE without complete, multipart with GATEWAY_STOPPING; the server then stops at once', async () => {
      await start();
      const sse = await post(streamUrl, TICKS);
      const multipart = await post(graphqlUrl, TICKS, { accept: MULTIPART });
      await until('both subscriptions', () => live.openQueues.length === 2);
      live.push(1);
      const began = Date.now();
      await subscriptions.close();
      await http.stop();
      expect(Date.now() - began).toBeLessThan(2_000);
      const sseText = await sse.text();
      expect(sseText).toContain('id: c-1');
      expect(sseText).not.toContain('event: complete');
      const parts: unknown[] = [];
      for await (const part of readMultipartParts(multipart.body!)) parts.push(part);
      expect(parts.at(-1)).toEqual({
        payload: null,
        errors: [
          {
            message: 'The gateway is stopping: subscribe again with the last cursor',
            extensions: { code: 'GATEWAY_STOPPING' },
          },
        ],
      });
      const client = createClient({ url: streamUrl, retryAttempts: 0, fetchFn });
      const refused = await new Promise<unknown>((resolve) =>
        client.subscribe(TICKS, {
          next: () => undefined,
          error: resolve,
          complete: () => resolve(undefined),
        }),
      );
      // The port no longer accepts: a network error for the client.
      expect(refused).toBeInstanceOf(NetworkError);
      client.dispose();
    });
  });
});
