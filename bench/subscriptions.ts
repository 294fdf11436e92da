/**
 * Live GraphQL subscriptions at the gateway: `npm run bench:subscriptions [-- --quick]`.
 *
 * Processes (each with CPU and memory of its own):
 *   - the three subgraphs (users, interviews, reporting) in one process, as in `bench:gateway`'s
 *     platform graph (bench/platform/subgraphs.ts: fresh SQLite databases, Kafka consumers,
 *     outbox relays);
 *   - the gateway (bench/subscriptions/gateway.ts: `createGateway` as gateway/main.ts starts it,
 *     production mode, live subscriptions on its own `api-gateway` KafkaService, callers by the
 *     development `x-identity`);
 *   - `--client-processes` subscriber processes (bench/subscriptions/clients.ts), one WebSocket
 *     and one subscription per subscriber, `graphql-transport-ws` spoken by hand (the `-sse` and
 *     `-multipart` runs: one HTTP request per subscriber, bench/subscriptions/http-client.ts);
 *   - this one: orchestration, and the publisher of the events (KafkaService
 *     `interview-service`), which knows each event's publish time.
 *
 * Runs (`--runs`, default all, in this order):
 *   connections: `--connections` sockets, each `subscription { myInterviewEvents { eventId
 *      eventType } }` as a user of its own (so one stream per connection, the costly case);
 *      gateway RSS before, once `/metrics` shows them all subscribed, and after they closed.
 *      Target: 10,000 subscribers under 200 MB of gateway RSS in all, as production runs it
 *      (compiled): `npm run bench:memory` measures that; this gateway runs under tsx, whose
 *      loader adds ~50 MB, so read the increase here.
 *   shared, spread, event-only: latency. `--subscribers` subscribers of `interviewUpdated(id: X)`
 *      and `interview.answer_submitted` events for X published at `--rate` for `--warmup` (not
 *      measured) + `--seconds`, then up to `--drain` s for the last results. Latency = arrival at
 *      a subscriber − the publish call, for every result; every result's `data` is compared with
 *      the expected answer. Target: p50 < 15 ms, p99 < 50 ms at 100 events/s to 1,000
 *      subscribers.
 *        shared: `{ id title status candidate { email } report { status } }` (interviews, users,
 *          reporting), every subscriber X's candidate: one stream, one execution per event;
 *        spread: the same selection, subscribers spread over `--identities` admins: one stream,
 *          and one execution per event, per admin;
 *        event-only: `{ id }`, answered from the event alone (no subgraph request), every
 *          subscriber the candidate: what the fan-out itself costs.
 *   event-only-sse, event-only-multipart: event-only, the subscribers subscribed over HTTP
 *      instead of the WebSocket (gateway/http-subscriptions/): GraphQL over Server-Sent Events
 *      (`POST /graphql/stream`, `Accept: text/event-stream`) and Apollo's multipart subscriptions
 *      (`POST /graphql`, `Accept: multipart/mixed;subscriptionSpec="1.0"`); one request per
 *      subscriber on a connection of its own, with the `x-identity` header, from a loopback
 *      address of its own (127.x.y.z: the gateway's subscribe rate limit is per client address,
 *      20 a second in bursts of 100, as for real clients). What each transport's framing and
 *      chunked HTTP responses cost the fan-out next to the WebSocket's.
 *   shared-2w, event-only-2w: shared and event-only on a gateway of two workers on one port
 *      (GATEWAY_WORKERS=2), started for the run: what a second core adds to the fan-out.
 *   bare-ws, graphql-ws: the baselines, same subscriber processes, rate and measures, each
 *      server in a process of its own (bench/subscriptions/baseline-server.ts):
 *        bare-ws: a `ws` server sending one message, built once per event, to every socket
 *          (what the machine can do); the latency runs from just before it is handed to them;
 *        graphql-ws: graphql-ws `useServer` + graphql-kafkajs-subscriptions `KafkaPubSub` on a
 *          non-federated schema (one field, the event's own fields), fed by the same
 *          `interview-events` topic and the same published events as the gateway runs (what a
 *          user would pick instead).
 *      The side-by-side table gives each run's server CPU per delivered result and its ratio to
 *      each baseline's, and the plan executions per second the gateway completed.
 *
 * Scale: flags, or BENCH_CONNECTIONS, BENCH_SUBSCRIBERS, BENCH_RATE, BENCH_SECONDS, BENCH_RUNS.
 *
 * Kafka: KAFKA_BROKERS, or a throw-away local broker; topics and groups under a random prefix,
 * deleted at the end with everything else started (processes, sockets, temp folder), also on
 * Ctrl-C or an error.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { InterviewEventFactory, KafkaService } from '../events';
import type { Identity } from '../contracts/identity';
import { childStats, spawnChild, type Child } from './gateways-benchmark/processes';
import { integerFlag, parseFlags } from './lib/args';
import { wallClock } from './lib/clock';
import { fixed } from './lib/format';
import { ask } from './lib/ipc';
import { sleepUntil } from './lib/pace';
import { mergeSorted, percentile } from './lib/stats';
import { markdownTable as table } from './lib/table';
import { createTeardown } from './lib/teardown';
import { sampleEvery } from './lib/usage';
import { waitFor } from './lib/wait';
import { startRunBroker } from './platform/broker';
import { startPlatformSubgraphs } from './platform/graph';
import {
  composeLiveSupergraph,
  gatewayMetrics,
  gatewayQuery,
  metric,
  seedInterview,
  type SeededInterview,
} from './subscriptions/platform';
import {
  awaitResults,
  closeAll,
  collectAll,
  countAll,
  eventId,
  openAll,
  spawnBaseline,
  spawnClients,
  type BaselineKind,
  type BaselineProcess,
  type ClientProcess,
  type Collected,
  type OpenedAll,
  type SubscriberTransport,
} from './subscriptions/protocol';
import { openFilesLimit } from './memory-subscribers';
import { runBench } from './run';

const RUNS = [
  'connections',
  'shared',
  'spread',
  'event-only',
  'event-only-sse',
  'event-only-multipart',
  'shared-2w',
  'event-only-2w',
  'bare-ws',
  'graphql-ws',
] as const;
type RunName = (typeof RUNS)[number];

interface Options {
  connections: number;
  subscribers: number;
  identities: number;
  rate: number;
  seconds: number;
  warmup: number;
  /** Most seconds to wait for outstanding results after the last publish. */
  drain: number;
  clientProcesses: number;
  concurrency: number;
  runs: RunName[];
  quick: boolean;
  /** Folder for `--cpu-prof` profiles of the gateway and the subgraphs, written when they stop. */
  profile: string | undefined;
}

