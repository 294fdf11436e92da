/**
 * The whole live path as deployed: `npm run bench:pipeline [-- --subscribers N --rate R
 * --seconds S]`.
 *
 * Processes, each started from its `main.ts` as `npm start` starts it (bench/pipeline/
 * processes.ts): the users, interviews and reporting subgraphs, the notification service and the
 * gateway (development mode: callers by the `x-identity` header, no sign-in), a local Kafka
 * broker unless KAFKA_BROKERS names one, `--client-processes` subscriber processes
 * (bench/subscriptions/clients.ts), and this one, which seeds and drives.
 *
 * 1. Seeds one candidate: a `user.registered` event (as the gateway publishes at sign-in), then
 *    as them, through the gateway, ceil(R × S / 50) interviews of 50 questions each, started.
 * 2. Opens `--subscribers` graphql-ws subscriptions of `myInterviewEvents` as the candidate.
 * 3. Sends `submitAnswer` mutations over HTTP to the gateway at R per second for S seconds
 *    (open loop: each at its time, not after the previous answer), one per question.
 * 4. Waits until every subscriber has one result per mutation that succeeded (or nothing arrived
 *    for 5 s, or `--drain` s passed), and prints: mutations sent and succeeded, the achieved
 *    rate and their response times; results delivered/expected and the latency from the event's
 *    own `timestamp` (set by the interviews subgraph in the mutation's transaction) to the
 *    result's arrival at a subscriber, p50/p95/p99; and per process its CPU (share of one core
 *    and CPU ms, from /proc/<pid>/stat) and RSS over the driven window.
 *
 * Topics and groups live under a random prefix (`bench-pipeline-<hex>.`) and are deleted at the
 * end with the processes and the temp folder (SQLite databases, mail), also on Ctrl-C or an error.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config';
import { KafkaService } from '../events';
import type { Identity } from '../contracts/identity';
import { startLocalKafka } from '../scripts/kafka/local-kafka';
import { deleteWithPrefix } from './platform/broker';
import { freePort, sampleProcess, spawnService, type ServiceProcess } from './pipeline/processes';
import { gatewayQuery, metric, registerCandidate, waitFor } from './subscriptions/platform';
import { spawnClients, wallClock, type ClientProcess } from './subscriptions/protocol';
import { runBench } from './run';

interface Options {
  subscribers: number;
  rate: number;
  seconds: number;
  /** Mutations sent before anyone subscribes, not measured. */
  warmup: number;
  drain: number;
  clientProcesses: number;
  concurrency: number;
  /** Also select fields the interviews subgraph resolves (one plan execution per event). */
  federated: boolean;
}

const QUESTIONS_PER_INTERVIEW = 50;

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      subscribers: { type: 'string' },
      rate: { type: 'string' },
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      drain: { type: 'string' },
      'client-processes': { type: 'string' },
      concurrency: { type: 'string' },
      federated: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help === true) {
    process.stdout.write(
      'usage: npm run bench:pipeline -- [--subscribers N=1000] [--rate MUTATIONS_PER_S=100]\n' +
        '         [--seconds S=10] [--warmup MUTATIONS=50] [--drain S=15] [--client-processes N=2]\n' +
        '         [--concurrency N=64]\n' +
        '         [--federated]\n' +
        '  environment, used when the flag is not given: BENCH_SUBSCRIBERS, BENCH_RATE, BENCH_SECONDS\n',
    );
    process.exit(0);
  }
  const env = process.env;
  const integer = (name: string, raw: string | undefined, fallback: number, min = 1): number => {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min) {
      throw new Error(`--${name} must be an integer >= ${min} (got ${raw})`);
    }
    return value;
  };
  return {
    subscribers: integer('subscribers', values.subscribers ?? env.BENCH_SUBSCRIBERS, 1_000),
    rate: integer('rate', values.rate ?? env.BENCH_RATE, 100),
    seconds: integer('seconds', values.seconds ?? env.BENCH_SECONDS, 10),
    warmup: integer('warmup', values.warmup, 50, 0),
    drain: integer('drain', values.drain, 15),
    clientProcesses: integer('client-processes', values['client-processes'], 2),
    concurrency: integer('concurrency', values.concurrency, 64),
    federated: values.federated === true,
  };
}

