/**
 * Child processes of the gateway benchmark: each one a TypeScript file run with `node --import
 * tsx`, talking to the parent over an IPC channel. A child exits when the channel closes, so a
 * benchmark that dies leaves nothing behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

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

export interface Child {
  readonly process: ChildProcess;
  /** The next message of `type`; rejects if the child exits first or after `timeoutMs`. */
  next<T extends ChildMessage['type']>(
    type: T,
    timeoutMs: number,
  ): Promise<Extract<ChildMessage, { type: T }>>;
  /** Sends if the channel is open; a message the child cannot get any more is dropped. */
  send(message: ParentMessage): void;
  /** Closes the IPC channel, then SIGTERM, then SIGKILL, 5 s apart; resolves once it is gone. */
  stop(): Promise<void>;
}

const REPO_ROOT = resolve(__dirname, '../..');

/**
 * The next IPC message of `type` from `child`; rejects on an `error` message, on the child's exit
 * and after `timeoutMs`. `name` names the child in those errors.
 */
export function nextMessage<M extends { type: string }, T extends M['type']>(
  child: ChildProcess,
  name: string,
  type: T,
  timeoutMs: number,
): Promise<Extract<M, { type: T }>> {
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${name}: no '${type}' message within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (message: M) => {
      if (message.type === 'error') {
        cleanup();
        reject(new Error(`${name}: ${(message as { message?: string }).message ?? '?'}`));
      } else if (message.type === type) {
        cleanup();
        resolvePromise(message as Extract<M, { type: T }>);
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`${name} exited (code ${code}) before sending '${type}'`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

/**
 * Stops a child: closing its IPC channel asks it to stop (see serveParent) without a signal,
 * which Apollo Server's own SIGTERM handler (on by default in the plain gateway) would take too;
 * then SIGTERM, then SIGKILL, 5 s apart.
 */
export async function stopChild(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const waitExit = (ms: number) =>
    Promise.race([exited.then(() => true), sleep(ms).then(() => gone())]);
  if (gone()) return;
  if (child.connected) child.disconnect();
  if (await waitExit(5_000)) return;
  child.kill('SIGTERM');
  if (await waitExit(5_000)) return;
  child.kill('SIGKILL');
  await exited;
}

export function spawnChild(file: string, args: string[], nodeArgs: string[] = []): Child {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', file, ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = once(child, 'exit');
  return {
    process: child,
    next: (type, timeoutMs) => nextMessage<ChildMessage, typeof type>(child, file, type, timeoutMs),
    send(message) {
      // A child stopping (Ctrl-C, say) may close the channel under a sampler: drop the message
      // instead of letting the error kill the parent; whoever waits on a reply sees the exit.
      if (child.connected) child.send(message, () => undefined);
    },
    stop: () => stopChild(child, exited),
  };
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
    const cpu = process.cpuUsage();
    void toParent({
      type: 'stats',
      rssBytes: process.memoryUsage.rss(),
      cpuMicros: cpu.user + cpu.system,
    });
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
