/**
 * The subscriber processes of `bench:subscriptions` (clients.ts) and how the parent talks to
 * them: an IPC channel with Node's `advanced` serialization, so latencies travel as one
 * Float64Array instead of a million JSON numbers. A client process exits when the channel closes,
 * so a benchmark that dies leaves none behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import type { Identity } from '../../contracts/identity';
import { nextMessage, stopChild } from '../gateways-benchmark/processes';

/** What every subscriber of one client process subscribes to. */
export interface OpenRequest {
  type: 'open';
  /** The gateway's `ws://.../graphql`. */
  url: string;
  query: string;
  variables: Record<string, unknown>;
  /** One connection (and one subscription) per entry, as that identity. */
  identities: Identity[];
  /** Most connections between `new WebSocket` and `connection_ack` at once. */
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

/** Messages the parent sends. */
export type ToClients =
  | OpenRequest
  | { type: 'count' }
  /** Latencies of the events `from <= seq < to`, against their publish times (by seq). */
  | { type: 'collect'; publishTimes: Float64Array; from: number; to: number }
  | { type: 'close' };

export interface Opened {
  type: 'opened';
  /** Connections acknowledged (`connection_ack`) and subscribed. */
  subscribed: number;
  failed: number;
  firstFailure?: string;
  /** Longest `new WebSocket` to `connection_ack`, ms. */
  slowestHandshakeMs: number;
}

export interface Counted {
  type: 'count';
  /** `next` messages received so far, all subscribers together. */
  received: number;
  /** Sockets closed by the server since they subscribed. */
  closed: number;
  /** `error` or `complete` messages: a subscription refused or ended by the server. */
  ended: number;
  cpuMicros: number;
}

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

/** Wall-clock time in ms with sub-millisecond resolution, comparable across processes. */
export const wallClock = (): number => performance.timeOrigin + performance.now();

export interface ClientProcess {
  readonly process: ChildProcess;
  /** The next message of `type`; rejects if the process exits first or after `timeoutMs`. */
  next<T extends FromClients['type']>(
    type: T,
    timeoutMs: number,
  ): Promise<Extract<FromClients, { type: T }>>;
  send(message: ToClients): void;
  /** Closes the channel, then SIGTERM, then SIGKILL, 5 s apart; resolves once it is gone. */
  stop(): Promise<void>;
}

const CLIENTS_FILE = resolve(__dirname, 'clients.ts');
const REPO_ROOT = resolve(__dirname, '../..');

export function spawnClients(): ClientProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', CLIENTS_FILE], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  const exited = once(child, 'exit');
  return {
    process: child,
    next: (type, timeoutMs) =>
      nextMessage<FromClients, typeof type>(child, 'clients.ts', type, timeoutMs),
    send(message) {
      if (child.connected) child.send(message, () => undefined);
    },
    stop: () => stopChild(child, exited),
  };
}

// ---------------------------------------------------------------------------------------------
// The baseline servers (baseline-server.ts)

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

export interface BaselineProcess {
  readonly process: ChildProcess;
  next<T extends BaselineToParent['type']>(
    type: T,
    timeoutMs: number,
  ): Promise<Extract<BaselineToParent, { type: T }>>;
  send(message: BaselineFromParent): void;
  stop(): Promise<void>;
}

const BASELINE_FILE = resolve(__dirname, 'baseline-server.ts');

/** Starts a baseline server (`args` after `--kind`, see baseline-server.ts). */
export function spawnBaseline(kind: BaselineKind, args: string[] = []): BaselineProcess {
  return spawnIpc<BaselineToParent, BaselineFromParent>(BASELINE_FILE, ['--kind', kind, ...args]);
}

/**
 * A TypeScript file as a child process with an `advanced`-serialization IPC channel, messages
 * with a `type`, `{ type: 'error' }` rejecting whoever waits.
 */
function spawnIpc<In extends { type: string }, Out>(
  file: string,
  args: string[],
): {
  readonly process: ChildProcess;
  next<T extends In['type']>(type: T, timeoutMs: number): Promise<Extract<In, { type: T }>>;
  send(message: Out): void;
  stop(): Promise<void>;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  const exited = once(child, 'exit');
  const name = file.slice(file.lastIndexOf('/') + 1);
  return {
    process: child,
    next: <T extends In['type']>(type: T, timeoutMs: number) =>
      nextMessage<In, T>(child, name, type, timeoutMs),
    send(message) {
      if (child.connected) child.send(message as object, () => undefined);
    },
    stop: () => stopChild(child, exited),
  };
}
