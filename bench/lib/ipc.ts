/**
 * The benches' child processes: TypeScript files run with `node --import tsx`, talking to the
 * parent over an IPC channel in messages with a `type`. A child is expected to exit when the
 * channel closes, so a bench that dies leaves nothing behind.
 */
import { spawn, type ChildProcess, type Serializable } from 'node:child_process';
import { once } from 'node:events';
import { basename, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const REPO_ROOT = resolve(__dirname, '../..');

/** A child process that sends `In` messages and is sent `Out` ones. */
export interface IpcProcess<In extends { type: string }, Out> {
  readonly process: ChildProcess;
  /**
   * The next message of `type`; rejects on an `{ type: 'error' }` message, if the child exits
   * first, or after `timeoutMs`.
   */
  next<T extends In['type']>(type: T, timeoutMs: number): Promise<Extract<In, { type: T }>>;
  /** Sends if the channel is open; a message the child cannot get any more is dropped. */
  send(message: Out): void;
  /** Closes the IPC channel, then SIGTERM, then SIGKILL, 5 s apart; resolves once it is gone. */
  stop(): Promise<void>;
}

/** Options of `spawnIpc`. */
export interface SpawnIpcOptions {
  /** Node's flags, before `--import tsx` (`--cpu-prof`, say). */
  nodeArgs?: string[];
  /**
   * `advanced` lets typed arrays through the channel as they are (latencies as one Float64Array
   * instead of a million JSON numbers).
   * @default 'json'
   */
  serialization?: 'json' | 'advanced';
  /**
   * Names the child in errors.
   * @default the file's name
   */
  name?: string;
}

/** Starts `file` (absolute, or relative to the repository) with `args`, stdout and stderr inherited. */
export function spawnIpc<In extends { type: string }, Out>(
  file: string,
  args: string[] = [],
  options: SpawnIpcOptions = {},
): IpcProcess<In, Out> {
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), '--import', 'tsx', file, ...args],
    {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: options.serialization ?? 'json',
    },
  );
  const exited = once(child, 'exit');
  const name = options.name ?? basename(file);
  return {
    process: child,
    next: <T extends In['type']>(type: T, timeoutMs: number) =>
      nextMessage<In, T>(child, name, type, timeoutMs),
    send(message) {
      // A child stopping (Ctrl-C, say) may close the channel under a sampler: drop the message
      // instead of letting the error kill the parent; whoever waits on a reply sees the exit.
      if (child.connected) child.send(message as Serializable, () => undefined);
    },
    stop: () => stopChild(child, exited),
  };
}

/**
 * Sends `message` and resolves with the child's next message of type `reply` (listening before
 * sending, so a quick answer is not missed).
 */
export function ask<In extends { type: string }, Out, T extends In['type']>(
  child: IpcProcess<In, Out>,
  message: Out,
  reply: T,
  timeoutMs: number,
): Promise<Extract<In, { type: T }>> {
  const answer = child.next(reply, timeoutMs);
  child.send(message);
  return answer;
}

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
 * Stops a child: closing its IPC channel asks it to stop (see serveParent in
 * gateways-benchmark/processes.ts) without a signal, which Apollo Server's own SIGTERM handler
 * (on by default in the plain gateway) would take too; then SIGTERM, then SIGKILL, 5 s apart.
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