// ---------------------------------------------------------------------------------------------
// Cleanup: steps run last-registered first

const cleanup: (() => Promise<void>)[] = [];
let tearingDown: Promise<void> | undefined;

function teardown(): Promise<void> {
  tearingDown ??= (async () => {
    for (let step = cleanup.pop(); step !== undefined; step = cleanup.pop()) {
      await step().catch((error: unknown) =>
        console.error(`cleanup failed: ${error instanceof Error ? error.message : String(error)}`),
      );
    }
  })();
  return tearingDown;
}

// ---------------------------------------------------------------------------------------------
// The platform

interface Pipeline {
  services: ServiceProcess[];
  gateway: ServiceProcess;
  gatewayUrl: string;
  brokerPid?: number;
  brokerDescription: string;
  publisher: KafkaService;
}

async function startPipeline(log: (line: string) => void): Promise<Pipeline> {
  const dir = await fsp.mkdtemp(join(os.tmpdir(), 'bench-pipeline-'));
  cleanup.push(() => fsp.rm(dir, { recursive: true, force: true }));
  const config = loadConfig();

  let brokers = config.kafka.brokers;
  let brokerPid: number | undefined;
  let brokerDescription = `external (KAFKA_BROKERS=${brokers?.join(',') ?? ''})`;
  if (brokers === undefined) {
    log(`  KAFKA_BROKERS unset: starting a local Kafka ${config.localKafka.version}`);
    const local = await startLocalKafka({
      version: config.localKafka.version,
      port: 0,
      dataDir: join(dir, 'kafka'),
      heapMb: config.localKafka.heapMb,
      log: (line) => log(`  ${line}`),
    });
    cleanup.push(() => local.stop());
    brokers = local.brokers;
    brokerPid = local.pid;
    brokerDescription = `local Kafka ${config.localKafka.version} on ${brokers.join(',')}`;
  }
  const brokerList = brokers;
  const prefix = `bench-pipeline-${randomBytes(4).toString('hex')}.`;
  cleanup.push(async () => {
    const { groups, topics } = await deleteWithPrefix(brokerList, prefix);
    log(`deleted under ${prefix}: ${groups.length} groups, ${topics.length} topics`);
  });
  log(`  broker: ${brokerDescription}, topic prefix ${prefix}`);

  const ports = {
    users: await freePort(),
    interviews: await freePort(),
    reporting: await freePort(),
    notifications: await freePort(),
    gateway: await freePort(),
  };
  // As test/processes.ts: only what the services read, nothing of this shell's sign-in settings.
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'development',
    LOG_LEVEL: 'warn',
    KAFKA_BROKERS: brokerList.join(','),
    KAFKA_TOPIC_PREFIX: prefix,
    DATA_DIR: join(dir, 'data'),
    INTERNAL_TOKEN_SECRET: randomBytes(48).toString('base64url'),
    USERS_PORT: String(ports.users),
    INTERVIEWS_PORT: String(ports.interviews),
    REPORTING_PORT: String(ports.reporting),
    NOTIFICATIONS_PORT: String(ports.notifications),
    GATEWAY_PORT: String(ports.gateway),
    GATEWAY_SUBGRAPH_URLS: (['users', 'interviews', 'reporting'] as const)
      .map((name) => `${name}=http://127.0.0.1:${ports[name]}/graphql`)
      .join(','),
  };
  const services: ServiceProcess[] = [];
  cleanup.push(async () => {
    for (const service of [...services].reverse()) await service.stop();
  });
  const started = await Promise.allSettled([
    spawnService('users', 'subgraphs/users/main.ts', ports.users, env),
    spawnService('interviews', 'subgraphs/interviews/main.ts', ports.interviews, env),
    spawnService('reporting', 'subgraphs/reporting/main.ts', ports.reporting, env),
    spawnService('notifications', 'notifications/main.ts', ports.notifications, env),
  ]);
  for (const result of started) if (result.status === 'fulfilled') services.push(result.value);
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  // The gateway after the subgraphs, as npm start does: it probes them at start.
  const gateway = await spawnService('gateway', 'gateway/main.ts', ports.gateway, env);
  services.push(gateway);
  for (const service of services) {
    log(`  ${service.name} at ${service.baseUrl} (pid ${service.child.pid ?? '?'})`);
  }

  // Publishes the candidate's registration, as the gateway does at sign-in.
  const publisher = new KafkaService('api-gateway', {
    brokers: brokerList,
    topicPrefix: prefix,
    announce: false,
  });
  await publisher.start();
  cleanup.push(() => publisher.stop());
  return {
    services,
    gateway,
    gatewayUrl: `${gateway.baseUrl}/graphql`,
    ...(brokerPid === undefined ? {} : { brokerPid }),
    brokerDescription,
    publisher,
  };
}

