/**
 * The subscriber processes of `bench:subscriptions` (clients.ts) and how the parent talks to
 * them: an IPC channel with Node's `advanced` serialization, so latencies travel as one
 * Float64Array instead of a million JSON numbers. A client process exits when the channel closes,
 * so a benchmark that dies leaves none behind.
 */
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Identity } from '../../contracts/identity';
import { wallClock } from '../lib/clock';
import { ask, spawnIpc, type IpcProcess } from '../lib/ipc';

/** What every subscriber of one client process subscribes to. */
export interface OpenRequest {
  type: 'open';
  /**
   * The gateway's `ws://.../graphql` (`ws`), `http://.../graphql/stream` (`sse`) or
   * `http://.../graphql` (`multipart`).
   */
  url: string;
  /**
   * How each subscriber subscribes: a WebSocket speaking `graphql-transport-ws`, GraphQL over
   * Server-Sent Events, or Apollo's multipart subscriptions (one HTTP request each).
   * @default 'ws'
   */
  transport?: SubscriberTransport;
  /**
   * This process's index among those `openAll` opens (set by it): HTTP subscribers connect from
   * loopback addresses of their own, 127.(1 + process).x.y, distinct over the processes.
   * @default 0
   */
  process?: number;
  query: string;
  variables: Record<string, unknown>;
  /** One connection (and one subscription) per entry, as that identity. */
  identities: Identity[];
  /**
   * Most subscribers being set up at once (`new WebSocket` to `connection_ack`, or request to
   * response).
   */
  concurrency: number;
  /**
   * JSON every `next` payload's `data` must be, byte for byte (the gateway serializes in
   * selection order); unchecked when undefined.
   */
  expectedData?: string;
  /** First 8 hex digits of the event ids of this run (see `eventId`). */
  eventTag: string;
  /**
   * How a result is timed. `seq` (the default): its arrival, against the parent's publish time
   * of the event whose id carries the sequence number (see `eventId`); `timestamp`: arrival
   * minus the result's own `"timestamp":"<ISO-8601>"` (the envelope's, to the millisecond), for
   * events the bench did not publish itself (`eventTag` is then not checked, `collect` returns
   * every result's latency).
   */
  timing?: 'seq' | 'timestamp';
}

/** The transports a subscriber process speaks (clients.ts). */
export type SubscriberTransport = 'ws' | 'sse' | 'multipart';

/** Messages the parent sends. */
export type ToClients =
  | OpenRequest
  | { type: 'count' }
  /** Latencies of the events `from <= seq < to`, against their publish times (by seq). */
  | { type: 'collect'; publishTimes: Float64Array; from: number; to: number }
  | { type: 'close' };

/** A client process's answer to `open`. */
export interface Opened {
  type: 'opened';
  /** Connections acknowledged (`connection_ack`) and subscribed, or HTTP streams started. */
  subscribed: number;
  failed: number;
  firstFailure?: string;
  /** Longest `new WebSocket` to `connection_ack` (HTTP: request to response), ms. */
  slowestHandshakeMs: number;
}

/** A client process's answer to `count`. */
export interface Counted {
  type: 'count';
  /** `next` messages received so far, all subscribers together. */
  received: number;
  /** Sockets (HTTP: streams) closed by the server since they subscribed. */
  closed: number;
  /**
   * `error` or `complete` messages (HTTP: SSE `complete`, a multipart error or closing part): a
   * subscription refused or ended by the server.
   */
  ended: number;
  cpuMicros: number;
}

/** A client process's answer to `collect`. */
export interface Collected {
  type: 'collected';
  /** One per `next` of a measured event, receive time minus publish time, ms. */
  latencies: Float64Array;
  /** `next` messages whose `data` differs from `expectedData` (or that carry `errors`). */
  mismatches: number;
  /** Results the gateway said it dropped (`extensions.dropped`), summed. */
  dropped: number;
  /** Per subscriber, an event at or below one already received (duplicate or out of order). */
  outOfOrder: number;
  /** `next` messages without an event id of this run. */
  unknown: number;
  firstProblem?: string;
}

/** Messages a client process sends. */
export type FromClients =
  Opened | Counted | Collected | { type: 'closed' } | { type: 'error'; message: string };

/**
 * Event ids the clients can read a sequence number from without a lookup: a valid UUID (version
 * 4, RFC 9562 variant) whose last 12 hex digits are `seq` and first 8 the run's tag.
 */
export function eventId(tag: string, seq: number): string {
  return `${tag}-0000-4000-8000-${seq.toString(16).padStart(12, '0')}`;
}

/** A subscriber process (clients.ts). */
export type ClientProcess = IpcProcess<FromClients, ToClients>;

const CLIENTS_FILE = resolve(__dirname, 'clients.ts');

/** Starts a subscriber process; it opens nothing until sent an `open` request. */
export function spawnClients(): ClientProcess {
  return spawnIpc<FromClients, ToClients>(CLIENTS_FILE, [], { serialization: 'advanced' });
}

/** What `openAll` opened, summed over the client processes. */
export interface OpenedAll {
  subscribed: number;
  failed: number;
  firstFailure?: string;
  /** Longest `new WebSocket` to `connection_ack` of any process, ms. */
  slowestHandshakeMs: number;
}

