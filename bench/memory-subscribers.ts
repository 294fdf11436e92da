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
import { spawnClients, type ClientProcess } from './subscriptions/protocol';

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

/** `gateway_subscriptions` from the gateway's `/metrics`. */
async function gatewaySubscriptions(gatewayUrl: string): Promise<number> {
  const text = await (await fetch(new URL('/metrics', gatewayUrl))).text();
  const line = text.split('\n').find((l) => /^gateway_subscriptions[ {]/.test(l));
  if (line === undefined) throw new Error(`no gateway_subscriptions at ${gatewayUrl}/metrics`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function poll(
  condition: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 200,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition().catch(() => false)) return true;
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
}

/** Client processes still running, for the bench's clean-up on an error or a signal. */
const running = new Set<ClientProcess>();

/** Stops every client process this module started that still runs. */
export async function stopAllClients(): Promise<void> {
  await Promise.all([...running].map((c) => c.stop()));
  running.clear();
}

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
    const timeoutMs = 60_000 + n * 20;
    const opened = await Promise.all(
      clients.map((client, p) => {
        const reply = client.next('opened', timeoutMs);
        const identities = [];
        for (let i = p; i < n; i += processes) identities.push({ userId: `mem-${i}`, roles: [] });
        client.send({
          type: 'open',
          url: `${options.gatewayUrl.replace(/^http/, 'ws')}/graphql`,
          query: 'subscription { myInterviewEvents { eventId eventType } }',
          variables: {},
          identities,
          concurrency: options.concurrency ?? 64,
          eventTag: 'ffffffff',
        });
        return reply;
      }),
    );
    const subscribed = opened.reduce((sum, o) => sum + o.subscribed, 0);
    const failed = opened.reduce((sum, o) => sum + o.failed, 0);
    if (failed > 0) {
      const first = opened.find((o) => o.firstFailure !== undefined)?.firstFailure ?? '?';
      problems.push(`${failed} connections failed, first: ${first}`);
    }
    let atGateway = 0;
    const all = await poll(async () => {
      atGateway = await gatewaySubscriptions(options.gatewayUrl);
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
    atGateway = await gatewaySubscriptions(options.gatewayUrl).catch(() => atGateway);
    const counts = await Promise.all(
      clients.map((client) => {
        const reply = client.next('count', 10_000);
        client.send({ type: 'count' });
        return reply;
      }),
    );
    const closedByServer = counts.reduce((sum, c) => sum + c.closed, 0);
    const ended = counts.reduce((sum, c) => sum + c.ended, 0);
    if (closedByServer > 0 || ended > 0) {
      problems.push(
        `${closedByServer} sockets closed by the gateway, ${ended} subscriptions ended`,
      );
    }

    await Promise.all(
      clients.map(async (client) => {
        const closed = client.next('closed', 30_000);
        client.send({ type: 'close' });
        await closed.catch(() => undefined);
        await client.stop();
        running.delete(client);
      }),
    );
    let left = -1;
    const dropped = await poll(async () => {
      left = await gatewaySubscriptions(options.gatewayUrl);
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