interface Seeded {
  candidate: Identity & { email: string };
  /** Interview id and its question ids, in order. */
  interviews: { id: string; questionIds: string[] }[];
}

/** One registered candidate with `count` started interviews of 50 questions each. */
async function seed(pipeline: Pipeline, count: number): Promise<Seeded> {
  const candidate = {
    userId: `bench-pipeline-candidate-${randomBytes(3).toString('hex')}`,
    email: 'pipeline-candidate@bench.example.com',
    roles: [],
  };
  const url = pipeline.gatewayUrl;
  await registerCandidate(url, pipeline.publisher, candidate);
  const interviews: Seeded['interviews'] = [];
  for (let i = 0; i < count; i++) {
    const { createInterview } = await gatewayQuery<{
      createInterview: { id: string; questions: { id: string }[] };
    }>(
      url,
      'mutation ($input: CreateInterviewInput!) { createInterview(input: $input) { id questions { id } } }',
      {
        input: {
          title: `Pipeline benchmark ${i + 1}`,
          position: 'Backend engineer',
          questions: Array.from({ length: QUESTIONS_PER_INTERVIEW }, (_, q) => `Question ${q + 1}`),
        },
      },
      candidate,
    );
    await gatewayQuery(
      url,
      'mutation ($id: ID!) { startInterview(id: $id) { status } }',
      { id: createInterview.id },
      candidate,
    );
    interviews.push({
      id: createInterview.id,
      questionIds: createInterview.questions.map((q) => q.id),
    });
  }
  // The seed's own events (created, started) must be through the pipeline before subscribers
  // open, or they would count as results: wait until reporting has projected the last start.
  const last = interviews[interviews.length - 1];
  if (last !== undefined) {
    await waitFor(
      'the reporting read model to show the last interview in progress',
      async () => {
        const { interview } = await gatewayQuery<{
          interview: { status: string; report: { status: string } | null } | null;
        }>(
          url,
          'query ($id: ID!) { interview(id: $id) { status report { status } } }',
          { id: last.id },
          candidate,
        );
        return (
          interview?.report?.status !== undefined &&
          interview.report.status.toUpperCase() === interview.status.toUpperCase()
        );
      },
      60_000,
    );
  }
  await sleep(1_000);
  return { candidate, interviews };
}

// ---------------------------------------------------------------------------------------------
// Subscribers and mutations