const TARGET = { connections: 10_000, rssMb: 200, p50: 15, p99: 50 };

function parseOptions(): Options {
  const values = parseFlags(
    {
      quick: { type: 'boolean', default: false },
      connections: { type: 'string' },
      subscribers: { type: 'string' },
      identities: { type: 'string' },
      rate: { type: 'string' },
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      drain: { type: 'string' },
      'client-processes': { type: 'string' },
      concurrency: { type: 'string' },
      runs: { type: 'string' },
      profile: { type: 'string' },
    },
    'usage: npm run bench:subscriptions -- [--quick] [--connections N=10000] [--subscribers N=1000]\n' +
      '         [--identities N=10] [--rate EVENTS_PER_S=100] [--seconds S=10] [--warmup S=2]\n' +
      '         [--drain S=10]\n' +
      '         [--client-processes N=2] [--concurrency N=64]\n' +
      `         [--runs ${RUNS.join(',')}] [--profile DIR]\n` +
      '  --profile: CPU profiles (node --cpu-prof) of the gateway and the subgraphs into DIR\n' +
      '  --quick: 500 connections, 100 subscribers, 5 s (flags given as well win)\n' +
      '  environment, used when the flag is not given: BENCH_CONNECTIONS, BENCH_SUBSCRIBERS,\n' +
      '  BENCH_RATE, BENCH_SECONDS, BENCH_RUNS\n',
  );
  const quick = values.quick;
  // Scale from the environment too (flags win), for runs driven by scripts.
  const env = process.env;
  const fromEnv = {
    connections: values.connections ?? env.BENCH_CONNECTIONS,
    subscribers: values.subscribers ?? env.BENCH_SUBSCRIBERS,
    rate: values.rate ?? env.BENCH_RATE,
    seconds: values.seconds ?? env.BENCH_SECONDS,
    runs: values.runs ?? env.BENCH_RUNS,
  };
  const runs = (fromEnv.runs ?? RUNS.join(',')).split(',').map((r) => r.trim());
  const unknown = runs.filter((r) => !(RUNS as readonly string[]).includes(r));
  if (unknown.length > 0 || runs.length === 0) {
    throw new Error(`--runs takes some of ${RUNS.join(',')} (got ${fromEnv.runs ?? ''})`);
  }
  return {
    connections: integerFlag('connections', fromEnv.connections, quick ? 500 : 10_000),
    subscribers: integerFlag('subscribers', fromEnv.subscribers, quick ? 100 : 1_000),
    identities: integerFlag('identities', values.identities, 10),
    rate: integerFlag('rate', fromEnv.rate, 100),
    seconds: integerFlag('seconds', fromEnv.seconds, quick ? 5 : 10),
    warmup: integerFlag('warmup', values.warmup, quick ? 1 : 2, 0),
    drain: integerFlag('drain', values.drain, quick ? 5 : 10),
    clientProcesses: integerFlag('client-processes', values['client-processes'], 2),
    concurrency: integerFlag('concurrency', values.concurrency, 64),
    runs: RUNS.filter((r) => runs.includes(r)),
    quick,
    profile: values.profile === undefined ? undefined : resolve(values.profile),
  };
}

// ---------------------------------------------------------------------------------------------
// Processes and cleanup

interface Stoppable {
  stop(): Promise<void>;
}
const children = new Set<Stoppable>();
/** Cleanup steps (topics, broker, temp folder), run last-registered first after the children. */
const cleanup = createTeardown({
  before: () => Promise.all([...children].map(stop)).then(() => undefined),
});
const teardown = (): Promise<void> => cleanup.run();

function track<T extends Stoppable>(child: T): T {
  children.add(child);
  return child;
}

async function stop(child: Stoppable): Promise<void> {
  await child.stop();
  children.delete(child);
}

// ---------------------------------------------------------------------------------------------
// The platform

interface Platform {
  brokers: string[];
  topicPrefix: string;
  gateway: Child;
  subgraphs: Child;
  gatewayUrl: string;
  publisher: KafkaService;
  interview: SeededInterview;
  /** Kafka alone: publish → a plain consumer in this process, per run tag. */
  kafkaHop: KafkaHop;
  /** Another gateway on the same subgraphs and topics: `workers` processes on one port. */
  spawnGateway(workers: number): Promise<{ child: Child; url: string }>;
}

/** Times events from publish to a consumer of our own, for the Kafka share of the latency. */
class KafkaHop {
  private tag = '';
  private publishTimes: Float64Array = new Float64Array(0);
  private from = 0;
  latencies: number[] = [];

  /** Times the events of run `tag` from sequence number `from` on. */
  start(tag: string, publishTimes: Float64Array, from: number): void {
    this.tag = tag;
    this.publishTimes = publishTimes;
    this.from = from;
    this.latencies = [];
  }

  handled(id: string): void {
    const at = wallClock();
    if (this.tag === '' || !id.startsWith(this.tag)) return;
    const seq = Number.parseInt(id.slice(24), 16);
    const published = this.publishTimes[seq] ?? 0;
    if (seq >= this.from && published > 0) this.latencies.push(at - published);
  }
}

