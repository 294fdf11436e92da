/**
 * Live subscriptions across gateway instances and under failure, with real processes: a second
 * gateway is `gateway/main.ts` in a child process (its own Kafka consumers), a slow client is a
 * raw WebSocket that stops reading, and a subgraph goes down behind a TCP proxy we cut.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import WebSocket from 'ws';
import { SystemEventFactory } from '../../events';
import { createGateway, type Gateway } from '../../gateway/gateway';
import { authenticator } from '../../gateway/identity';
import { withSubgraphUrls } from '../../gateway/supergraph';
import { loadConfig } from '../../config';
import { silentLogger } from '../../lib/logger';
import type { Identity } from '../../contracts/identity';
import { freePort, testAdmin, testUser, waitFor } from '../helpers';
import {
  asIdentity,
  liveClients,
  metric,
  pastCreation,
  recordings,
  subscribersAtLeast,
} from '../live';
import {
  createInterview as create,
  gatewayCaller,
  startTestPlatform,
  type TestPlatform,
} from '../platform';
import { spawnGatewayProcess } from '../processes';
import { TEST_INTERNAL_TOKEN_SECRET } from '../subgraph-helpers';

jest.setTimeout(180_000);

const QUEUE_LIMIT = 200;
/** The stalled-client test's gateway heap: ~80 MB of events pass through it. */
const HEAP_MB = 96;

/** The gateway of this file: bounded queues, and resumes past 100 events read Kafka. */
const spawnGateway = (
  supergraphSdl: string,
  prefix: string,
  dir: string,
  extraEnv: Record<string, string> = {},
) =>
  spawnGatewayProcess(supergraphSdl, prefix, dir, {
    SUBSCRIPTION_QUEUE_LIMIT: String(QUEUE_LIMIT),
    // Resumes beyond the last 100 events read Kafka, so the memory test measures the queues.
    SUBSCRIPTION_RECENT_EVENTS: '100',
    ...extraEnv,
  });

/** A TCP proxy to `target` that can be cut (connections refused) and restored on the same port. */
async function cuttableProxy(target: URL): Promise<{
  url: (pathname: string) => string;
  cut: () => Promise<void>;
  restore: () => Promise<void>;
  close: () => Promise<void>;
}> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const listen = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = new Socket();
        sockets.add(client).add(upstream);
        upstream.connect(Number(target.port), target.hostname);
        client.pipe(upstream).pipe(client);
        const drop = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on('error', drop).on('close', drop);
        upstream.on('error', drop).on('close', drop);
      });
      server.listen(port, '127.0.0.1', () => resolve());
    });
  const cut = async () => {
    const closing = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    await new Promise<void>((resolve) => (closing ? closing.close(() => resolve()) : resolve()));
  };
  await listen();
  return {
    url: (pathname) => `http://127.0.0.1:${port}${pathname}`,
    cut,
    restore: listen,
    close: cut,
  };
}