async function openSubscribers(
  pipeline: Pipeline,
  options: Options,
  candidate: Identity,
): Promise<{ clients: ClientProcess[]; subscribed: number; failed: number; first?: string }> {
  const selection = options.federated
    ? 'eventId eventType timestamp interview { id title status }'
    : 'eventId eventType timestamp';
  const count = Math.min(options.clientProcesses, options.subscribers);
  const clients = Array.from({ length: count }, () => spawnClients());
  cleanup.push(async () => {
    await Promise.all(clients.map((c) => c.stop()));
  });
  const opened = await Promise.all(
    clients.map((client, i) => {
      const share =
        Math.floor(options.subscribers / count) + (i < options.subscribers % count ? 1 : 0);
      const reply = client.next('opened', 60_000 + share * 20);
      client.send({
        type: 'open',
        url: pipeline.gatewayUrl.replace(/^http/, 'ws'),
        query: `subscription { myInterviewEvents { ${selection} } }`,
        variables: {},
        identities: Array.from({ length: share }, () => candidate),
        concurrency: options.concurrency,
        eventTag: '',
        timing: 'timestamp',
      });
      return reply;
    }),
  );
  const first = opened.find((o) => o.firstFailure !== undefined)?.firstFailure;
  return {
    clients,
    subscribed: opened.reduce((sum, o) => sum + o.subscribed, 0),
    failed: opened.reduce((sum, o) => sum + o.failed, 0),
    ...(first === undefined ? {} : { first }),
  };
}

async function received(clients: ClientProcess[]): Promise<number> {
  const replies = await Promise.all(
    clients.map((client) => {
      const reply = client.next('count', 10_000);
      client.send({ type: 'count' });
      return reply;
    }),
  );
  return replies.reduce((sum, r) => sum + r.received, 0);
}

interface Driven {
  sent: number;
  succeeded: number;
  firstFailure?: string;
  /** First to last send, s. */
  sendSeconds: number;
  /** Response times of the mutations that succeeded, sorted, ms. */
  responseTimes: Float64Array;
}

/**
 * `count` `submitAnswer` mutations at `rate`/s, each at its time, at most 2,000 outstanding,
 * answering the seeded questions from number `from` on (50 per interview, in order).
 */
async function drive(
  pipeline: Pipeline,
  seeded: Seeded,
  rate: number,
  from: number,
  count: number,
): Promise<Driven> {
  const total = count;
  const interval = 1000 / rate;
  const responseTimes = new Float64Array(total);
  let succeeded = 0;
  let firstFailure: string | undefined;
  const outstanding = new Set<Promise<void>>();
  const first = wallClock() + 20;
  let sent = 0;
  let firstSend = 0;
  let lastSend = 0;
  for (let k = 0; k < total; k++) {
    const wait = first + k * interval - wallClock();
    if (wait > 0) await sleep(wait);
    while (outstanding.size >= 2_000) await Promise.race(outstanding);
    const n = from + k;
    const interview = seeded.interviews[Math.floor(n / QUESTIONS_PER_INTERVIEW)];
    const questionId = interview?.questionIds[n % QUESTIONS_PER_INTERVIEW];
    if (interview === undefined || questionId === undefined) break;
    const sentAt = wallClock();
    if (k === 0) firstSend = sentAt;
    lastSend = sentAt;
    sent++;
    const request = gatewayQuery(
      pipeline.gatewayUrl,
      'mutation ($interviewId: ID!, $questionId: ID!, $content: String!) { submitAnswer(interviewId: $interviewId, questionId: $questionId, content: $content) { id } }',
      {
        interviewId: interview.id,
        questionId,
        content: `Answer ${n + 1}: it depends on the load.`,
      },
      seeded.candidate,
    ).then(
      () => {
        responseTimes[succeeded++] = wallClock() - sentAt;
      },
      (error: unknown) => {
        firstFailure ??= error instanceof Error ? error.message : String(error);
      },
    );
    outstanding.add(request);
    void request.finally(() => outstanding.delete(request));
  }
  await Promise.all(outstanding);
  return {
    sent,
    succeeded,
    ...(firstFailure === undefined ? {} : { firstFailure }),
    sendSeconds: (lastSend - firstSend) / 1000,
    responseTimes: responseTimes.slice(0, succeeded).sort(),
  };
}

