/**
 * The gateway against real subgraphs: three small @apollo/subgraph servers started in-process on
 * free ports, composed with @apollo/composition, and gateways (development and production) in
 * front of them. Everything started here is stopped in afterAll.
 */
import { randomBytes } from 'node:crypto';
import { composeServices } from '@apollo/composition';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { GraphQLError, parse, type GraphQLFormattedError } from 'graphql';
import { createGraphQLHttpServer, type GraphQLHttpServer } from '../lib/http-server';
import { createLogger } from '../lib/logger';
import { waitFor } from '../test/helpers';
import {
  INTERNAL_TOKEN_HEADER,
  signInternalToken,
  verifyInternalToken,
} from '../contracts/internal-token';
import { request as httpRequest } from 'node:http';
import WebSocket from 'ws';
import { createGateway, type Gateway } from './gateway';

const STUDIO = 'https://studio.apollographql.com';
const SECRET = randomBytes(48).toString('base64url');
const FEDERATION = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])`;

// These subgraphs do not refuse requests without a token (the real ones do: see
// contracts/internal-token.int.test.ts); `whoCalled` reads the caller from it.
interface SubgraphContext {
  token: string | undefined;
}

const users = {
  typeDefs: `${FEDERATION}
    type Query { me: User, whoCalled: String, boom: String, uncoded: String, notFound: String }
    type User @key(fields: "id") { id: ID!, name: String }`,
  resolvers: {
    Query: {
      me: () => ({ id: '1', name: 'Ada' }),
      whoCalled: async (_: unknown, __: unknown, context: SubgraphContext) =>
        (await verifyInternalToken(SECRET, context.token))?.userId ?? 'anonymous',
      boom: () => {
        throw new Error('database password is hunter2');
      },
      uncoded: () => {
        throw new Error('uncoded: a subgraph error without extensions.code');
      },
      notFound: () => {
        throw new GraphQLError('Interview 42 not found', { extensions: { code: 'NOT_FOUND' } });
      },
    },
    User: { __resolveReference: (ref: { id: string }) => ({ id: ref.id, name: 'Ada' }) },
  },
};

const posts = {
  typeDefs: `${FEDERATION}
    type User @key(fields: "id") { id: ID!, posts: [Post] }
    type Post @key(fields: "id") { id: ID!, title: String, next: Post }`,
  resolvers: {
    User: { posts: (user: { id: string }) => [{ id: `${user.id}-p1`, title: 'Hello' }] },
    Post: { next: (post: { id: string }) => ({ id: `${post.id}+`, title: 'Next' }) },
  },
};

const reviews = {
  typeDefs: `${FEDERATION}
    type Post @key(fields: "id") { id: ID!, stars: Int }`,
  resolvers: { Post: { stars: () => 5 } },
};

type Definition = typeof users | typeof posts | typeof reviews;

async function startSubgraph(definition: Definition, port = 0) {
  const apollo = new ApolloServer<SubgraphContext>({
    schema: buildSubgraphSchema([
      {
        typeDefs: parse(definition.typeDefs),
        resolvers: definition.resolvers as GraphQLResolverMap<SubgraphContext>,
      },
    ]),
    // Development mode, so the subgraph sends stack traces the gateway must drop.
    nodeEnv: 'development',
    stopOnTerminationSignals: false,
    plugins: [ApolloServerPluginInlineTraceDisabled()],
    formatError: (formatted) => {
      // Stands in for a non-Apollo subgraph, which may send errors with no code at all.
      if (!formatted.message.startsWith('uncoded:')) return formatted;
      return { message: formatted.message, ...(formatted.path ? { path: formatted.path } : {}) };
    },
  });
  await apollo.start();
  const http: GraphQLHttpServer = createGraphQLHttpServer<SubgraphContext>({
    apollo,
    context: async (req) => ({ token: req.headers[INTERNAL_TOKEN_HEADER] as string | undefined }),
    port,
  });
  const started = await http.start();
  return {
    ...started,
    stop: async () => {
      await http.stop();
      await apollo.stop();
    },
  };
}

type Started = Awaited<ReturnType<typeof startSubgraph>>;

let subgraphs: Record<'users' | 'posts' | 'reviews', Started>;
let dev: Gateway;
let prod: Gateway;
let devUrl: string;
let prodUrl: string;
let common: Omit<Parameters<typeof createGateway>[0], 'production' | 'logger'>;
const prodLog: string[] = [];

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    json: JSON.parse(text) as { data?: unknown; errors?: GraphQLFormattedError[] },
  };
}

const graphql = (url: string, query: string) => post(url, { query });

beforeAll(async () => {
  subgraphs = {
    users: await startSubgraph(users),
    posts: await startSubgraph(posts),
    reviews: await startSubgraph(reviews),
  };
  const composed = composeServices(
    (['users', 'posts', 'reviews'] as const).map((name) => ({
      name,
      url: subgraphs[name].url,
      typeDefs: parse((name === 'users' ? users : name === 'posts' ? posts : reviews).typeDefs),
    })),
  );
  if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join('\n'));
  common = {
    supergraphSdl: composed.supergraphSdl,
    host: '127.0.0.1',
    port: 0,
    maxDepth: 4,
    maxFields: 12,
    maxBodyBytes: 4096,
    corsOrigins: [STUDIO],
    probes: { intervalMs: 50, maxAgeMs: 300, timeoutMs: 1000 },
    internalTokenSecret: SECRET,
  };
  dev = createGateway({
    ...common,
    production: false,
    logger: createLogger('silent'),
    authenticate: async (req) => {
      const value = req.headers['x-test-identity'];
      return typeof value === 'string' ? { userId: value, roles: [] } : null;
    },
  });
  prod = createGateway({
    ...common,
    production: true,
    logger: createLogger('debug', {}, (line) => prodLog.push(line)),
  });
  devUrl = (await dev.start()).url;
  prodUrl = (await prod.start()).url;
});

afterAll(async () => {
  await dev?.stop();
  await prod?.stop();
  await Promise.all(Object.values(subgraphs ?? {}).map((s) => s.stop()));
});

it('answers a query that spans the three subgraphs', async () => {
  const { status, json } = await graphql(
    devUrl,
    '{ me { id name posts { title stars next { title stars } } } }',
  );
  expect(status).toBe(200);
  expect(json).toEqual({
    data: {
      me: {
        id: '1',
        name: 'Ada',
        posts: [{ title: 'Hello', stars: 5, next: { title: 'Next', stars: 5 } }],
      },
    },
  });
});

it('sends subgraphs a token it signed for the caller, never one the client sent', async () => {
  const withIdentity = await post(devUrl, { query: '{ whoCalled }' }, { 'x-test-identity': 'u1' });
  expect(withIdentity.json).toEqual({ data: { whoCalled: 'u1' } });
  const anonymous = await post(devUrl, { query: '{ whoCalled }' });
  expect(anonymous.json).toEqual({ data: { whoCalled: 'anonymous' } });
  const leaked = await signInternalToken(SECRET, { userId: 'mallory', roles: ['admin'] });
  const sentDirectly = await post(
    prodUrl,
    { query: '{ whoCalled }' },
    { [INTERNAL_TOKEN_HEADER]: leaked },
  );
  expect(sentDirectly.json).toEqual({ data: { whoCalled: 'anonymous' } });
});

describe('metrics', () => {
  it('serves the process metrics in the Prometheus text format, with HELP and TYPE lines', async () => {
    const response = await fetch(new URL('/metrics', devUrl));
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toContain('# HELP gateway_process_resident_memory_bytes');
    expect(text).toContain('# TYPE gateway_process_resident_memory_bytes gauge');
    expect(text).toMatch(/^gateway_process_resident_memory_bytes [1-9]\d*$/m);
  });
});

describe('health and readiness', () => {
  const ready = async (url: string) => {
    const response = await fetch(new URL('/ready', url));
    return {
      status: response.status,
      body: (await response.json()) as { status: string; checks: Record<string, string> },
    };
  };

  it('is live, and ready when the supergraph is loaded and every subgraph answers', async () => {
    const health = await fetch(new URL('/health', devUrl));
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', pid: process.pid });
    expect(await ready(devUrl)).toEqual({
      status: 200,
      body: {
        status: 'ready',
        checks: { supergraph: 'loaded', users: 'ok', posts: 'ok', reviews: 'ok' },
      },
    });
  });

  it('is not ready (503) while a subgraph is down, and ready again once it is back', async () => {
    const { port } = subgraphs.reviews;
    await subgraphs.reviews.stop();
    let report = await ready(devUrl);
    await waitFor('503 from /ready', async () => {
      report = await ready(devUrl);
      return report.status === 503;
    });
    expect(report.body.status).toBe('not ready');
    expect(report.body.checks.reviews).toMatch(/ECONNREFUSED/);
    expect(report.body.checks.users).toBe('ok');

    subgraphs.reviews = await startSubgraph(reviews, port);
    await waitFor('200 from /ready', async () => (await ready(devUrl)).status === 200);
    expect((await graphql(devUrl, '{ me { posts { stars } } }')).json).toEqual({
      data: { me: { posts: [{ stars: 5 }] } },
    });
  });
});

describe('limits', () => {
  it('refuses a query deeper than maxDepth with 400 and QUERY_TOO_DEEP', async () => {
    const { status, json } = await graphql(devUrl, '{ me { posts { next { next { id } } } } }');
    expect(status).toBe(400);
    expect(json.errors).toEqual([
      expect.objectContaining({
        message: 'Query depth 5 exceeds the limit of 4',
        extensions: { code: 'QUERY_TOO_DEEP' },
      }),
    ]);
  });

  it('counts fields after fragment expansion: 400 and QUERY_TOO_LARGE', async () => {
    const query = `{ a: me { ...U } b: me { ...U } c: me { ...U } d: me { ...U } e: me { ...U } }
      fragment U on User { id name }`;
    const { status, json } = await graphql(prodUrl, query);
    expect(status).toBe(400);
    expect(json.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_LARGE');
    expect(json.errors?.[0]?.message).toBe(
      'Query selects 15 fields (fragments expanded), more than the limit of 12',
    );
  });

  it('refuses a body larger than maxBodyBytes with 413', async () => {
    const { status, json } = await post(devUrl, { query: `{ me { id } } # ${'x'.repeat(5000)}` });
    expect(status).toBe(413);
    expect(json.errors?.[0]?.extensions?.code).toBe('PAYLOAD_TOO_LARGE');
  });
});