describe('live subscriptions across instances and failures', () => {
  let platform: TestPlatform;
  let prefix: string;
  let dir: string;
  const stops: (() => Promise<void>)[] = [];
  const clients = liveClients();
  const { subscribe, disposeAll } = recordings();
  const alice = testUser('alice');
  const admin = testAdmin();

  const gql = gatewayCaller(() => platform.gatewayUrl, alice);

  const connect = (who: Identity, url: string) => clients.connect(url, asIdentity(who)).client;

  const createInterview = () =>
    create(gql, { title: 'Live', position: 'Engineer', questions: ['One', 'Two', 'Three'] });

  const act = async (mutation: string, id: string) => {
    const response = await gql(`mutation ($id: ID!) { ${mutation}(id: $id) { status } }`, { id });
    expect(response.errors).toBeUndefined();
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'live-instances-'));
    platform = await startTestPlatform();
    prefix = platform.topicPrefix;
    await platform.register(alice);
  });

  afterEach(() => {
    disposeAll();
  });

  afterAll(async () => {
    await clients.disposeAll();
    for (const stop of stops.reverse()) await stop();
    await platform?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers a mutation made through one gateway to a subscriber of another (a separate process)', async () => {
    const second = await spawnGateway(platform.supergraphSdl, prefix, dir);
    stops.push(second.stop);
    const interview = await createInterview();
    const onSecond = subscribe<{
      interviewUpdated: { status: string; candidate: { email: string } };
    }>(
      connect(alice, second.url),
      {
        query: `subscription ($id: ID!) { interviewUpdated(id: $id) { status candidate { email } } }`,
        variables: { id: interview.id },
      },
      pastCreation,
    );
    const onFirst = subscribe<{ interviewUpdated: { status: string } }>(
      connect(alice, platform.gatewayUrl),
      {
        query: `subscription ($id: ID!) { interviewUpdated(id: $id) { status } }`,
        variables: { id: interview.id },
      },
      pastCreation,
    );
    await subscribersAtLeast(second.url, 1);
    await subscribersAtLeast(platform.gatewayUrl, 1);

    await act('startInterview', interview.id);

    const [remote] = await onSecond.received(1);
    expect(remote!.data).toEqual({
      interviewUpdated: { status: 'IN_PROGRESS', candidate: { email: 'alice@example.com' } },
    });
    const [local] = await onFirst.received(1);
    expect(local!.extensions?.eventId).toBe(remote!.extensions?.eventId);

    // A cursor of one instance resumes on the other: both sign with the deployment's secret.
    await act('pauseInterview', interview.id);
    await onFirst.received(2);
    const resumed = subscribe<{ interviewUpdated: { status: string } }>(
      connect(alice, second.url),
      {
        query: `subscription ($id: ID!) { interviewUpdated(id: $id) { status } }`,
        variables: { id: interview.id },
        extensions: { cursor: local!.extensions!.cursor },
      },
    );
    const [missed] = await resumed.received(1);
    expect(missed!.data).toEqual({ interviewUpdated: { status: 'PAUSED' } });
    expect(missed!.extensions?.eventId).toBe(onFirst.results[1]!.extensions?.eventId);
  });

  it('resumes from Kafka on a gateway started after the missed events', async () => {
    const interview = await createInterview();
    const query = `subscription ($id: ID!) { interviewUpdated(id: $id) { status } }`;
    const watcher = subscribe<{ interviewUpdated: { status: string } }>(
      connect(alice, platform.gatewayUrl),
      { query, variables: { id: interview.id } },
      pastCreation,
    );
    await subscribersAtLeast(platform.gatewayUrl, 1);
    await act('startInterview', interview.id);
    const [seen] = await watcher.received(1);
    await act('pauseInterview', interview.id);
    await act('resumeInterview', interview.id);
    await watcher.received(3);

    const late = await spawnGateway(platform.supergraphSdl, prefix, dir);
    stops.push(late.stop);
    const resumed = subscribe<{ interviewUpdated: { status: string } }>(connect(alice, late.url), {
      query,
      variables: { id: interview.id },
      extensions: { cursor: seen!.extensions!.cursor },
    });
    const missed = await resumed.received(2);
    expect(missed.map((r) => r.extensions?.eventId)).toEqual(
      watcher.results.slice(1, 3).map((r) => r.extensions?.eventId),
    );
    expect(await metric(late.url, 'gateway_subscription_resumes_total{from="kafka"}')).toBe(1);
    await act('completeInterview', interview.id).catch(() => undefined);
  });

  it('drops the oldest results of a client that reads nothing, without slowing the others or growing memory', async () => {
    // A heap far smaller than what goes through: buffering for the stalled client would crash it.
    const gateway = await spawnGateway(platform.supergraphSdl, prefix, dir, {
      NODE_OPTIONS: `--max-old-space-size=${HEAP_MB}`,
      // The stalled client cannot answer pings either; on a busy machine the test outlasts the
      // default keep-alive (cut off after ~24 s), which is not what it measures.
      WS_KEEPALIVE_MS: '300000',
    });
    stops.push(gateway.stop);
    const query = `subscription { systemEvents(types: ["handler.failed"]) { eventId ... on HandlerFailedEvent { error } } }`;

    // The slow client: a raw graphql-transport-ws socket that stops reading once subscribed.
    const slow = new WebSocket(gateway.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    const slowMessages: { type: string; payload?: { extensions?: { dropped?: number } } }[] = [];
    slow.on('message', (data: Buffer) => slowMessages.push(JSON.parse(data.toString())));
    await new Promise((resolve) => slow.once('open', resolve));
    slow.send(JSON.stringify({ type: 'connection_init', payload: asIdentity(admin) }));
    await waitFor('connection_ack', () => slowMessages.some((m) => m.type === 'connection_ack'));
    slow.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
    const fast = subscribe<{ systemEvents: { eventId: string } }>(connect(admin, gateway.url), {
      query,
    });
    await subscribersAtLeast(gateway.url, 2);
    (slow as unknown as { _socket: Socket })._socket.pause();

    const events = 2400;
    const big = 'x'.repeat(32 * 1024);
    const rss = () => metric(gateway.url, 'gateway_process_resident_memory_bytes');
    const publish = async (from: number, to: number) => {
      for (let i = from; i < to; i += 100) {
        await Promise.all(
          Array.from({ length: Math.min(100, to - i) }, (_, j) =>
            platform.gatewayEvents.publishEvent(
              'system-events',
              SystemEventFactory.create('handler.failed', 'api-gateway', {
                service: 'api-gateway',
                groupId: 'bench',
                topic: 'interview-events',
                partition: 0,
                offset: String(i + j),
                error: `${i + j} ${big}`,
                attempts: 1,
                deadLetterTopic: 'interview-events.dlq',
              }),
            ),
          ),
        );
        // Paced like a busy topic, not one burst: a reading client keeps up, a stalled one cannot.
        await new Promise((r) => setTimeout(r, 100));
      }
      await fast.received(to, 60_000);
      return Date.now();
    };
    // ~80 MB in all. Once the first third has filled the stalled socket's buffers and its queue,
    // the rest (~50 MB) must not make the gateway grow with it.
    await publish(0, events / 3);
    const rssHalfway = await rss();
    const lastPublished = await publish(events / 3, events);
    const rssAfter = await rss();

    // The reading client got every event, promptly, while the other read nothing.
    const lastReceived = fast.results[events - 1]!.receivedAt;
    expect(lastReceived - lastPublished).toBeLessThan(5_000);
    expect(new Set(fast.results.map((r) => r.data?.systemEvents.eventId)).size).toBe(events);
    expect(await metric(gateway.url, 'gateway_subscription_results_dropped_total')).toBeGreaterThan(
      0,
    );
    expect(await metric(gateway.url, 'gateway_subscription_results_queued')).toBeLessThanOrEqual(
      QUEUE_LIMIT,
    );
    // With a queue of 100,000 instead, the gateway runs out of heap here and dies.
    expect(gateway.child.exitCode).toBeNull();
    expect(rssAfter - rssHalfway).toBeLessThan(24 * 1024 * 1024);

    // Reading again, the slow client learns how many it lost.
    (slow as unknown as { _socket: Socket })._socket.resume();
    await waitFor('the slow client to drain', async () => {
      const before = slowMessages.length;
      await new Promise((r) => setTimeout(r, 300));
      return slowMessages.length === before && before > 1;
    });
    const nexts = slowMessages.filter((m) => m.type === 'next');
    expect(nexts.length).toBeLessThan(events);
    const told = nexts.reduce((sum, m) => sum + (m.payload?.extensions?.dropped ?? 0), 0);
    expect(told).toBeGreaterThan(0);
    expect(nexts.length + told).toBe(events);
    slow.close();
  });

  it('gives partial data and an error while a subgraph is down, and carries on after', async () => {
    const reporting = new URL(platform.subgraphs.reporting.url);
    const proxy = await cuttableProxy(reporting);
    stops.push(proxy.close);
    const config = loadConfig();
    const gateway: Gateway = createGateway({
      supergraphSdl: withSubgraphUrls(platform.supergraphSdl, {
        reporting: proxy.url(reporting.pathname),
      }),
      host: '127.0.0.1',
      port: 0,
      maxDepth: config.gateway.maxDepth,
      maxFields: config.gateway.maxFields,
      maxBodyBytes: config.gateway.maxBodyBytes,
      corsOrigins: [],
      production: false,
      logger: silentLogger,
      internalTokenSecret: TEST_INTERNAL_TOKEN_SECRET,
      authenticate: authenticator(false),
      subscriptions: { kafka: platform.gatewayEvents },
    });
    const { url } = await gateway.start();
    stops.push(() => gateway.stop());

    const interview = await createInterview();
    const live = subscribe<{
      interviewUpdated: { status: string; report: { interviewId: string } | null };
    }>(
      connect(alice, url),
      {
        query: `subscription ($id: ID!) { interviewUpdated(id: $id) { status report { interviewId } } }`,
        variables: { id: interview.id },
      },
      pastCreation,
    );
    await subscribersAtLeast(url, 1);

    await proxy.cut();
    await act('startInterview', interview.id);
    const [partial] = await live.received(1);
    expect(partial!.data).toEqual({ interviewUpdated: { status: 'IN_PROGRESS', report: null } });
    expect(partial!.errors).toEqual([
      expect.objectContaining({
        message: expect.stringMatching(/Subgraph reporting could not be reached/),
        extensions: expect.objectContaining({
          code: 'DOWNSTREAM_SERVICE_ERROR',
          serviceName: 'reporting',
        }),
      }),
    ]);

    await proxy.restore();
    await waitFor('the reporting service to know the interview', async () => {
      const response = await gql<{ interview: { report: unknown } }>(
        `query ($id: ID!) { interview(id: $id) { report { interviewId } } }`,
        { id: interview.id },
      );
      return response.data?.interview.report != null;
    });
    await waitFor('the proxy to accept connections again', async () => {
      const health = await fetch(proxy.url('/health')).catch(() => undefined);
      return health?.ok === true;
    });
    // The stream goes on: the next events come whole (allowing one more for a connection the
    // gateway's pool may still have been opening while the proxy came back).
    const steps = ['pauseInterview', 'resumeInterview', 'pauseInterview'] as const;
    let whole: (typeof live.results)[number] | undefined;
    for (const [i, step] of steps.entries()) {
      await act(step, interview.id);
      whole = (await live.received(2 + i))[1 + i];
      if (!whole?.errors) break;
    }
    expect(whole?.errors).toBeUndefined();
    expect(whole?.data?.interviewUpdated.report).toEqual({ interviewId: interview.id });
    expect(live.results[1]!.data?.interviewUpdated.status).toBe('PAUSED');
  });
});