/**
 * Opens one subscriber per identity, the identities dealt round-robin over `clients`, each
 * process subscribing to `request`; resolves once every process has opened its share (within
 * 60 s + 20 ms per subscriber).
 */
export async function openAll(
  clients: ClientProcess[],
  identities: Identity[],
  request: Omit<OpenRequest, 'type' | 'identities'>,
): Promise<OpenedAll> {
  const timeoutMs = 60_000 + identities.length * 20;
  const opened = await Promise.all(
    clients.map((client, i) =>
      ask(
        client,
        {
          ...request,
          type: 'open',
          process: i,
          identities: identities.filter((_, k) => k % clients.length === i),
        },
        'opened',
        timeoutMs,
      ),
    ),
  );
  const firstFailure = opened.find((o) => o.firstFailure !== undefined)?.firstFailure;
  return {
    subscribed: opened.reduce((sum, o) => sum + o.subscribed, 0),
    failed: opened.reduce((sum, o) => sum + o.failed, 0),
    ...(firstFailure === undefined ? {} : { firstFailure }),
    slowestHandshakeMs: Math.max(...opened.map((o) => o.slowestHandshakeMs)),
  };
}

/** Every client process's counts, summed. */
export async function countAll(clients: ClientProcess[]): Promise<Counted> {
  const replies = await Promise.all(
    clients.map((client) => ask(client, { type: 'count' }, 'count', 10_000)),
  );
  const sum = (key: 'received' | 'closed' | 'ended' | 'cpuMicros') =>
    replies.reduce((total, r) => total + r[key], 0);
  return {
    type: 'count',
    received: sum('received'),
    closed: sum('closed'),
    ended: sum('ended'),
    cpuMicros: sum('cpuMicros'),
  };
}

/** Every client process's `collect` answer (latencies of the events `from <= seq < to`). */
export function collectAll(
  clients: ClientProcess[],
  publishTimes: Float64Array,
  from: number,
  to: number,
): Promise<Collected[]> {
  return Promise.all(
    clients.map((client) =>
      ask(client, { type: 'collect', publishTimes, from, to }, 'collected', 60_000),
    ),
  );
}

/**
 * Closes every subscriber of every client process (each within 30 s, a process that does not
 * answer is stopped anyway), then stops the processes; `stopped` is told of each.
 */
export async function closeAll(
  clients: ClientProcess[],
  stopped: (client: ClientProcess) => void = () => undefined,
): Promise<void> {
  await Promise.all(
    clients.map(async (client) => {
      await ask(client, { type: 'close' }, 'closed', 30_000).catch(() => undefined);
      await client.stop();
      stopped(client);
    }),
  );
}

/**
 * Polls `clients` every 100 ms until they have received `expected` results in all; gives up
 * when nothing has arrived for 5 s (`'stalled'`) or `drainMs` have passed since `lastSend`
 * (wall clock; `'drain'`).
 * @returns the results received, all subscribers together, and why it gave up, if it did.
 */
export async function awaitResults(
  clients: ClientProcess[],
  expected: number,
  lastSend: number,
  drainMs: number,
): Promise<{ received: number; gaveUp?: 'stalled' | 'drain' }> {
  let received = 0;
  let lastChange = wallClock();
  for (;;) {
    const now = (await countAll(clients)).received;
    if (now !== received) lastChange = wallClock();
    received = now;
    if (received >= expected) return { received };
    if (wallClock() - lastChange > 5_000) return { received, gaveUp: 'stalled' };
    if (wallClock() - lastSend > drainMs) return { received, gaveUp: 'drain' };
    await sleep(100);
  }
}

// ---------------------------------------------------------------------------------------------
// The baseline servers (baseline-server.ts)

/** The baseline servers: a bare `ws` broadcast, and graphql-ws with KafkaPubSub. */
export type BaselineKind = 'bare-ws' | 'graphql-ws';

/** Messages the parent sends a baseline server. */
export type BaselineFromParent =
  | { type: 'stats' }
  /**
   * bare-ws only: message `seq` (event id `eventIds[seq]`) to every subscribed socket at
   * `first + seq * interval` (wall clock, ms), for `seq < total`.
   */
  | { type: 'broadcast'; eventIds: string[]; first: number; interval: number; total: number };

/** Messages a baseline server sends. */
export type BaselineToParent =
  | { type: 'listening'; url: string }
  | {
      type: 'stats';
      rssBytes: number;
      /** CPU time of the server process (user + system), µs. */
      cpuMicros: number;
      /** Subscriptions the server holds now. */
      subscriptions: number;
      /** Open WebSocket connections. */
      connections: number;
    }
  /** bare-ws: the time just before each message was handed to the sockets, by seq. */
  | { type: 'broadcasted'; sendTimes: Float64Array }
  | { type: 'error'; message: string };

/** A baseline server process (baseline-server.ts). */
export type BaselineProcess = IpcProcess<BaselineToParent, BaselineFromParent>;

const BASELINE_FILE = resolve(__dirname, 'baseline-server.ts');

/** Starts a baseline server (`args` after `--kind`, see baseline-server.ts). */
export function spawnBaseline(kind: BaselineKind, args: string[] = []): BaselineProcess {
  return spawnIpc<BaselineToParent, BaselineFromParent>(BASELINE_FILE, ['--kind', kind, ...args], {
    serialization: 'advanced',
  });
}