async function startPlatform(
  log: (line: string) => void,
  profile: string | undefined,
): Promise<Platform> {
  const profileArgs = profile === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profile];
  const dir = await fsp.mkdtemp(join(os.tmpdir(), 'bench-subscriptions-'));
  cleanup.defer(() => fsp.rm(dir, { recursive: true, force: true }));
  const secretFile = join(dir, 'internal-token-secret');
  await fsp.writeFile(secretFile, randomBytes(48).toString('base64url'), { mode: 0o600 });

  const { broker, topicPrefix } = await startRunBroker({
    dataDir: join(dir, 'kafka'),
    name: 'bench-subscriptions',
    log,
    defer: cleanup.defer,
  });

  const { subgraphs, urls } = await startPlatformSubgraphs(
    (file, args) => track(spawnChild(file, args, profileArgs)),
    { brokers: broker.brokers, topicPrefix, dataDir: join(dir, 'data'), secretFile },
  );
  const supergraphFile = join(dir, 'supergraph.graphql');
  await fsp.writeFile(supergraphFile, composeLiveSupergraph(urls));

  const spawnGateway = async (workers: number) => {
    const child = track(
      spawnChild(
        join(__dirname, 'subscriptions', 'gateway.ts'),
        [
          '--supergraph',
          supergraphFile,
          '--brokers',
          broker.brokers.join(','),
          '--topic-prefix',
          topicPrefix,
          '--internal-token-secret-file',
          secretFile,
          '--workers',
          String(workers),
        ],
        profileArgs,
      ),
    );
    const { url } = await child.next('listening', 120_000);
    return { child, url };
  };
  const { child: gateway, url: gatewayUrl } = await spawnGateway(1);
  log(`  gateway at ${gatewayUrl} (pid ${gateway.process.pid ?? '?'})`);

  const publisher = new KafkaService('interview-service', {
    brokers: broker.brokers,
    topicPrefix,
    announce: false,
  });
  await publisher.start();
  // Before the broker goes: stopping the service leaves its consumer group.
  track({ stop: () => publisher.stop() });

  // Stopping the publisher stops this consumer too.
  const kafkaHop = new KafkaHop();
  await publisher.subscribe(
    'interview-events',
    'bench-kafka-hop',
    async (event) => kafkaHop.handled(event.eventId),
    { fromBeginning: false },
  );

  const candidate = {
    userId: `bench-candidate-${randomBytes(3).toString('hex')}`,
    email: 'candidate@bench.example.com',
    roles: [],
  };
  const interview = await seedInterview(gatewayUrl, publisher, candidate);
  log(`  seeded: candidate ${candidate.userId}, interview ${interview.id} in progress`);
  return {
    brokers: broker.brokers,
    topicPrefix,
    gateway,
    subgraphs,
    gatewayUrl,
    publisher,
    interview,
    kafkaHop,
    spawnGateway,
  };
}

// ---------------------------------------------------------------------------------------------
// Subscriber processes

/** Where subscribers of `transport` subscribe, from the server's `http://.../graphql`. */
function subscribeUrl(url: string, transport: SubscriberTransport): string {
  switch (transport) {
    case 'ws':
      return url.replace(/^http/, 'ws');
    case 'sse':
      return new URL('/graphql/stream', url).href;
    case 'multipart':
      return url;
  }
}

/**
 * Spreads `identities` over new client processes and opens them all over `transport` (default
 * the WebSocket); resolves once opened.
 */
async function openSubscribers(
  url: string,
  options: Options,
  request: {
    query: string;
    variables: Record<string, unknown>;
    identities: Identity[];
    expectedData?: string;
    eventTag: string;
    transport?: SubscriberTransport;
  },
): Promise<OpenedAll & { clients: ClientProcess[] }> {
  const count = Math.min(options.clientProcesses, request.identities.length);
  const clients = Array.from({ length: count }, () => track(spawnClients()));
  const { identities, transport = 'ws', ...rest } = request;
  const opened = await openAll(clients, identities, {
    ...rest,
    transport,
    url: subscribeUrl(url, transport),
    concurrency: options.concurrency,
  });
  return { clients, ...opened };
}

/** Closes every subscriber, stops the processes, waits until the server has let them go. */
async function closeSubscribers(
  target: Pick<Target, 'connections'>,
  clients: ClientProcess[],
): Promise<void> {
  await closeAll(clients, (client) => children.delete(client));
  await waitFor(
    'the server to drop every subscriber',
    async () => (await target.connections()) === 0,
    60_000,
    200,
  );
}

// ---------------------------------------------------------------------------------------------
// Run 1: connections and memory

interface ConnectionsResult {
  connections: number;
  subscribed: number;
  /** `gateway_subscriptions` once they were all subscribed (or when waiting gave up). */
  atGateway: number;
  streams: number;
  seconds: number;
  rssBeforeMb: number;
  rssWithMb: number;
  rssAfterCloseMb: number;
  perConnectionKiB: number;
  slowestHandshakeMs: number;
  problems: string[];
}

