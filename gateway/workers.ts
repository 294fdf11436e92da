/**
 * `GATEWAY_WORKERS=N`: the gateway as N processes on one port, to use more than one core.
 *
 * The primary (this module) only forks and supervises: node:cluster accepts each connection in
 * the primary and hands it to the workers in turn, so a WebSocket stays with the worker that took
 * it. Each worker is a whole gateway (`main.ts`): its own Kafka feed and subscriptions, its own
 * `/metrics` (a scrape sees one worker). What must hold across workers does not live in any of
 * them: sessions are in the database (`SIGN_IN_STORE=database`, the default with workers), and a
 * subscription cursor names a Kafka position, which every worker can resume from.
 *
 * SIGTERM or SIGINT stops every worker the way one gateway stops (its port closed first, sockets
 * closed with 1012, requests in flight finished) and exits once they all have. A worker that dies
 * otherwise is replaced after a second; one that keeps dying (5 times in a minute) stops the
 * gateway with exit code 1, rather than forking forever.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../lib/logger';

/** A worker that does not stop in this time after SIGTERM is killed. */
const STOP_DEADLINE_MS = 30_000;
const RESTART_DELAY_MS = 1_000;
const CRASH_WINDOW_MS = 60_000;
const MAX_CRASHES = 5;

interface ReadyMessage {
  type: 'gateway-ready';
  url: string;
}

/** Called by a worker once its gateway serves: the primary reports when all of them do. */
export function reportReady(url: string): void {
  const message: ReadyMessage = { type: 'gateway-ready', url };
  process.send?.(message);
}

/** Forks `count` gateway workers running this same entry point, and supervises them. */
export function runWorkers(count: number, logger: Logger): void {
  let stopping = false;
  const crashes: number[] = [];
  const ready = new Set<number>();
  let announced = false;

  const fork = (): Worker => {
    const worker = cluster.fork();
    worker.on('message', (message: Partial<ReadyMessage>) => {
      if (message?.type !== 'gateway-ready') return;
      ready.add(worker.id);
      if (!announced && ready.size >= count) {
        announced = true;
        console.log(`Gateway ready at ${message.url} (${count} workers, pid ${process.pid})`);
      }
    });
    return worker;
  };

  cluster.on('exit', (worker, code, signal) => {
    ready.delete(worker.id);
    if (stopping) return;
    const now = Date.now();
    crashes.push(now);
    while (crashes.length > 0 && crashes[0]! < now - CRASH_WINDOW_MS) crashes.shift();
    if (crashes.length >= MAX_CRASHES) {
      logger.error('gateway workers keep exiting; stopping the gateway', {
        exits: crashes.length,
        windowMs: CRASH_WINDOW_MS,
      });
      void stopAll(1);
      return;
    }
    logger.warn('a gateway worker exited; starting another', {
      worker: worker.id,
      code,
      signal,
    });
    setTimeout(() => {
      if (!stopping) fork();
    }, RESTART_DELAY_MS);
  });

  const stopAll = async (exitCode: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w);
    const exits = workers.map(
      (worker) => new Promise<void>((resolve) => worker.once('exit', () => resolve())),
    );
    for (const worker of workers) worker.process.kill('SIGTERM');
    const deadline = setTimeout(() => {
      logger.error('gateway workers did not stop in time; killing them', {
        deadlineMs: STOP_DEADLINE_MS,
      });
      for (const worker of workers) worker.process.kill('SIGKILL');
    }, STOP_DEADLINE_MS);
    await Promise.all(exits);
    clearTimeout(deadline);
    process.exit(exitCode);
  };
  process.on('SIGTERM', () => void stopAll(0));
  process.on('SIGINT', () => void stopAll(0));

  for (let i = 0; i < count; i++) fork();
}
