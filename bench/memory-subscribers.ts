/**
 * The subscribers reading of `bench:memory`: N graphql-transport-ws connections to a running
 * gateway, each `connection_init` with a development `x-identity` of its own (`mem-<i>`, no
 * roles) and one `subscription { myInterviewEvents { eventId eventType } }` (a stream of its own
 * per user: the costly case), opened from subscriber processes of their own
 * (bench/subscriptions/clients.ts, so that their memory and CPU are not the bench's); the
 * gateway's RSS once `/metrics` `gateway_subscriptions` shows them all (and 2 s more), then
 * again after they all closed and the gateway let them go.
 */
import * as fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { poll } from './lib/wait';
import { metric } from './subscriptions/platform';
import {
  closeAll,
  countAll,
  openAll,
  spawnClients,
  type ClientProcess,
} from './subscriptions/protocol';

/** What `measureSubscribers` read. */
export interface SubscribersReading {
  /** Connections asked for. */
  requested: number;
  /** Acknowledged and subscribed, as the client processes saw it. */
  subscribed: number;
  /** `gateway_subscriptions` when the reading was taken. */
  atGateway: number;
  /** From the first `new WebSocket` to all of them at the gateway, s. */
  openSeconds: number;
  rssWithMb: number;
  rssAfterCloseMb: number;
  problems: string[];
}

/** What `measureSubscribers` opens, where, and how it reads the gateway's RSS. */
export interface SubscribersOptions {
  /** The gateway's `http://host:port`. */
  gatewayUrl: string;
  count: number;
  /** The gateway's RSS now, MB. */
  rssMb: () => number | Promise<number>;
  log: (line: string) => void;
  /** @default 2 */
  clientProcesses?: number;
  /** Handshakes in flight per client process. @default 64 */
  concurrency?: number;
}

/** Soft `ulimit -n` of this process (children inherit it); undefined off Linux. */
export function openFilesLimit(): number | undefined {
  try {
    const line = fs
      .readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
    return soft === undefined || soft === 'unlimited' ? Infinity : Number(soft);
  } catch {
    return undefined;
  }
}

/** Client processes still running, for the bench's clean-up on an error or a signal. */
const running = new Set<ClientProcess>();

/** Stops every client process this module started that still runs. */
export async function stopAllClients(): Promise<void> {
  await Promise.all([...running].map((c) => c.stop()));
  running.clear();
}

/**
 * Opens `count` idle subscribers on the gateway, reads its RSS with them all subscribed, closes
 * them and reads it again once the gateway has let them go. Problems (failed connections,
 * subscribers missing at the gateway or closed by it) are listed in the reading, not thrown.
 */
export async function measureSubscribers(options: SubscribersOptions): Promise<SubscribersReading> {
  const n = options.count;
  const processes = Math.max(1, Math.min(options.clientProcesses ?? 2, n));
  const problems: string[] = [];
  const clients = Array.from({ length: processes }, () => {
    const client = spawnClients();
    running.add(client);
    return client;
  });
  try {
    const started = Date.now();
    const identities = Array.from({ length: n }, (_, i) => ({ userId: `mem-${i}`, roles: [] }));
    const opened = await openAll(clients, identities, {
      url: `${options.gatewayUrl.replace(/^http/, 'ws')}/graphql`,
      query: 'subscription { myInterviewEvents { eventId eventType } }',
      variables: {},
      concurrency: options.concurrency ?? 64,
      eventTag: 'ffffffff',
    });
    const { subscribed, failed } = opened;
    if (failed > 0) {
      problems.push(`${failed} connections failed, first: ${opened.firstFailure ?? '?'}`);
    }
    let atGateway = 0;
    const all = await poll(async () => {
      atGateway = await metric(options.gatewayUrl, 'gateway_subscriptions');
      return atGateway >= subscribed;
    }, 60_000);
    if (!all) problems.push(`gateway_subscriptions reached ${atGateway} of ${subscribed}`);
    const openSeconds = (Date.now() - started) / 1000;
    options.log(
      `  ${subscribed} subscribed (${atGateway} at the gateway) in ${openSeconds.toFixed(1)} s`,
    );
    // Let the last subscriptions' garbage settle, then read.
    await sleep(2_000);
    const rssWithMb = await options.rssMb();
    atGateway = await metric(options.gatewayUrl, 'gateway_subscriptions').catch(() => atGateway);
    const counts = await countAll(clients);
    if (counts.closed > 0 || counts.ended > 0) {
      problems.push(
        `${counts.closed} sockets closed by the gateway, ${counts.ended} subscriptions ended`,
      );
    }

    await closeAll(clients, (client) => running.delete(client));
    let left = -1;
    const dropped = await poll(async () => {
      left = await metric(options.gatewayUrl, 'gateway_subscriptions');
      return left === 0;
    }, 30_000);
    if (!dropped) problems.push(`${left} subscriptions still at the gateway after close`);
    await sleep(1_000);
    const rssAfterCloseMb = await options.rssMb();
    return {
      requested: n,
      subscribed,
      atGateway,
      openSeconds,
      rssWithMb,
      rssAfterCloseMb,
      problems,
    };
  } finally {
    await Promise.all(
      clients.map(async (client) => {
        await client.stop();
        running.delete(client);
      }),
    );
  }
}