it('answers invalid GraphQL with 400 and keeps serving', async () => {
  const syntax = await graphql(devUrl, '{ me { id ');
  expect(syntax.status).toBe(400);
  expect(syntax.json.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
  const unknown = await graphql(prodUrl, '{ nope }');
  expect(unknown.status).toBe(400);
  expect(unknown.json.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  const next = await graphql(devUrl, '{ me { id } }');
  expect(next.status).toBe(200);
  expect(next.json).toEqual({ data: { me: { id: '1' } } });
});

describe('CSRF prevention', () => {
  it('refuses a GET and a simple POST that a browser would send without preflight', async () => {
    const get = await fetch(`${devUrl}?query=${encodeURIComponent('{ me { id } }')}`);
    expect(get.status).toBe(400);
    expect(await get.text()).toMatch(/CSRF/);
    const simplePost = await post(devUrl, JSON.stringify({ query: '{ me { id } }' }), {
      'content-type': 'text/plain',
    });
    expect(simplePost.status).toBe(400);
    expect(simplePost.text).toMatch(/CSRF/);
  });

  it('accepts a GET with the apollo-require-preflight header', async () => {
    const get = await fetch(`${devUrl}?query=${encodeURIComponent('{ me { id } }')}`, {
      headers: { 'apollo-require-preflight': 'true' },
    });
    expect(get.status).toBe(200);
    expect(await get.json()).toEqual({ data: { me: { id: '1' } } });
  });
});

describe('errors', () => {
  const hasNoStack = (text: string) => expect(text).not.toMatch(/stacktrace|at .+\(.+:\d+:\d+\)/);

  it('masks unexpected subgraph errors in production and logs them with detail', async () => {
    for (const field of ['boom', 'uncoded']) {
      const { status, text, json } = await graphql(prodUrl, `{ ${field} }`);
      expect(status).toBe(200);
      expect(json.errors).toEqual([
        {
          message: 'Internal server error',
          path: [field],
          extensions: { code: 'INTERNAL_SERVER_ERROR' },
        },
      ]);
      hasNoStack(text);
    }
    expect(prodLog.some((line) => line.includes('database password is hunter2'))).toBe(true);
    expect(prodLog.some((line) => line.includes('uncoded: a subgraph error'))).toBe(true);
  });

  it('passes coded subgraph errors through in production', async () => {
    const { text, json } = await graphql(prodUrl, '{ notFound }');
    expect(json.errors).toEqual([
      expect.objectContaining({
        message: 'Interview 42 not found',
        path: ['notFound'],
        extensions: { code: 'NOT_FOUND' },
      }),
    ]);
    hasNoStack(text);
  });

  it('shows messages in development, never stack traces', async () => {
    const { text, json } = await graphql(devUrl, '{ boom }');
    expect(json.errors?.[0]?.message).toBe('database password is hunter2');
    expect(json.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    hasNoStack(text);
  });
});

describe('CORS', () => {
  it('answers the preflight of Apollo Studio', async () => {
    const response = await fetch(devUrl, {
      method: 'OPTIONS',
      headers: {
        origin: STUDIO,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,apollo-require-preflight',
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(STUDIO);
    expect(response.headers.get('access-control-allow-credentials')).toBe('true');
    expect(response.headers.get('access-control-allow-methods')).toMatch(/POST/);
    const allowed = response.headers.get('access-control-allow-headers') ?? '';
    expect(allowed).toMatch(/\bcontent-type\b/);
    expect(allowed).toMatch(/\bapollo-require-preflight\b/);
    // Apollo Client's multipart subscriptions send a quoted (CORS-unsafe) Accept.
    expect(allowed).toMatch(/\baccept\b/);
    const vary = response.headers.get('vary') ?? '';
    expect(vary).toMatch(/Origin/);
  });

  it('allows the actual request from Studio, and refuses other origins', async () => {
    const actual = await post(devUrl, { query: '{ me { id } }' }, { origin: STUDIO });
    expect(actual.status).toBe(200);
    expect(actual.headers.get('access-control-allow-origin')).toBe(STUDIO);

    const preflight = await fetch(devUrl, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(403);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('developer tools', () => {
  it('serves GraphiQL with its assets in development, and links it from the landing page', async () => {
    const page = await fetch(new URL('/graphiql', devUrl));
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('/graphiql/graphiql.js');
    for (const asset of [
      'react.js',
      'react-dom.js',
      'graphiql.js',
      'graphiql.css',
      'graphql-ws.js',
    ]) {
      const response = await fetch(new URL(`/graphiql/${asset}`, devUrl));
      expect(response.status).toBe(200);
      expect(Number(response.headers.get('content-length'))).toBeGreaterThan(1000);
      await response.arrayBuffer();
    }
    const landing = await fetch(devUrl, { headers: { accept: 'text/html' } });
    expect(landing.status).toBe(200);
    expect(await landing.text()).toContain('href="/graphiql"');
  });

  it('serves neither GraphiQL, a landing page nor introspection in production', async () => {
    expect((await fetch(new URL('/graphiql', prodUrl))).status).toBe(404);
    const introspection = await graphql(prodUrl, '{ __schema { queryType { name } } }');
    expect(introspection.status).toBe(400);
    const devIntrospection = await graphql(devUrl, '{ __schema { queryType { name } } }');
    expect(devIntrospection.json).toEqual({ data: { __schema: { queryType: { name: 'Query' } } } });
  });
});

/** A graphql-transport-ws socket to `url`, acknowledged for `identity`, with what it receives. */
async function acknowledgedSocket(url: string, identity: string) {
  const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
  const messages: { type: string }[] = [];
  socket.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString())));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await new Promise((resolve) => socket.once('open', resolve));
  socket.send(JSON.stringify({ type: 'connection_init', payload: { 'x-identity': identity } }));
  await waitFor('connection_ack', () => messages.some((m) => m.type === 'connection_ack'));
  return { socket, messages, closed };
}

describe('rate limits', () => {
  let limited: Gateway;
  let url: string;
  /** A GET from another loopback address: another client, as the gateway sees it. */
  const from =
    (localAddress: string) =>
    (path: string, headers: Record<string, string> = {}) =>
      new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
        (resolve, reject) => {
          const req = httpRequest(new URL(path, url), { localAddress, headers }, (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => (body += chunk));
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, headers: res.headers, body }),
            );
          });
          req.on('error', reject);
          req.end();
        },
      );

  beforeAll(async () => {
    limited = createGateway({
      ...common,
      production: false,
      logger: createLogger('silent'),
      authenticate: async () => ({ userId: 'flooder', roles: [] }),
      routes: {
        '/auth/login': (_req, res) => {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end('login');
        },
      },
      rateLimits: {
        routes: { perSecond: 0.5, burst: 3 },
        subscribe: { perSecond: 1, burst: 2 },
      },
      trustedProxies: ['127.0.0.3'],
    });
    url = (await limited.start()).url;
  });

  afterAll(async () => {
    await limited?.stop();
  });

  it("answers a flood of /auth/login with 429 and Retry-After, while another client's requests succeed", async () => {
    const flooder = from('127.0.0.1');
    const other = from('127.0.0.2');
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await flooder('/auth/login')).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const refused = await flooder('/auth/login');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(refused.body)).toEqual({
      error: 'RATE_LIMITED',
      message: expect.stringMatching(
        /^Too many requests from 127\.0\.0\.1 to \/auth\/login: at most 30 a minute \(bursts of 3\); retry after \d+ s$/,
      ),
    });
    const served = await other('/auth/login');
    expect(served.status).toBe(200);
    expect(served.body).toBe('login');
    // GraphQL is not limited by the sign-in limit.
    expect(
      (
        await graphql(
          `
            ${url}
          `,
          '{ me { name } }',
        )
      ).status,
    ).toBe(200);
  });

  it('counts the clients behind a trusted proxy by X-Forwarded-For', async () => {
    const proxy = from('127.0.0.3');
    const behind = async (client: string) =>
      (await proxy('/auth/login', { 'x-forwarded-for': client })).status;
    for (let i = 0; i < 3; i++) expect(await behind('198.51.100.7')).toBe(200);
    expect(await behind('198.51.100.7')).toBe(429);
    expect(await behind('198.51.100.8')).toBe(200);
  });

  it('closes a socket that floods subscribe messages with 4429, and says why', async () => {
    const { socket, messages, closed } = await acknowledgedSocket(url, 'flooder');
    for (let i = 1; i <= 5; i++) {
      socket.send(
        JSON.stringify({
          id: String(i),
          type: 'subscribe',
          payload: { query: 'subscription { nothing }' },
        }),
      );
    }
    expect(await closed).toEqual({
      code: 4429,
      reason: 'Too many subscribe requests: at most 1 a second (bursts of 2)',
    });
    // The first two were taken (and answered: this gateway has no live subscriptions).
    await waitFor(
      'the answers to the two',
      () => messages.filter((m) => m.type === 'error').length >= 2,
    );
  });
});

describe('graceful stop', () => {
  it('finishes the requests in flight, closes sockets with 1012 (service restart), then refuses new connections', async () => {
    const gateway = createGateway({
      ...common,
      production: false,
      logger: createLogger('silent'),
      authenticate: async () => ({ userId: 'leaving', roles: [] }),
      routes: {
        '/auth/slow': (_req, res) => {
          setTimeout(() => {
            res.writeHead(200, { 'content-type': 'text/plain' });
            res.end('finished');
          }, 300);
        },
      },
    });
    const { url } = await gateway.start();
    const { closed } = await acknowledgedSocket(url, 'leaving');

    const inFlight = fetch(new URL('/auth/slow', url));
    await new Promise((resolve) => setTimeout(resolve, 50)); // the request has arrived
    const stopped = gateway.stop();
    expect(await closed).toEqual({ code: 1012, reason: 'Service restart' });
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('finished');
    await stopped;
    await expect(fetch(new URL('/health', url))).rejects.toThrow();
  });
});