/** The gateway's count of `interview-events` routed by its live feed; NaN without the metric. */
async function feedEvents(pipeline: Pipeline): Promise<number> {
  const text = await (await fetch(new URL('/metrics', pipeline.gatewayUrl))).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith('gateway_live_feed_events_total{topic="interview-events"}'));
  return line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/**
 * `--warmup` mutations before anyone subscribes (compiled code paths, connection pools, the
 * outbox relay's first rounds), then waits until the gateway's feed has routed their events, so
 * none of them reaches a subscriber.
 */
async function warmUp(pipeline: Pipeline, seeded: Seeded, options: Options): Promise<void> {
  const before = await feedEvents(pipeline);
  const driven = await drive(pipeline, seeded, options.rate, 0, options.warmup);
  if (driven.firstFailure !== undefined) {
    throw new Error(`a warm-up mutation failed: ${driven.firstFailure.slice(0, 300)}`);
  }
  if (Number.isNaN(before)) {
    await sleep(3_000);
    return;
  }
  await waitFor(
    'the gateway to route the warm-up events',
    async () => (await feedEvents(pipeline)) >= before + driven.succeeded,
    60_000,
    100,
  );
  await sleep(500);
}

// ---------------------------------------------------------------------------------------------
// Output

function percentile(sorted: Float64Array, p: number, total = sorted.length): number {
  if (total === 0) return Number.NaN;
  const i = Math.min(total - 1, Math.max(0, Math.ceil((p / 100) * total) - 1));
  return i < sorted.length ? (sorted[i] ?? Number.NaN) : Infinity;
}