async function connectionsRun(platform: Platform, options: Options): Promise<ConnectionsResult> {
  const n = options.connections;
  console.log(`\nconnections: ${n} sockets, one myInterviewEvents subscription each ...`);
  await sleep(1_000);
  const before = await childStats(platform.gateway);
  const width = String(n).length;
  const identities = Array.from({ length: n }, (_, i) => ({
    userId: `bench-conn-${String(i + 1).padStart(width, '0')}`,
    roles: [],
  }));
  const started = Date.now();
  const opened = await openSubscribers(platform.gatewayUrl, options, {
    query: 'subscription { myInterviewEvents { eventId eventType } }',
    variables: {},
    identities,
    eventTag: 'ffffffff',
  });
  const problems: string[] = [];
  if (opened.failed > 0) {
    problems.push(`${opened.failed} connections failed, first: ${opened.firstFailure ?? '?'}`);
  }
  let atGateway = 0;
  await waitFor(
    () => `${opened.subscribed} subscribers at the gateway (it has ${atGateway})`,
    async () => {
      atGateway = await metric(platform.gatewayUrl, 'gateway_subscriptions');
      return atGateway >= opened.subscribed;
    },
    120_000,
    200,
  ).catch((error: unknown) =>
    problems.push(error instanceof Error ? error.message : String(error)),
  );
  const seconds = (Date.now() - started) / 1000;
  console.log(
    `  ${opened.subscribed} subscribed in ${seconds.toFixed(1)} s (slowest handshake ${opened.slowestHandshakeMs.toFixed(0)} ms)`,
  );
  // Let the last subscriptions' garbage settle, then sample.
  await sleep(2_000);
  const withAll = await childStats(platform.gateway);
  const metrics = await gatewayMetrics(platform.gatewayUrl);
  const streams = metrics.get('gateway_subscription_streams') ?? 0;
  atGateway = metrics.get('gateway_subscriptions') ?? atGateway;
  const clientCounts = await countAll(opened.clients);
  if (clientCounts.closed > 0 || clientCounts.ended > 0) {
    problems.push(
      `${clientCounts.closed} sockets closed by the gateway, ${clientCounts.ended} subscriptions ended`,
    );
  }
  await closeSubscribers(gatewayTarget(platform), opened.clients);
  await sleep(1_000);
  const after = await childStats(platform.gateway);
  const mb = (bytes: number) => bytes / 1024 / 1024;
  return {
    connections: n,
    subscribed: opened.subscribed,
    atGateway,
    streams,
    seconds,
    rssBeforeMb: mb(before.rssBytes),
    rssWithMb: mb(withAll.rssBytes),
    rssAfterCloseMb: mb(after.rssBytes),
    perConnectionKiB: (withAll.rssBytes - before.rssBytes) / 1024 / Math.max(1, atGateway),
    slowestHandshakeMs: opened.slowestHandshakeMs,
    problems,
  };
}

// ---------------------------------------------------------------------------------------------
// Run 2: latency, at the gateway and at the two baselines

type LatencyKind = Exclude<RunName, 'connections'>;
const isBaseline = (kind: LatencyKind): kind is BaselineKind =>
  kind === 'bare-ws' || kind === 'graphql-ws';
/** `shared-2w`: the `shared` run on a gateway of two workers (GATEWAY_WORKERS=2). */
const workersOf = (kind: LatencyKind): number => (kind.endsWith('-2w') ? 2 : 1);
const shapeOf = (kind: LatencyKind): LatencyKind =>
  kind.replace(/-(2w|sse|multipart)$/, '') as LatencyKind;
/** `event-only-sse`: the `event-only` run over Server-Sent Events; the others: the WebSocket. */
const transportOf = (kind: LatencyKind): SubscriberTransport =>
  kind.endsWith('-sse') ? 'sse' : kind.endsWith('-multipart') ? 'multipart' : 'ws';

interface LatencyResult {
  kind: LatencyKind;
  subscribers: number;
  /** Gateway runs only (NaN for the baselines). */
  identities: number;
  streams: number;
  events: number;
  /** Achieved publish (or broadcast) rate over the measured events. */
  rate: number;
  delivered: number;
  expected: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** The same over the results that were delivered only. */
  deliveredP50: number;
  deliveredP99: number;
  kafkaP50: number;
  kafkaP99: number;
  executionsPerEvent: number;
  /** Plan executions the gateway completed per second of the measured window. */
  executionsPerSecond: number;
  /** CPU of the server under test (the gateway, or the baseline's process), % of one core. */
  serverCpu: number;
  /** The server's CPU time per result that reached a subscriber in the window, µs. */
  serverMicrosPerResult: number;
  serverRssMb: number;
  subgraphsCpu: number;
  clientsCpu: number;
  mismatches: number;
  dropped: number;
  problems: string[];
}

/** Fields from interviews (title, status), users (email) and reporting (report). */
const FEDERATED_SELECTION = 'id title status candidate { email } report { status }';
/** Answered from the event alone: no subgraph request. */
const EVENT_ONLY_SELECTION = 'id';
/** The graphql-ws baseline's one field: the event's own fields (baseline-server.ts). */
const BASELINE_SUBSCRIPTION =
  'subscription ($id: ID!) { interviewEvents(interviewId: $id) { eventId eventType timestamp interviewId questionId answerId wordCount answeredQuestions totalQuestions } }';

/** What a latency run subscribes to and measures: the gateway, or a baseline server. */
interface Target {
  /** `http://.../graphql`; subscribers connect to its `ws:` form. */
  url: string;
  stats(): Promise<{ rssBytes: number; cpuMicros: number }>;
  /** Subscriptions the server holds. */
  subscriptions(): Promise<number>;
  /** Connections the server still holds (0 once the subscribers closed). */
  connections(): Promise<number>;
  /** The gateway's `/metrics`; empty for a baseline. */
  metrics(): Promise<Map<string, number>>;
  /** bare-ws: broadcasts instead of Kafka events. */
  baseline?: BaselineProcess;
  stop(): Promise<void>;
}

function gatewayTarget(platform: Platform): Target {
  return {
    url: platform.gatewayUrl,
    stats: () => childStats(platform.gateway),
    subscriptions: () => metric(platform.gatewayUrl, 'gateway_subscriptions'),
    connections: () => metric(platform.gatewayUrl, 'gateway_subscriptions'),
    metrics: () => gatewayMetrics(platform.gatewayUrl),
    stop: async () => undefined,
  };
}

/**
 * A gateway of `workers` processes on one port (GATEWAY_WORKERS, node:cluster), started for the
 * run and stopped after it; its CPU is every worker's and the primary's.
 */
