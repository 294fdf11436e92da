/**
 * The graphql-transport-ws protocol of the gateway's WebSocket (websocket.ts), on a real HTTP
 * server with a real `ws` client and a real Apollo Server over a one-field schema: the refusals
 * and close codes a client relies on. Authentication is the explicit `authenticate` option (a
 * token string here); the federated pipeline and live subscriptions are covered by
 * websocket.int.test.ts and test/e2e/subscriptions*.int.test.ts.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { GraphQLError, buildSchema } from 'graphql';
import WebSocket from 'ws';
import { silentLogger } from '../lib/logger';
import type { Identity } from '../contracts/identity';
import type { GatewayContext } from './subgraph-client';
import {
  attachGraphQLWebSocket,
  frameStart,
  parseClientMessage,
  type GraphQLWebSocket,
} from './websocket';

const typeDefs = 'type Query { hello: String! slow: String! }';
const schema = buildSchema(typeDefs);

/** `Bearer good` is the user u-1; anything else is refused as Apollo's authenticate would. */
async function authenticate(req: IncomingMessage): Promise<Identity | null> {
  if (req.headers['authorization'] === 'Bearer good') return { userId: 'u-1', roles: [] };
  throw new GraphQLError('Access token signature is invalid', {
    extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
  });
}

describe('frameStart', () => {
  // What a WebSocket reader makes of a frame: ws's own Receiver, as the clients use it.
  type Receiver = NodeJS.WritableStream & { on(e: string, f: (...a: unknown[]) => void): void };
  const Receiver = (WebSocket as unknown as { Receiver: new (options: object) => Receiver })
    .Receiver;

  it.each([5, 125, 126, 65_535, 65_536, 70_000])(
    'heads a text frame of %i bytes that a WebSocket reader reads back whole',
    async (length) => {
      const head = Buffer.from('{"id":"7","type":"next","payload":');
      const body = Buffer.alloc(Math.max(0, length - head.length), 'x');
      const frame = Buffer.concat([frameStart(head, head.length + body.length), body]);
      const receiver = new Receiver({ isServer: false, maxPayload: 1 << 20 });
      const message = new Promise<Buffer>((resolve, reject) => {
        receiver.on('message', (data, isBinary) =>
          isBinary ? reject(new Error('binary')) : resolve(data as Buffer),
        );
        receiver.on('error', reject);
      });
      receiver.write(frame);
      const read = await message;
      expect(read.length).toBe(head.length + body.length);
      expect(read.subarray(0, head.length).equals(head)).toBe(true);
    },
  );
});

describe('parseClientMessage', () => {
  it.each([
    ['{', 'not JSON'],
    ['[]', 'an object with a string type'],
    ['{"type":1}', 'an object with a string type'],
    ['{"type":"next","id":"1","payload":{}}', 'a client does not send next'],
    ['{"type":"connection_init","payload":"x"}', 'payload must be an object'],
    ['{"type":"subscribe","id":"","payload":{"query":"{a}"}}', 'id must be a non-empty string'],
    ['{"type":"subscribe","id":"1","payload":{}}', 'payload.query must be a string'],
    ['{"type":"subscribe","id":"1","payload":{"query":"{a}","variables":[]}}', 'variables'],
    ['{"type":"subscribe","id":"1","payload":{"query":"{a}","operationName":3}}', 'operationName'],
    ['{"type":"complete"}', 'id must be a non-empty string'],
  ])('refuses %s, saying what is wrong', (text, reason) => {
    const parsed = parseClientMessage(text);
    expect(parsed).toHaveProperty('invalid');
    expect((parsed as { invalid: string }).invalid).toContain(reason);
  });

  it('accepts the messages of the protocol', () => {
    expect(parseClientMessage('{"type":"connection_init"}')).toEqual({ type: 'connection_init' });
    expect(parseClientMessage('{"type":"ping","payload":{"a":1}}')).toEqual({
      type: 'ping',
      payload: { a: 1 },
    });
    expect(
      parseClientMessage(
        '{"type":"subscribe","id":"7","payload":{"query":"{a}","variables":null,"operationName":"A"}}',
      ),
    ).toEqual({
      type: 'subscribe',
      id: '7',
      payload: { query: '{a}', variables: null, operationName: 'A' },
    });
  });
});