const fixed = (value: number, digits = 1) =>
  value === Infinity ? '∞' : Number.isFinite(value) ? value.toFixed(digits) : '-';

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]?.length ?? 0)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  return [
    line(head),
    `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
    ...rows.map(line),
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const options = parseOptions();
  const measured = options.rate * options.seconds;
  const interviewCount = Math.ceil((options.warmup + measured) / QUESTIONS_PER_INTERVIEW);
  console.log(
    `Pipeline benchmark: ${options.subscribers} subscribers of myInterviewEvents${options.federated ? ' (federated selection)' : ''}; submitAnswer at ${options.rate}/s for ${options.seconds} s over ${interviewCount} interviews; ${options.clientProcesses} subscriber processes; ${os.cpus().length} CPUs`,
  );
  const started = Date.now();
  console.log('starting broker, subgraphs, notifications, gateway ...');
  const pipeline = await startPipeline((line) => console.log(line));
  console.log(`  ready in ${((Date.now() - started) / 1000).toFixed(1)} s; seeding ...`);
  const seeded = await seed(pipeline, interviewCount);
  console.log(
    `  candidate ${seeded.candidate.userId}, ${seeded.interviews.length} interviews started`,
  );
  if (options.warmup > 0) {
    await warmUp(pipeline, seeded, options);
    console.log(`  warmed up: ${options.warmup} mutations before anyone subscribed`);
  }

  const opened = await openSubscribers(pipeline, options, seeded.candidate);
  const problems: string[] = [];
  if (opened.failed > 0) {
    problems.push(`${opened.failed} subscribers failed, first: ${opened.first ?? '?'}`);
  }
  await waitFor(
    `${opened.subscribed} subscribers at the gateway`,
    async () => (await metric(pipeline.gatewayUrl, 'gateway_subscriptions')) >= opened.subscribed,
    60_000,
    100,
  );
  console.log(`  ${opened.subscribed} subscribed; driving submitAnswer ...`);

  const processes = [
    ...pipeline.services.map((s) => ({ name: s.name, pid: s.child.pid })),
    ...opened.clients.map((c, i) => ({ name: `subscribers ${i + 1}`, pid: c.process.pid })),
    { name: 'bench (mutation driver)', pid: process.pid },
    ...(pipeline.brokerPid === undefined
      ? []
      : [{ name: 'kafka broker', pid: pipeline.brokerPid }]),
  ];
  const sampleAll = () => ({
    at: wallClock(),
    samples: processes.map((p) => sampleProcess(p.pid)),
  });
  const before = sampleAll();
  const rssPeak = processes.map(() => 0);
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      sampleAll().samples.forEach((s, i) => {
        rssPeak[i] = Math.max(rssPeak[i] ?? 0, s.rssBytes);
      });
      await sleep(1_000);
    }
  })();

  // Where the time goes before the gateway: a plain consumer of interview-events (a group of its
  // own, from the end) notes, per answer event, its Kafka timestamp (set when the relay handed it
  // to the producer) and its arrival, against the event's own timestamp (in the transaction).
  const stages = { relayed: [] as number[], consumed: [] as number[] };
  const probe = pipeline.publisher.rawConsumer(`bench-pipeline-probe-${process.pid}`, {
    maxWaitTimeInMs: 100,
  });
  await probe.connect();
  await probe.subscribe({
    topic: pipeline.publisher.topicName('interview-events'),
    fromBeginning: false,
  });
  const probeJoined = new Promise<void>((resolve) =>
    probe.on(probe.events.GROUP_JOIN, () => resolve()),
  );
  await probe.run({
    eachMessage: async ({ message }) => {
      const arrived = wallClock();
      const event = JSON.parse(message.value?.toString() ?? '{}') as {
        eventType?: string;
        timestamp?: string;
      };
      if (event.eventType !== 'interview.answer_submitted' || !event.timestamp) return;
      const at = Date.parse(event.timestamp);
      stages.relayed.push(Number(message.timestamp) - at);
      stages.consumed.push(arrived - at);
    },
  });
  await probeJoined;

  const driven = await drive(pipeline, seeded, options.rate, options.warmup, measured);
  const lastSend = wallClock();
  if (driven.firstFailure !== undefined) {
    problems.push(
      `${driven.sent - driven.succeeded} mutations failed, first: ${driven.firstFailure.slice(0, 300)}`,
    );
  }

  const expected = opened.subscribed * driven.succeeded;
  let got = 0;
  let lastChange = wallClock();
  for (;;) {
    const now = await received(opened.clients);
    if (now !== got) lastChange = wallClock();
    got = now;
    if (got >= expected) break;
    const stalled = wallClock() - lastChange > 5_000;
    if (stalled || wallClock() - lastSend > options.drain * 1000) {
      problems.push(
        `${stalled ? 'nothing arrived for 5 s' : `waited ${options.drain} s after the last mutation`}: ${got} of ${expected} results delivered; the rest count as undelivered in the percentiles`,
      );
      break;
    }
    await sleep(100);
  }
  const after = sampleAll();
  sampling = false;
  await sampler;
  await probe.disconnect();
  const gatewayDelivered = await metric(
    pipeline.gatewayUrl,
    'gateway_subscription_results_delivered_total',
  ).catch(() => Number.NaN);

  const collected = await Promise.all(
    opened.clients.map((client) => {
      const reply = client.next('collected', 60_000);
      client.send({ type: 'collect', publishTimes: new Float64Array(0), from: 0, to: 0 });
      return reply;
    }),
  );
  const latencies = new Float64Array(collected.reduce((sum, c) => sum + c.latencies.length, 0));
  let offset = 0;
  for (const c of collected) {
    latencies.set(c.latencies, offset);
    offset += c.latencies.length;
  }
  latencies.sort();
  const mismatches = collected.reduce((sum, c) => sum + c.mismatches + c.unknown, 0);
  const firstProblem = collected.find((c) => c.firstProblem !== undefined)?.firstProblem;
  if (mismatches > 0) problems.push(`${mismatches} results with errors or without a timestamp`);
  if (latencies.length > expected) {
    problems.push(`${latencies.length - expected} results more than mutations x subscribers`);
  }
  if (firstProblem !== undefined && problems.length > 0) problems.push(`first: ${firstProblem}`);

  console.log(`\ndone in ${((Date.now() - started) / 1000).toFixed(0)} s; cleaning up ...`);
  await teardown();

  const seconds = Math.max(0.001, (after.at - before.at) / 1000);
  console.log(
    `\nMutations: submitAnswer over HTTP through the gateway, ${options.rate}/s for ${options.seconds} s (open loop)\n`,
  );
  console.log(
    table(
      ['sent', 'succeeded', 'achieved /s', 'response p50 ms', 'response p99 ms', 'response max ms'],
      [
        [
          String(driven.sent),
          String(driven.succeeded),
          fixed((driven.sent - 1) / Math.max(0.001, driven.sendSeconds)),
          fixed(percentile(driven.responseTimes, 50)),
          fixed(percentile(driven.responseTimes, 99)),
          fixed(driven.responseTimes[driven.responseTimes.length - 1] ?? Number.NaN),
        ],
      ],
    ),
  );
  console.log(
    `\nResults: myInterviewEvents at ${opened.subscribed} subscribers; latency from the event's timestamp (the mutation's transaction, interviews subgraph) to arrival\n`,
  );
  console.log(
    table(
      [
        'subscribers',
        'delivered/expected',
        'p50 ms',
        'p95 ms',
        'p99 ms',
        'max ms',
        'delivered only p50/p99 ms',
        'gateway delivered (metric)',
      ],
      [
        [
          String(opened.subscribed),
          `${latencies.length}/${expected}`,
          fixed(percentile(latencies, 50, expected)),
          fixed(percentile(latencies, 95, expected)),
          fixed(percentile(latencies, 99, expected)),
          latencies.length < expected ? '∞' : fixed(latencies[latencies.length - 1] ?? Number.NaN),
          `${fixed(percentile(latencies, 50))}/${fixed(percentile(latencies, 99))}`,
          fixed(gatewayDelivered, 0),
        ],
      ],
    ),
  );
  console.log(
    `\nCPU per process from the first mutation to the end of the wait (${seconds.toFixed(1)} s; /proc/<pid>/stat utime+stime, all threads)\n`,
  );
  const rows = processes.map((p, i) => {
    const cpuMs =
      (after.samples[i]?.cpuMs ?? Number.NaN) - (before.samples[i]?.cpuMs ?? Number.NaN);
    return [
      p.name,
      String(p.pid ?? '?'),
      fixed((cpuMs / 1000 / seconds) * 100, 0),
      fixed(cpuMs, 0),
      fixed((rssPeak[i] ?? Number.NaN) / 1024 / 1024, 0),
    ];
  });
  const total = processes.reduce(
    (sum, _, i) =>
      sum + ((after.samples[i]?.cpuMs ?? Number.NaN) - (before.samples[i]?.cpuMs ?? Number.NaN)),
    0,
  );
  rows.push(['all of these', '', fixed((total / 1000 / seconds) * 100, 0), fixed(total, 0), '']);
  console.log(table(['process', 'pid', 'CPU % of a core', 'CPU ms', 'peak RSS MB'], rows));
  console.log(
    `\nper mutation: ${fixed(total / Math.max(1, driven.succeeded), 2)} ms of CPU in all; per result delivered: ${fixed((total * 1000) / Math.max(1, latencies.length), 1)} µs. Kafka: ${pipeline.brokerDescription}${pipeline.brokerPid === undefined ? ' (not measured)' : ''}. The event timestamp has millisecond resolution.`,
  );
  const stage = (values: number[]) => {
    const sorted = Float64Array.from(values).sort();
    return [50, 95, 99].map((q) => fixed(percentile(sorted, q), 1));
  };
  console.log(
    `\nStages of an answer event, ms from its timestamp (a plain consumer of interview-events, ${stages.consumed.length} events)\n`,
  );
  console.log(
    table(
      ['stage', 'p50', 'p95', 'p99'],
      [
        ['committed and handed to the producer (Kafka timestamp)', ...stage(stages.relayed)],
        ['read back from Kafka by a plain consumer', ...stage(stages.consumed)],
        ['arrived at a subscriber through the gateway', ...stage([...latencies])],
      ],
    ),
  );
  for (const p of problems) console.log(`PROBLEM: ${p}`);
  if (problems.length > 0) process.exitCode = 1;
}

runBench('bench:pipeline', main, teardown);