async function workersTarget(platform: Platform, workers: number): Promise<Target> {
  console.log(`  starting a gateway of ${workers} workers ...`);
  const { child, url } = await platform.spawnGateway(workers);
  return {
    url,
    stats: () => childStats(child),
    // A scrape reaches one worker: the subscriptions are the sum over as many scrapes as it
    // takes to have seen every worker, in turn.
    subscriptions: () => workersMetric(url, workers, 'gateway_subscriptions'),
    connections: () => workersMetric(url, workers, 'gateway_subscriptions'),
    metrics: () => gatewayMetrics(url),
    stop: () => child.stop(),
  };
}

/** `name` summed over every worker: node:cluster hands new connections to workers in turn. */
async function workersMetric(url: string, workers: number, name: string): Promise<number> {
  let sum = 0;
  for (let i = 0; i < workers; i++) sum += await metric(url, name, { fresh: true });
  return sum;
}

async function baselineTarget(platform: Platform, kind: BaselineKind): Promise<Target> {
  const server = track(
    spawnBaseline(
      kind,
      kind === 'bare-ws'
        ? []
        : [
            '--brokers',
            platform.brokers.join(','),
            '--topic',
            `${platform.topicPrefix}interview-events`,
            // Under the run's prefix, so the cleanup deletes KafkaPubSub's group too.
            '--group-prefix',
            `${platform.topicPrefix}bench-graphql-kafkajs-subscriptions`,
          ],
    ),
  );
  const { url } = await server.next('listening', 120_000);
  // A saturated baseline answers late: its event loop is busy sending.
  const serverStats = () => ask(server, { type: 'stats' }, 'stats', 60_000);
  return {
    url,
    stats: serverStats,
    subscriptions: async () => (await serverStats()).subscriptions,
    connections: async () => (await serverStats()).connections,
    metrics: async () => new Map(),
    ...(kind === 'bare-ws' ? { baseline: server } : {}),
    stop: () => stop(server),
  };
}

async function latencyRun(
  platform: Platform,
  options: Options,
  kind: LatencyKind,
): Promise<LatencyResult> {
  const target = isBaseline(kind)
    ? await baselineTarget(platform, kind)
    : workersOf(kind) > 1
      ? await workersTarget(platform, workersOf(kind))
      : gatewayTarget(platform);
  try {
    return await measureLatency(platform, target, options, kind);
  } finally {
    await target.stop();
  }
}

/** What the subscribers of `kind` subscribe to, as whom, and what every result must be. */
async function subscriptionOf(
  platform: Platform,
  options: Options,
  kind: LatencyKind,
): Promise<{
  query: string;
  identities: Identity[];
  identityCount: number;
  expectedData?: string;
  description: string;
}> {
  const { interview } = platform;
  const n = options.subscribers;
  const candidates = Array.from({ length: n }, () => interview.candidate);
  if (kind === 'bare-ws') {
    return {
      query: 'subscription { broadcast }',
      identities: candidates,
      identityCount: 1,
      description: 'a bare ws server broadcasting one pre-built message per event',
    };
  }
  if (kind === 'graphql-ws') {
    return {
      query: BASELINE_SUBSCRIPTION,
      identities: candidates,
      identityCount: 1,
      description:
        'graphql-ws + graphql-kafkajs-subscriptions, interviewEvents(interviewId) { the event fields }',
    };
  }
  const identityCount = shapeOf(kind) === 'spread' ? Math.min(options.identities, n) : 1;
  const selection = shapeOf(kind) === 'event-only' ? EVENT_ONLY_SELECTION : FEDERATED_SELECTION;
  const admins: Identity[] = Array.from({ length: identityCount }, (_, k) => ({
    userId: `bench-admin-${String(k + 1).padStart(2, '0')}`,
    roles: ['admin'],
  }));
  // What every result must be: the same selection as a query (the events change none of it).
  const { interview: current } = await gatewayQuery<{ interview: unknown }>(
    platform.gatewayUrl,
    `query ($id: ID!) { interview(id: $id) { ${selection} } }`,
    { id: interview.id },
    interview.candidate,
  );
  return {
    query: `subscription ($id: ID!) { interviewUpdated(id: $id) { ${selection} } }`,
    identities:
      shapeOf(kind) === 'spread'
        ? Array.from({ length: n }, (_, i) => admins[i % identityCount] as Identity)
        : candidates,
    identityCount,
    expectedData: JSON.stringify({ interviewUpdated: current }),
    description: `interviewUpdated { ${selection} } as ${identityCount === 1 ? 'the candidate' : `${identityCount} admins`}`,
  };
}

