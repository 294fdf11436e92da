/**
 * Child processes of the gateway benchmark (bench/lib/ipc.ts): the messages they and the parent
 * send, and a child's side of the channel. A child exits when the channel closes, so a
 * benchmark that dies leaves nothing behind.
 */
import { ask, spawnIpc, type IpcProcess } from '../lib/ipc';
import { ownUsage } from '../lib/usage';

/** Messages a child sends. */
export type ChildMessage =
  | { type: 'listening'; url: string }
  /** The platform's subgraphs (bench/platform/subgraphs.ts): GraphQL URL by subgraph name. */
  | { type: 'subgraphs'; urls: Record<string, string> }
  | { type: 'stats'; rssBytes: number; cpuMicros: number }
  | { type: 'result'; result: LoadResult }
  | { type: 'error'; message: string };

/** Messages the parent sends. */
export type ParentMessage = { type: 'stats' };

/** What the load generator (load.ts) measured in its window. */
export interface LoadResult {
  /** Responses completed inside the measured window. */
  requests: number;
  seconds: number;
  /** Latencies of those responses, milliseconds. */
  p50: number;
  p99: number;
  max: number;
  /** Non-200 answers and failed requests (connection errors, timeouts). */
  errors: number;
  /** 200 answers whose body differs from the expected response. */
  mismatches: number;
  /** One example of a wrong or failed answer, shortened. */
  firstProblem?: string;
}

/** A child of the gateway benchmark (gateway, subgraphs, load generator). */
export type Child = IpcProcess<ChildMessage, ParentMessage>;

/** Starts `file` with `args` (and Node's `nodeArgs`) as a child of the gateway benchmark. */
export function spawnChild(file: string, args: string[], nodeArgs: string[] = []): Child {
  return spawnIpc<ChildMessage, ParentMessage>(file, args, { nodeArgs, name: file });
}

/** The child's RSS and CPU time, as it answers a `stats` message. */
export function childStats(child: Child): Promise<Extract<ChildMessage, { type: 'stats' }>> {
  return ask(child, { type: 'stats' }, 'stats', 10_000);
}

/** In a child: send a message to the parent; resolves once sent (at once without a channel). */
export function toParent(message: ChildMessage): Promise<void> {
  return new Promise((resolveSent) => {
    if (!process.send || !process.connected) return resolveSent();
    process.send(message, undefined, {}, () => resolveSent());
  });
}

/**
 * In a child: answer `stats` requests with RSS and CPU time, and run `stop` then exit when the
 * parent disconnects or sends SIGTERM/SIGINT.
 */
export function serveParent(stop: () => Promise<void>): void {
  process.on('message', (message: ParentMessage) => {
    if (message.type !== 'stats') return;
    void toParent({ type: 'stats', ...ownUsage() });
  });
  let stopping = false;
  const exit = () => {
    if (stopping) return;
    stopping = true;
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('disconnect', exit);
  process.on('SIGTERM', exit);
  process.on('SIGINT', exit);
}
