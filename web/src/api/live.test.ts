/**
 * live() against a real WebSocket server speaking graphql-transport-ws (a few lines over `ws`,
 * so the test decides when to close and what to replay), with graphql-ws's real client: after a
 * loss it resubscribes with the last cursor, delivers a replayed event once, refreshes on 4401,
 * drops a refused cursor, and stops on a refusal.
 */
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { WebSocket, WebSocketServer } from 'ws';
import { TypedDocumentString } from '../gql/graphql';
import { createLiveClient, type LiveClient } from './live';
import type { LiveStatus } from './live-state';
import type { RefreshOutcome, SessionStore } from './session';

interface SubscribeMessage {
  id: string;
  payload: { query: string; extensions?: { cursor?: string } };
}

interface Subscription {
  socket: WebSocket;
  message: SubscribeMessage;
}

/** A graphql-transport-ws server that acknowledges every connection and records subscribes. */
async function startServer(port = 0) {
  const wss = new WebSocketServer({ port, host: '127.0.0.1' });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  const received: Subscription[] = [];
  const waiting: ((subscription: Subscription) => void)[] = [];
  wss.on('connection', (socket) => {
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string } & Partial<SubscribeMessage>;
      if (message.type === 'connection_init') socket.send('{"type":"connection_ack"}');
      if (message.type === 'ping') socket.send('{"type":"pong"}');
      if (message.type === 'subscribe' && message.id && message.payload) {
        const subscription = { socket, message: { id: message.id, payload: message.payload } };
        const waiter = waiting.shift();
        if (waiter) waiter(subscription);
        else received.push(subscription);
      }
    });
  });
  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/graphql`,
    /** The next subscribe message (already received, or the next to arrive). */
    nextSubscribe(timeoutMs = 5_000): Promise<Subscription> {
      const ready = received.shift();
      if (ready) return Promise.resolve(ready);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no subscribe arrived')), timeoutMs);
        waiting.push((subscription) => {
          clearTimeout(timer);
          resolve(subscription);
        });
      });
    },
    pending: () => received.length,
    next({ socket, message }: Subscription, eventId: string, cursor: string): void {
      const payload = { data: { tick: eventId }, extensions: { eventId, cursor } };
      socket.send(JSON.stringify({ id: message.id, type: 'next', payload }));
    },
    error({ socket, message }: Subscription, code: string): void {
      const payload = [{ message: `refused: ${code}`, extensions: { code } }];
      socket.send(JSON.stringify({ id: message.id, type: 'error', payload }));
    },
    async stop(): Promise<void> {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

type Server = Awaited<ReturnType<typeof startServer>>;

const Ticks = new TypedDocumentString<{ tick: string }, Record<string, never>>(
  'subscription Ticks { tick }',
);

/** Polls `condition` until it holds. */
async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function sessionStub(outcome: RefreshOutcome) {
  const calls = { refresh: 0 };
  const session: SessionStore = {
    getState: () => ({ status: 'loading' }),
    subscribe: () => () => undefined,
    load: async () => undefined,
    refresh: async () => {
      calls.refresh += 1;
      return outcome;
    },
    markSignedOut: () => undefined,
    signOut: async () => undefined,
    stop: () => undefined,
  };
  return { session, calls };
}

describe('live()', () => {
  let server: Server;
  let client: LiveClient | undefined;
  const ids: (string | undefined)[] = [];
  const statuses: LiveStatus[] = [];
  const errors: Error[] = [];
  let gaps = 0;

  const subscribe = (outcome: RefreshOutcome = 'refreshed') => {
    const { session, calls } = sessionStub(outcome);
    client = createLiveClient({
      session,
      url: server.url,
      webSocketImpl: WebSocket,
      baseDelayMs: 10,
      maxDelayMs: 40,
      lazyCloseTimeoutMs: 0,
    });
    const stop = client.live(
      Ticks,
      {},
      {
        onResult: (data, meta) => {
          expect(data.tick).toBe(meta.eventId);
          ids.push(meta.eventId);
        },
        onStatus: (status) => statuses.push(status),
        onError: (error) => errors.push(error),
        onGap: () => (gaps += 1),
      },
    );
    return { stop, calls };
  };

  beforeEach(async () => {
    server = await startServer();
    ids.length = 0;
    statuses.length = 0;
    errors.length = 0;
    gaps = 0;
  });

  afterEach(async () => {
    client?.dispose();
    client = undefined;
    await server.stop();
  });

  it('resumes from the last cursor after the socket closes, delivering each event once', async () => {
    const { stop } = subscribe();
    const first = await server.nextSubscribe();
    expect(first.message.payload.extensions).toBeUndefined();
    await until(() => statuses.includes('live'));
    server.next(first, 'e1', 'c1');
    server.next(first, 'e2', 'c2');
    await until(() => ids.length === 2);

    first.socket.close(1012, 'service restart');
    const second = await server.nextSubscribe();
    expect(second.message.payload.extensions).toEqual({ cursor: 'c2' });
    // The replay overlaps what arrived before the loss.
    server.next(second, 'e2', 'c2');
    server.next(second, 'e3', 'c3');
    await until(() => ids.includes('e3'));

    expect(ids).toEqual(['e1', 'e2', 'e3']);
    expect(statuses).toEqual(['connecting', 'live', 'reconnecting', 'live']);
    stop();
  });

  it('refreshes the session on 4401 before reconnecting with the cursor', async () => {
    const { stop, calls } = subscribe();
    const first = await server.nextSubscribe();
    server.next(first, 'e1', 'c1');
    await until(() => ids.length === 1);

    first.socket.close(4401, 'access token expired');
    const second = await server.nextSubscribe();
    expect(calls.refresh).toBe(1);
    expect(second.message.payload.extensions).toEqual({ cursor: 'c1' });
    stop();
  });

  it('stops when the refresh says the session is gone', async () => {
    const { calls } = subscribe('signed-out');
    const first = await server.nextSubscribe();
    first.socket.close(4401, 'access token expired');
    await until(() => errors.length === 1);
    expect(calls.refresh).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.pending()).toBe(0);
  });

  it('subscribes without a cursor when the gateway refuses it, and reports the gap', async () => {
    const { stop } = subscribe();
    const first = await server.nextSubscribe();
    server.next(first, 'e1', 'c1');
    await until(() => ids.length === 1);
    first.socket.close(1012, 'service restart');

    const second = await server.nextSubscribe();
    expect(second.message.payload.extensions).toEqual({ cursor: 'c1' });
    server.error(second, 'CURSOR_EXPIRED');
    const third = await server.nextSubscribe();
    expect(third.message.payload.extensions).toBeUndefined();
    expect(gaps).toBe(1);
    stop();
  });

  it('reports a refusal and does not retry it', async () => {
    subscribe();
    const first = await server.nextSubscribe();
    server.error(first, 'FORBIDDEN');
    await until(() => errors.length === 1);
    expect(errors[0]?.message).toContain('FORBIDDEN');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.pending()).toBe(0);
  });

  it('keeps trying while the server is down, and resumes once it is back', async () => {
    const { stop } = subscribe();
    const first = await server.nextSubscribe();
    server.next(first, 'e1', 'c1');
    await until(() => ids.length === 1);
    const port = Number(new URL(server.url).port);
    await server.stop();
    await new Promise((resolve) => setTimeout(resolve, 150));
    server = await startServer(port);
    const again = await server.nextSubscribe();
    expect(again.message.payload.extensions).toEqual({ cursor: 'c1' });
    await until(() => statuses.at(-1) === 'live');
    stop();
  });
});