async function measureLatency(
  platform: Platform,
  target: Target,
  options: Options,
  kind: LatencyKind,
): Promise<LatencyResult> {
  const { interview } = platform;
  const n = options.subscribers;
  const subscription = await subscriptionOf(platform, options, kind);
  console.log(
    `\nlatency, ${kind}: ${n} subscribers, ${subscription.description}; ${options.rate} events/s for ${options.warmup} + ${options.seconds} s ...`,
  );
  const tag = randomBytes(4).toString('hex');
  const problems: string[] = [];

  const opened = await openSubscribers(target.url, options, {
    query: subscription.query,
    variables: { id: interview.id },
    identities: subscription.identities,
    ...(subscription.expectedData === undefined ? {} : { expectedData: subscription.expectedData }),
    eventTag: tag,
    transport: transportOf(kind),
  });
  const { clients } = opened;
  if (opened.subscribed === 0) {
    await closeSubscribers(target, clients).catch(() => undefined);
    throw new Error(
      `none of ${n} subscribers subscribed (${transportOf(kind)}), first failure: ${opened.firstFailure ?? '?'}`,
    );
  }
  if (opened.failed > 0) {
    problems.push(`${opened.failed} subscribers failed, first: ${opened.firstFailure ?? '?'}`);
  }
  await waitFor(
    `${opened.subscribed} subscribers at the server`,
    async () => (await target.subscriptions()) >= opened.subscribed,
    60_000,
    100,
  );
  const startMetrics = await target.metrics();
  const streams = startMetrics.get('gateway_subscription_streams') ?? Number.NaN;

  const warmupEvents = options.warmup * options.rate;
  const total = warmupEvents + options.seconds * options.rate;
  const publishTimes = new Float64Array(total);
  if (kind !== 'bare-ws') platform.kafkaHop.start(tag, publishTimes, warmupEvents);

  // Server RSS peak, sampled every second.
  let rssPeak = 0;
  const sampler = sampleEvery(1_000, async () => {
    // A saturated server may answer late or not at all; the peak is what it answered.
    const sample = await target.stats().catch(() => undefined);
    if (sample) rssPeak = Math.max(rssPeak, sample.rssBytes);
  });

  // CPU over the measured window: from the first measured publish until delivery ends.
  const sampleCpu = async () => {
    const [server, subgraphs, clientCounts, metrics] = await Promise.all([
      target.stats(),
      childStats(platform.subgraphs),
      countAll(clients),
      target.metrics(),
    ]);
    return {
      at: wallClock(),
      server: server.cpuMicros,
      subgraphs: subgraphs.cpuMicros,
      clients: clientCounts.cpuMicros,
      received: clientCounts.received,
      executions: metrics.get('gateway_subscription_executions_total') ?? Number.NaN,
    };
  };
  let windowStart: ReturnType<typeof sampleCpu> | undefined;

  let failure: unknown;
  const interval = 1000 / options.rate;
  const first = wallClock() + 50;
  if (target.baseline !== undefined) {
    // The server paces itself on the same schedule; this process samples the window's start.
    const baseline = target.baseline;
    const broadcasted = baseline.next('broadcasted', total * interval + 120_000);
    baseline.send({
      type: 'broadcast',
      eventIds: Array.from({ length: total }, (_, seq) => eventId(tag, seq)),
      first,
      interval,
      total,
    });
    await sleepUntil(first + warmupEvents * interval);
    windowStart = sampleCpu();
    // Awaited below; a failure then, not an unhandled rejection now.
    windowStart.catch(() => undefined);
    try {
      publishTimes.set((await broadcasted).sendTimes);
    } catch (error) {
      failure = error;
    }
  } else {
    const acks: Promise<void>[] = [];
    for (let seq = 0; seq < total; seq++) {
      await sleepUntil(first + seq * interval);
      const answered = (seq % interview.questionIds.length) + 1;
      const event = InterviewEventFactory.create(
        'interview.answer_submitted',
        {
          interviewId: interview.id,
          candidateId: interview.candidate.userId,
          questionId: interview.questionIds[answered - 1] ?? 'q',
          answerId: `bench-answer-${tag}-${seq}`,
          wordCount: 40 + (seq % 60),
          answeredQuestions: answered,
          totalQuestions: interview.questionIds.length,
        },
        { eventId: eventId(tag, seq) },
      );
      if (seq === warmupEvents) {
        windowStart = sampleCpu();
        windowStart.catch(() => undefined);
      }
      publishTimes[seq] = wallClock();
      acks.push(
        platform.publisher.publishEvent('interview-events', event).catch((error: unknown) => {
          failure ??= error;
        }),
      );
    }
    await Promise.all(acks);
  }
  const lastPublish = wallClock();
  if (failure !== undefined) {
    problems.push(
      `publishing failed: ${failure instanceof Error ? failure.message : String(failure)}`,
    );
  }
  const achievedRate =
    (total - warmupEvents - 1) /
    (((publishTimes[total - 1] ?? 0) - (publishTimes[warmupEvents] ?? 0)) / 1000);

  // Until every subscriber has every event, nothing arrives for 5 s, or --drain s have passed.
  const expectedAll = opened.subscribed * total;
  const drained = await awaitResults(clients, expectedAll, lastPublish, options.drain * 1000);
  if (drained.gaveUp !== undefined) {
    problems.push(
      `${drained.gaveUp === 'stalled' ? 'nothing arrived for 5 s' : `waited ${options.drain} s after the last publish`}: ${drained.received} of ${expectedAll} results delivered (warm-up included); the rest count as undelivered in the percentiles`,
    );
  }
  const windowEnd = await sampleCpu();
  await sampler.stop();
  const endMetrics = await target.metrics();

  const collected = await collectAll(clients, publishTimes, warmupEvents, total);
  const clientCounts = await countAll(clients);
  // A server still busy with a backlog may be slow to let go; its figures are taken already.
  await closeSubscribers(target, clients).catch((error: unknown) =>
    problems.push(
      `closing the subscribers: ${error instanceof Error ? error.message : String(error)}`,
    ),
  );

  const merged = mergeSorted(collected.map((c) => c.latencies));
  const sum = (key: keyof Omit<Collected, 'type' | 'latencies' | 'firstProblem'>) =>
    collected.reduce((total, c) => total + c[key], 0);
  const mismatches = sum('mismatches');
  const outOfOrder = sum('outOfOrder');
  const unknown = sum('unknown');
  const firstProblem = collected.find((c) => c.firstProblem !== undefined)?.firstProblem;
  if (mismatches > 0) problems.push(`${mismatches} results differ from the expected data`);
  if (outOfOrder > 0) problems.push(`${outOfOrder} results duplicate or out of order`);
  if (unknown > 0) problems.push(`${unknown} results of unknown events`);
  if (clientCounts.closed > 0 || clientCounts.ended > 0) {
    problems.push(
      `${clientCounts.closed} sockets closed by the server, ${clientCounts.ended} subscriptions ended`,
    );
  }
  if (firstProblem !== undefined && problems.length > 0) problems.push(`first: ${firstProblem}`);

  const expected = opened.subscribed * (total - warmupEvents);
  const from = await (windowStart ?? Promise.resolve(windowEnd));
  const seconds = Math.max(0.001, (windowEnd.at - from.at) / 1000);
  const percent = (micros: number) => (micros / 1e6 / seconds) * 100;
  const hop = Float64Array.from(platform.kafkaHop.latencies).sort();
  platform.kafkaHop.start('', new Float64Array(0), 0);
  const delta = (name: string) =>
    (endMetrics.get(name) ?? Number.NaN) - (startMetrics.get(name) ?? Number.NaN);
  return {
    kind,
    subscribers: opened.subscribed,
    identities: isBaseline(kind) ? Number.NaN : subscription.identityCount,
    streams,
    events: total - warmupEvents,
    rate: achievedRate,
    delivered: merged.length,
    expected,
    p50: percentile(merged, 50, expected),
    p90: percentile(merged, 90, expected),
    p99: percentile(merged, 99, expected),
    max: merged.length < expected ? Infinity : (merged[merged.length - 1] ?? Number.NaN),
    deliveredP50: percentile(merged, 50),
    deliveredP99: percentile(merged, 99),
    kafkaP50: percentile(hop, 50),
    kafkaP99: percentile(hop, 99),
    executionsPerEvent: delta('gateway_subscription_executions_total') / total,
    executionsPerSecond: (windowEnd.executions - from.executions) / seconds,
    serverCpu: percent(windowEnd.server - from.server),
    serverMicrosPerResult:
      (windowEnd.server - from.server) / Math.max(1, windowEnd.received - from.received),
    serverRssMb: rssPeak / 1024 / 1024,
    subgraphsCpu: percent(windowEnd.subgraphs - from.subgraphs),
    clientsCpu: percent(windowEnd.clients - from.clients),
    mismatches,
    dropped: isBaseline(kind)
      ? sum('dropped')
      : Math.max(sum('dropped'), delta('gateway_subscription_results_dropped_total')),
    problems,
  };
}

