/**
 * The whole live path as deployed: `npm run bench:pipeline [-- --subscribers N --rate R
 * --seconds S]`.
 *
 * Processes, each started from its `main.ts` as `npm start` starts it (test/processes.ts's
 * `spawnService`): the users, interviews and reporting subgraphs, the notification service and the
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
import { KafkaService } from '../events';
import type { Identity } from '../contracts/identity';
import { freePort } from '../test/helpers';
import { spawnService, type ServiceProcess } from '../test/processes';
import { integerFlag, parseFlags } from './lib/args';
import { wallClock } from './lib/clock';
import { fixed } from './lib/format';
import { sleepUntil } from './lib/pace';
import { mergeSorted, percentile } from './lib/stats';
import { markdownTable as table } from './lib/table';
import { createTeardown } from './lib/teardown';
import { sampleEvery, sampleProcess } from './lib/usage';
import { waitFor } from './lib/wait';
import { startRunBroker } from './platform/broker';
import {
  gatewayQuery,
  metric,
  registerCandidate,
  startInterview,
  waitForReport,
} from './subscriptions/platform';
import {
  awaitResults,
  collectAll,
  openAll,
  spawnClients,
  type ClientProcess,
} from './subscriptions/protocol';
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
  const values = parseFlags(
    {
      subscribers: { type: 'string' },
      rate: { type: 'string' },
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      drain: { type: 'string' },
      'client-processes': { type: 'string' },
      concurrency: { type: 'string' },
      federated: { type: 'boolean', default: false },
    },
    'usage: npm run bench:pipeline -- [--subscribers N=1000] [--rate MUTATIONS_PER_S=100]\n' +
      '         [--seconds S=10] [--warmup MUTATIONS=50] [--drain S=15] [--client-processes N=2]\n' +
      '         [--concurrency N=64]\n' +
      '         [--federated]\n' +
      '  environment, used when the flag is not given: BENCH_SUBSCRIBERS, BENCH_RATE, BENCH_SECONDS\n',
  );
  const env = process.env;
  return {
    subscribers: integerFlag('subscribers', values.subscribers ?? env.BENCH_SUBSCRIBERS, 1_000),
    rate: integerFlag('rate', values.rate ?? env.BENCH_RATE, 100),
    seconds: integerFlag('seconds', values.seconds ?? env.BENCH_SECONDS, 10),
    warmup: integerFlag('warmup', values.warmup, 50, 0),
    drain: integerFlag('drain', values.drain, 15),
    clientProcesses: integerFlag('client-processes', values['client-processes'], 2),
    concurrency: integerFlag('concurrency', values.concurrency, 64),
    federated: values.federated,
  };
}

// ---------------------------------------------------------------------------------------------
// Cleanup: steps run last-registered first

const cleanup = createTeardown();
const teardown = (): Promise<void> => cleanup.run();

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
  cleanup.defer(() => fsp.rm(dir, { recursive: true, force: true }));
  const { broker, topicPrefix: prefix } = await startRunBroker({
    dataDir: join(dir, 'kafka'),
    name: 'bench-pipeline',
    log,
    defer: cleanup.defer,
  });
  const brokerList = broker.brokers;
  const brokerPid = broker.pid;
  const brokerDescription = broker.description;

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
  cleanup.defer(async () => {
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
  cleanup.defer(() => publisher.stop());
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
    interviews.push(
      await startInterview(url, candidate, `Pipeline benchmark ${i + 1}`, QUESTIONS_PER_INTERVIEW),
    );
  }
  // The seed's own events (created, started) must be through the pipeline before subscribers
  // open, or they would count as results: wait until reporting has projected the last start.
  const last = interviews[interviews.length - 1];
  if (last !== undefined) {
    await waitForReport(
      url,
      last.id,
      candidate,
      'the reporting read model to show the last interview in progress',
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
  cleanup.defer(async () => {
    await Promise.all(clients.map((c) => c.stop()));
  });
  const opened = await openAll(
    clients,
    Array.from({ length: options.subscribers }, () => candidate),
    {
      url: pipeline.gatewayUrl.replace(/^http/, 'ws'),
      query: `subscription { myInterviewEvents { ${selection} } }`,
      variables: {},
      concurrency: options.concurrency,
      eventTag: '',
      timing: 'timestamp',
    },
  );
  return {
    clients,
    subscribed: opened.subscribed,
    failed: opened.failed,
    ...(opened.firstFailure === undefined ? {} : { first: opened.firstFailure }),
  };
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
    await sleepUntil(first + k * interval);
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
  const sampler = sampleEvery(1_000, () => {
    sampleAll().samples.forEach((s, i) => {
      rssPeak[i] = Math.max(rssPeak[i] ?? 0, s.rssBytes);
    });
  });

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
  const drained = await awaitResults(opened.clients, expected, lastSend, options.drain * 1000);
  if (drained.gaveUp !== undefined) {
    problems.push(
      `${drained.gaveUp === 'stalled' ? 'nothing arrived for 5 s' : `waited ${options.drain} s after the last mutation`}: ${drained.received} of ${expected} results delivered; the rest count as undelivered in the percentiles`,
    );
  }
  const after = sampleAll();
  await sampler.stop();
  await probe.disconnect();
  const gatewayDelivered = await metric(
    pipeline.gatewayUrl,
    'gateway_subscription_results_delivered_total',
  ).catch(() => Number.NaN);

  const collected = await collectAll(opened.clients, new Float64Array(0), 0, 0);
  const latencies = mergeSorted(collected.map((c) => c.latencies));
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
