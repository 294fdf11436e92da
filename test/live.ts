/**
 * Test helpers for live subscriptions: a graphql-ws client per identity, a recorder of what a
 * subscription received, and waiting until the gateway has registered subscribers (graphql-ws
 * has no "subscribed" acknowledgement, so a test must not publish before that).
 */
import type { GraphQLFormattedError } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { Identity } from '../contracts/identity';
import { waitFor } from './helpers';

export interface Closed {
  code: number;
  reason: string;
}

/** A client of {@link liveClient}, with how its socket went so far. */
export interface LiveConnection {
  client: Client;
  /** Each close of the socket, in order. */
  closes: Closed[];
  /** True once the server acknowledged `connection_init`. */
  isConnected(): boolean;
}

/**
 * A graphql-ws client that connects at once, never retries, and records how it was closed.
 * `upgradeHeaders` go on the upgrade request, as a browser's `Cookie` and `Origin` do.
 * Dispose its `client` when done (or open it through {@link liveClients}).
 */
export function liveClient(
  httpUrl: string,
  connectionParams: Record<string, unknown>,
  upgradeHeaders?: Record<string, string>,
): LiveConnection {
  const closes: Closed[] = [];
  let connected = false;
  const client = createClient({
    url: httpUrl.replace(/^http/, 'ws'),
    webSocketImpl: upgradeHeaders
      ? class extends WebSocket {
          constructor(url: string, protocols: string | string[]) {
            super(url, protocols, { headers: upgradeHeaders });
          }
        }
      : WebSocket,
    lazy: false,
    retryAttempts: 0,
    connectionParams,
    onNonLazyError: () => undefined,
    on: {
      connected: () => {
        connected = true;
      },
      closed: (event) => {
        if (typeof event === 'object' && event !== null && 'code' in event) {
          const reason = 'reason' in event ? String(event.reason) : '';
          closes.push({ code: Number(event.code), reason });
        }
      },
    },
  });
  return { client, closes, isConnected: () => connected };
}

/**
 * `liveClient` for a test file: `connect` opens a client as `liveClient` does and keeps it, and
 * `disposeAll` (in `afterEach` or `afterAll`) disposes every client opened since.
 */
export function liveClients() {
  const open: Client[] = [];
  return {
    connect(
      httpUrl: string,
      connectionParams: Record<string, unknown>,
      upgradeHeaders?: Record<string, string>,
    ): LiveConnection {
      const connection = liveClient(httpUrl, connectionParams, upgradeHeaders);
      open.push(connection.client);
      return connection;
    },
    async disposeAll(): Promise<void> {
      await Promise.all(open.splice(0).map((client) => client.dispose()));
    },
  };
}

/** The development identity in `connection_init` (accepted outside production). */
export const asIdentity = (identity: Identity) => ({ 'x-identity': JSON.stringify(identity) });

export type LiveExtensions = { eventId: string; cursor: string; dropped?: number };
export interface LiveResult<T> {
  data?: T | null | undefined;
  errors?: readonly GraphQLFormattedError[] | undefined;
  extensions?: LiveExtensions | undefined;
  receivedAt: number;
}

export interface Recording<T> {
  results: LiveResult<T>[];
  /** Set when the server ended the operation with `error`. */
  errors?: readonly GraphQLFormattedError[];
  completed: boolean;
  /** Waits for `count` results in all. */
  received(count: number, timeoutMs?: number): Promise<LiveResult<T>[]>;
  /** Waits for the operation to end with an error, and returns it. */
  refused(timeoutMs?: number): Promise<readonly GraphQLFormattedError[]>;
  dispose(): void;
}

/**
 * Subscribes and records every result.
 *
 * `startAt` drops the results before the first one it accepts. A subscriber started just after
 * a mutation may still receive that mutation's event, when the gateway reads it from Kafka after
 * the subscription began (the `interview.created` of an interview created a moment before, say):
 * a test that waits for the next event skips it this way. Events of one aggregate arrive in
 * order, so such an event can only come first.
 */
export function record<T = Record<string, unknown>>(
  client: Client,
  request: {
    query: string;
    variables?: Record<string, unknown>;
    extensions?: Record<string, unknown>;
  },
  startAt?: (result: LiveResult<T>) => boolean,
): Recording<T> {
  let started = startAt === undefined;
  const recording: Recording<T> = {
    results: [],
    completed: false,
    received: async (count, timeoutMs = 20_000) => {
      await waitFor(
        `${count} results (have ${recording.results.length})`,
        () => recording.results.length >= count || recording.errors !== undefined,
        timeoutMs,
      );
      if (recording.errors) {
        throw new Error(`the subscription was refused: ${JSON.stringify(recording.errors)}`);
      }
      return recording.results;
    },
    refused: async (timeoutMs = 20_000) => {
      await waitFor('an error', () => recording.errors !== undefined, timeoutMs);
      return recording.errors ?? [];
    },
    dispose: () => undefined,
  };
  recording.dispose = client.subscribe<T, LiveExtensions>(request, {
    next: (result) => {
      const received = { ...result, receivedAt: Date.now() };
      started ||= startAt!(received);
      if (started) recording.results.push(received);
    },
    error: (error) => {
      recording.errors = Array.isArray(error)
        ? (error as GraphQLFormattedError[])
        : [{ message: error instanceof Error ? error.message : JSON.stringify(error) }];
    },
    complete: () => {
      recording.completed = true;
    },
  });
  return recording;
}

/**
 * `record` for a test file: `subscribe` records as `record` does and keeps the recording, and
 * `disposeAll` (in `afterEach`) ends every subscription started since.
 */
export function recordings() {
  const open: Recording<unknown>[] = [];
  return {
    subscribe<T>(
      client: Client,
      request: Parameters<typeof record>[1],
      startAt?: Parameters<typeof record<T>>[2],
    ): Recording<T> {
      const recording = record<T>(client, request, startAt);
      open.push(recording as Recording<unknown>);
      return recording;
    },
    disposeAll(): void {
      for (const recording of open.splice(0)) recording.dispose();
    },
  };
}

/**
 * A `startAt` for `interviewUpdated` (selecting `status`) and `myInterviewEvents` (selecting
 * `eventType`): skips the creation of an interview created just before subscribing.
 */
export function pastCreation(result: LiveResult<unknown>): boolean {
  const data = result.data as {
    interviewUpdated?: { status?: string };
    myInterviewEvents?: { eventType?: string };
  };
  const status = data?.interviewUpdated?.status;
  const eventType = data?.myInterviewEvents?.eventType;
  if (status === undefined && eventType === undefined) {
    throw new Error(
      `pastCreation needs interviewUpdated.status or myInterviewEvents.eventType: ${JSON.stringify(result)}`,
    );
  }
  return status !== 'DRAFT' && eventType !== 'interview.created';
}

/** Waits until a gateway's `/metrics` shows at least `count` live subscribers. */
export async function subscribersAtLeast(gatewayUrl: string, count: number): Promise<void> {
  await waitFor(`${count} live subscribers at ${gatewayUrl}`, async () => {
    const value = await metric(gatewayUrl, 'gateway_subscriptions');
    return value >= count;
  });
}

/** One value from a gateway's `/metrics` (the first line that starts with `name`). */
export async function metric(gatewayUrl: string, name: string): Promise<number> {
  const response = await fetch(new URL('/metrics', gatewayUrl));
  const text = await response.text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  if (!line) throw new Error(`no metric ${name} in /metrics`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}