// ---------------------------------------------------------------------------------------------
// Output

const met = (ok: boolean) => (ok ? 'met' : 'NOT met');

function reportConnections(r: ConnectionsResult): void {
  console.log(
    `\nConnections and memory: one \`myInterviewEvents\` subscription per socket, each as a user of its own\n`,
  );
  console.log(
    table(
      [
        'connections',
        'subscribed',
        'at gateway',
        'streams',
        'seconds',
        'RSS before MB',
        'RSS subscribed MB',
        'KiB/connection',
        'RSS after close MB',
      ],
      [
        [
          String(r.connections),
          String(r.subscribed),
          String(r.atGateway),
          String(r.streams),
          fixed(r.seconds),
          fixed(r.rssBeforeMb, 0),
          fixed(r.rssWithMb, 0),
          fixed(r.perConnectionKiB),
          fixed(r.rssAfterCloseMb, 0),
        ],
      ],
    ),
  );
  const all = r.subscribed === r.connections && r.atGateway === r.connections;
  const increaseMb = r.rssWithMb - r.rssBeforeMb;
  const projected = r.rssBeforeMb + (r.perConnectionKiB * TARGET.connections) / 1024;
  console.log(
    `\nall ${r.connections} accepted and subscribed: ${all ? 'yes' : 'NO'}; RSS increase ${fixed(increaseMb, 0)} MB; at ${fixed(r.perConnectionKiB)} KiB each, ${TARGET.connections.toLocaleString('en-US')} subscribers: ~${fixed(projected, 0)} MB in all`,
  );
  if (r.connections < TARGET.connections) {
    console.log(
      `target (${TARGET.connections} subscribers under ${TARGET.rssMb} MB): n/a, ${r.connections} connections`,
    );
  } else {
    console.log(
      `target, ${TARGET.connections.toLocaleString('en-US')} subscribers under ${TARGET.rssMb} MB of gateway RSS (tsx here; the compiled gateway: npm run bench:memory): ${met(all && r.rssWithMb < TARGET.rssMb)} (RSS ${fixed(r.rssWithMb, 0)} MB); read as the increase: ${met(all && increaseMb < TARGET.rssMb)} (+${fixed(increaseMb, 0)} MB)`,
    );
  }
  for (const p of r.problems) console.log(`PROBLEM: ${p}`);
}

function latencyMet(r: LatencyResult): boolean {
  return (
    r.delivered === r.expected && r.mismatches === 0 && r.p50 < TARGET.p50 && r.p99 < TARGET.p99
  );
}