describe('the gateway WebSocket protocol', () => {
  let server: Server;
  let apollo: ApolloServer<GatewayContext>;
  let socket: GraphQLWebSocket;
  let url: string;
  const open: WebSocket[] = [];

  beforeAll(async () => {
    apollo = new ApolloServer<GatewayContext>({
      typeDefs,
      resolvers: {
        Query: {
          hello: () => 'world',
          slow: () => new Promise((resolve) => setTimeout(() => resolve('late'), 200)),
        },
      },
    });
    await apollo.start();
    server = createServer();
    socket = attachGraphQLWebSocket({
      server,
      apollo,
      schema: () => schema,
      authenticate,
      context: async () => ({}) as GatewayContext,
      production: false,
      logger: silentLogger,
      connectionInitWaitMs: 300,
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  });

  afterEach(() => {
    for (const ws of open.splice(0)) ws.terminate();
  });

  afterAll(async () => {
    await socket.close();
    await new Promise((resolve) => server.close(resolve));
    await apollo.stop();
  });

  /** A socket with its messages and how it closed. */
  /** `null`: no subprotocol asked for. */
  async function client(protocol: string | null = 'graphql-transport-ws') {
    const ws = protocol === null ? new WebSocket(url) : new WebSocket(url, protocol);
    open.push(ws);
    const messages: Record<string, unknown>[] = [];
    ws.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString())));
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const next = async (count: number) => {
      const until = Date.now() + 5_000;
      while (messages.length < count && Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return messages.slice(0, count);
    };
    return { ws, messages, closed, next, send: (m: unknown) => ws.send(JSON.stringify(m)) };
  }

  async function acknowledged() {
    const c = await client();
    c.send({ type: 'connection_init', payload: { authorization: 'Bearer good' } });
    expect(await c.next(1)).toEqual([{ type: 'connection_ack' }]);
    return c;
  }

  it('acknowledges, runs a query (next, complete) and answers pings with their payload', async () => {
    const c = await acknowledged();
    c.send({ type: 'ping', payload: { at: 1 } });
    c.send({ id: 'q', type: 'subscribe', payload: { query: '{ hello }' } });
    expect(await c.next(4)).toEqual([
      { type: 'connection_ack' },
      { type: 'pong', payload: { at: 1 } },
      { id: 'q', type: 'next', payload: { data: { hello: 'world' } } },
      { id: 'q', type: 'complete' },
    ]);
  });

  it('answers an invalid operation with an error message and keeps the socket', async () => {
    const c = await acknowledged();
    c.send({ id: 'bad', type: 'subscribe', payload: { query: '{ hello' } });
    const [, error] = await c.next(2);
    expect(error).toMatchObject({
      id: 'bad',
      type: 'error',
      payload: [{ extensions: { code: 'GRAPHQL_PARSE_FAILED' } }],
    });
    c.send({ id: 'ok', type: 'subscribe', payload: { query: '{ hello }' } });
    expect((await c.next(3))[2]).toMatchObject({ id: 'ok', type: 'next' });
  });

  it('sends nothing for an operation the client completed before it finished', async () => {
    const c = await acknowledged();
    c.send({ id: 's', type: 'subscribe', payload: { query: '{ slow }' } });
    c.send({ id: 's', type: 'complete' });
    c.send({ id: 'h', type: 'subscribe', payload: { query: '{ hello }' } });
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(c.messages.filter((m) => m['id'] === 's')).toEqual([]);
    expect(c.messages.filter((m) => m['id'] === 'h')).toHaveLength(2);
  });

  it.each([
    ['a message that is not JSON', 'nope', 4400, 'not JSON'],
    ['a message a client does not send', { type: 'next', id: '1', payload: {} }, 4400, 'next'],
    [
      'subscribe before connection_init',
      { id: '1', type: 'subscribe', payload: { query: '{ hello }' } },
      4401,
      'Unauthorized',
    ],
  ])('closes on %s, with the code and reason', async (_name, message, code, reason) => {
    const c = await client();
    c.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
    const closed = await c.closed;
    expect(closed.code).toBe(code);
    expect(closed.reason).toContain(reason);
  });

  it('closes with 4401 and the reason on credentials that do not verify', async () => {
    const c = await client();
    c.send({ type: 'connection_init', payload: { authorization: 'Bearer forged' } });
    expect(await c.closed).toEqual({ code: 4401, reason: 'Access token signature is invalid' });
  });

  it('closes with 4429 on a second connection_init', async () => {
    const c = await acknowledged();
    c.send({ type: 'connection_init', payload: { authorization: 'Bearer good' } });
    expect((await c.closed).code).toBe(4429);
  });

  it('closes with 4409 on an operation id already in use', async () => {
    const c = await acknowledged();
    c.send({ id: 'x', type: 'subscribe', payload: { query: '{ slow }' } });
    c.send({ id: 'x', type: 'subscribe', payload: { query: '{ slow }' } });
    expect(await c.closed).toEqual({ code: 4409, reason: 'Subscriber for x already exists' });
  });

  it('closes with 4408 without connection_init in time', async () => {
    const c = await client();
    expect(await c.closed).toEqual({ code: 4408, reason: 'Connection initialisation timeout' });
  });

  it('closes with 4406 a socket without the graphql-transport-ws subprotocol', async () => {
    const c = await client(null);
    expect(await c.closed).toEqual({ code: 4406, reason: 'Subprotocol not acceptable' });
  });
});