function reportLatency(results: LatencyResult[], options: Options): void {
  const atTargetLoad = options.subscribers >= 1_000 && options.rate >= 100;
  const dash = (value: number, digits = 1) => (Number.isNaN(value) ? '-' : fixed(value, digits));
  console.log(
    `\nLatency, publish call (bare-ws: the send) → arrival at a subscriber, every result of ${options.seconds} s at ${options.rate} events/s (after ${options.warmup} s warm-up)\n`,
  );
  console.log(
    table(
      [
        'run',
        'subscribers',
        'identities',
        'streams',
        'exec/event',
        'events/s',
        'delivered/expected',
        'p50 ms',
        'p90 ms',
        'p99 ms',
        'max ms',
        'delivered only p50/p99 ms',
        `p50 < ${TARGET.p50}, p99 < ${TARGET.p99}`,
      ],
      results.map((r) => [
        r.kind,
        String(r.subscribers),
        dash(r.identities, 0),
        dash(r.streams, 0),
        dash(r.executionsPerEvent),
        fixed(r.rate),
        `${r.delivered}/${r.expected}`,
        fixed(r.p50),
        fixed(r.p90),
        fixed(r.p99),
        fixed(r.max, 0),
        `${fixed(r.deliveredP50)}/${fixed(r.deliveredP99)}`,
        atTargetLoad ? met(latencyMet(r)) : 'n/a (below target load)',
      ]),
    ),
  );
  console.log(
    '\nResources over the measured window (CPU: share of one core; server: the gateway, or the baseline process)\n',
  );
  console.log(
    table(
      [
        'run',
        'kafka alone p50/p99 ms',
        'server CPU %',
        'server CPU µs/result',
        'server RSS MB',
        'subgraphs CPU %',
        'subscribers CPU %',
        'dropped',
        'mismatches',
      ],
      results.map((r) => [
        r.kind,
        r.kind === 'bare-ws' ? '-' : `${fixed(r.kafkaP50)}/${fixed(r.kafkaP99)}`,
        fixed(r.serverCpu, 0),
        fixed(r.serverMicrosPerResult, 1),
        fixed(r.serverRssMb, 0),
        fixed(r.subgraphsCpu, 0),
        fixed(r.clientsCpu, 0),
        String(r.dropped),
        String(r.mismatches),
      ]),
    ),
  );

  const bare = results.find((r) => r.kind === 'bare-ws');
  const graphqlWs = results.find((r) => r.kind === 'graphql-ws');
  const ratio = (r: LatencyResult, base: LatencyResult | undefined) =>
    base === undefined || !(base.serverMicrosPerResult > 0)
      ? '-'
      : `${fixed(r.serverMicrosPerResult / base.serverMicrosPerResult, 1)}x`;
  const server: Record<LatencyKind, string> = {
    shared: 'our gateway',
    spread: 'our gateway',
    'event-only': 'our gateway',
    'event-only-sse': 'our gateway, SSE',
    'event-only-multipart': 'our gateway, multipart',
    'shared-2w': 'our gateway, 2 workers',
    'event-only-2w': 'our gateway, 2 workers',
    'bare-ws': 'bare ws, one pre-built message',
    'graphql-ws': 'graphql-ws + graphql-kafkajs-subscriptions',
  };
  console.log(
    `\nSide by side: ${options.subscribers} subscribers x ${options.rate} events/s; CPU of the server process per result delivered, and its ratio to each baseline's\n`,
  );
  console.log(
    table(
      [
        'run',
        'server',
        'delivered/expected',
        'p50 ms',
        'p99 ms',
        'server CPU µs/result',
        'vs bare ws',
        'vs graphql-ws+kafkajs-subs',
        'executions/s (needed)',
      ],
      results.map((r) => [
        r.kind,
        server[r.kind],
        `${r.delivered}/${r.expected}`,
        fixed(r.p50),
        fixed(r.p99),
        fixed(r.serverMicrosPerResult, 1),
        ratio(r, bare),
        ratio(r, graphqlWs),
        isBaseline(r.kind)
          ? '-'
          : `${fixed(r.executionsPerSecond, 0)} (${fixed(r.rate * r.streams, 0)})`,
      ]),
      { left: 2 },
    ),
  );
  const spread = results.find((r) => r.kind === 'spread');
  if (spread !== undefined) {
    console.log(
      `\nspread: the gateway completed ${fixed(spread.executionsPerSecond, 0)} plan executions/s over the window (subgraphs CPU ${fixed(spread.subgraphsCpu, 0)} % of a core); keeping up needs ${fixed(spread.rate * spread.streams, 0)} (${fixed(spread.rate, 0)} events/s x ${dash(spread.streams, 0)} streams)`,
    );
  }
  console.log(
    '\nshared: every subscriber the candidate (one stream); spread: admins (one stream each); event-only: `interviewUpdated { id }`, no subgraph request; -sse, -multipart: over HTTP (one request per subscriber) instead of the WebSocket; bare-ws: a `ws` server sending one message built once per event to every socket; graphql-ws: `useServer` + KafkaPubSub on the same topic, one non-federated field. ∞: results not delivered by the end of the wait count as infinitely late. executions/s: gateway_subscription_executions_total over the window (first measured publish to the end of the wait).',
  );
  for (const r of results) {
    for (const p of r.problems) console.log(`${r.kind}: PROBLEM: ${p}`);
  }
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const options = parseOptions();
  console.log(
    `Subscriptions benchmark${options.quick ? ' (--quick)' : ''}: runs ${options.runs.join(', ')}; ${options.connections} connections; ${options.subscribers} subscribers at ${options.rate} events/s for ${options.warmup} s warm-up + ${options.seconds} s; ${options.clientProcesses} subscriber processes; ${os.cpus().length} CPUs`,
  );
  const limit = openFilesLimit();
  const needed = Math.max(options.connections, options.subscribers) + 256;
  if (limit === undefined) {
    console.log('open files limit: unknown (no /proc/self/limits)');
  } else if (limit < needed) {
    console.log(
      `open files limit (ulimit -n) ${limit} is below the ~${needed} the gateway needs: it limits the connections run; raise it with \`ulimit -n\``,
    );
  } else {
    console.log(
      `open files limit (ulimit -n) ${limit === Infinity ? 'unlimited' : limit} >= ~${needed} needed per process: not limiting`,
    );
  }

  const started = Date.now();
  console.log('starting broker, subgraphs, gateway ...');
  const platform = await startPlatform((line) => console.log(line), options.profile);
  console.log(`  ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  let connections: ConnectionsResult | undefined;
  const latencies: LatencyResult[] = [];
  const failedRuns: string[] = [];
  for (const run of options.runs) {
    if (run === 'connections') connections = await connectionsRun(platform, options);
    else {
      // One run failing (a baseline that cannot start, say) leaves the others' figures.
      try {
        latencies.push(await latencyRun(platform, options, run));
      } catch (error) {
        failedRuns.push(`${run}: ${error instanceof Error ? error.message : String(error)}`);
        console.error(`${run} failed: ${failedRuns[failedRuns.length - 1] ?? ''}`);
      }
    }
  }
  console.log(`\ndone in ${((Date.now() - started) / 1000).toFixed(0)} s; cleaning up ...`);
  await teardown();

  if (connections) reportConnections(connections);
  if (latencies.length > 0) reportLatency(latencies, options);
  for (const failed of failedRuns) console.log(`FAILED: ${failed}`);
  if (failedRuns.length > 0) process.exitCode = 1;
}

runBench('bench:subscriptions', main, teardown);
