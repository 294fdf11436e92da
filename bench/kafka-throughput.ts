/**
 * KafkaService throughput and latency benchmark: `npm run bench:kafka [-- --events N --rate R]`.
 *
 * Uses the cluster in KAFKA_BROKERS, or starts a throw-away local broker (temp data dir) when it
 * is unset. Everything it creates lives under a random topic prefix and a random consumer group,
 * and is deleted at the end, so it never touches real topics.
 *
 * Phases, all on `interview-events` with `interview.answer_submitted` events over ~100 interviews:
 *  1. burst: N publishes issued at once, at most `--window` outstanding; events/s from the first
 *     publish to the last ack, and end-to-end until the subscriber has handled all N;
 *  2. sequential: `--sequential` publishes, each awaited, to show the cost of one produce request;
 *  3. paced: N publishes at `--rate` events/s; publish-to-handler latency percentiles.
 * A subscriber (own group, `fromBeginning`, joined before anything is published) timestamps each
 * event in its handler; latency is handler time minus the time just before `publishEvent`.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import { loadConfig } from '../config';
import { InterviewEventFactory, KafkaService, type EventEnvelope } from '../events';
import { createLogger } from '../lib/logger';
import { integerFlag, parseFlags } from './lib/args';
import { msSince, nowNs } from './lib/clock';
import { grouped } from './lib/format';
import { pace } from './lib/pace';
import { mean, percentile } from './lib/stats';
import { createTeardown } from './lib/teardown';
import { cpuMsSince } from './lib/usage';
import { startBenchBroker } from './platform/broker';
import { runBench } from './run';

type Phase = 'warmup' | 'burst' | 'sequential' | 'paced';
type AnswerSubmitted = EventEnvelope<'interview.answer_submitted'>;

const TOPIC = 'interview-events';
const INTERVIEWS = 100;
const QUESTIONS_PER_INTERVIEW = 20;

interface Options {
  events: number;
  sequential: number;
  rate: number;
  window: number;
}

function parseOptions(): Options {
  const values = parseFlags(
    {
      events: { type: 'string' },
      sequential: { type: 'string' },
      rate: { type: 'string' },
      window: { type: 'string' },
    },
    'usage: npm run bench:kafka -- [--events N=10000] [--sequential N=1000] [--rate EVENTS_PER_S=1000] [--window N=1000]\n',
  );
  return {
    events: integerFlag('events', values.events, 10_000),
    sequential: integerFlag('sequential', values.sequential, 1_000),
    rate: integerFlag('rate', values.rate, 1_000),
    window: integerFlag('window', values.window, 1_000),
  };
}

// ---------------------------------------------------------------------------------------------
// Events and timing

let sequence = 0;

function makeEvent(): AnswerSubmitted {
  const n = sequence++;
  const interview = n % INTERVIEWS;
  const answered = (Math.floor(n / INTERVIEWS) % QUESTIONS_PER_INTERVIEW) + 1;
  return InterviewEventFactory.create('interview.answer_submitted', {
    interviewId: `bench-interview-${interview}`,
    candidateId: `bench-candidate-${interview}`,
    questionId: `q-${answered}`,
    answerId: `a-${n}`,
    wordCount: 40 + (n % 200),
    answeredQuestions: answered,
    totalQuestions: QUESTIONS_PER_INTERVIEW,
  });
}

/** Per-phase bookkeeping shared by publisher and subscriber. */
class Tracker {
  private readonly started = new Map<string, { phase: Phase; at: bigint }>();
  readonly latenciesMs: Record<Phase, number[]> = {
    warmup: [],
    burst: [],
    sequential: [],
    paced: [],
  };
  readonly lastHandledAt: Partial<Record<Phase, bigint>> = {};
  private waiters: Array<{ phase: Phase; count: number; resolve: () => void }> = [];
  unknown = 0;

  /** Call immediately before `publishEvent`. */
  mark(eventId: string, phase: Phase): void {
    this.started.set(eventId, { phase, at: nowNs() });
  }

  handled(eventId: string): void {
    const at = nowNs();
    const start = this.started.get(eventId);
    if (start === undefined) {
      this.unknown++; // a redelivery, or not ours
      return;
    }
    this.started.delete(eventId);
    this.latenciesMs[start.phase].push(msSince(start.at, at));
    this.lastHandledAt[start.phase] = at;
    this.waiters = this.waiters.filter((w) => {
      if (this.latenciesMs[w.phase].length < w.count) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves once `count` events of `phase` were handled; rejects after `timeoutMs`. */
  async waitFor(phase: Phase, count: number, timeoutMs: number): Promise<void> {
    if (this.latenciesMs[phase].length >= count) return;
    const ac = new AbortController();
    const reached = new Promise<void>((resolve) => {
      this.waiters.push({ phase, count, resolve });
    });
    const timedOut = sleep(timeoutMs, undefined, { signal: ac.signal }).then(() => {
      throw new Error(
        `subscriber handled ${this.latenciesMs[phase].length}/${count} ${phase} events within ${timeoutMs} ms`,
      );
    });
    try {
      await Promise.race([reached, timedOut]);
    } finally {
      ac.abort();
      timedOut.catch(() => undefined);
    }
  }
}

/** Produce-request statistics, from the service's `onProduceRequest` hook. */
class ProduceStats {
  requests = 0;
  durationsMs: number[] = [];
  reset(): void {
    this.requests = 0;
    this.durationsMs = [];
  }
}

// ---------------------------------------------------------------------------------------------
// Phases

/** Issues every publish with at most `window` outstanding; resolves when all are acked. */
async function publishWindowed(
  service: KafkaService,
  tracker: Tracker,
  events: AnswerSubmitted[],
  window: number,
): Promise<void> {
  let outstanding = 0;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const settle = (): void => {
    outstanding--;
    const w = wake;
    wake = undefined;
    w?.();
  };
  for (const event of events) {
    while (outstanding >= window) await new Promise<void>((resolve) => (wake = resolve));
    if (failure !== undefined) break;
    outstanding++;
    tracker.mark(event.eventId, 'burst');
    service.publishEvent(TOPIC, event).then(settle, (error: unknown) => {
      failure ??= error;
      settle();
    });
  }
  while (outstanding > 0) await new Promise<void>((resolve) => (wake = resolve));
  if (failure !== undefined) throw failure;
}

/** Publishes `count` fresh events at `rate`/s without waiting for acks (up to `window` open). */
async function publishPaced(
  service: KafkaService,
  tracker: Tracker,
  count: number,
  rate: number,
  window: number,
): Promise<{ behindMs: number }> {
  const pending = new Set<Promise<void>>();
  let failure: unknown;
  const paced = await pace({
    count,
    rate,
    // Publishes settle only while `pace` sleeps: a failure is seen at the next tick.
    ready: () => {
      if (failure !== undefined) throw failure;
      return pending.size < window;
    },
    issue: () => {
      const event = makeEvent();
      tracker.mark(event.eventId, 'paced');
      const p: Promise<void> = service.publishEvent(TOPIC, event).then(
        () => void pending.delete(p),
        (error: unknown) => {
          failure ??= error;
          pending.delete(p);
        },
      );
      pending.add(p);
    },
  });
  await Promise.all(pending);
  if (failure !== undefined) throw failure;
  return paced;
}

// ---------------------------------------------------------------------------------------------
// Output

interface Row {
  metric: string;
  value: string;
  unit: string;
}

const fmt = (n: number, digits = 0): string => grouped(n, digits, 'n/a');

function printTable(rows: Row[]): void {
  const header: Row = { metric: 'metric', value: 'value', unit: 'unit' };
  const w = {
    metric: Math.max(...[header, ...rows].map((r) => r.metric.length)),
    value: Math.max(...[header, ...rows].map((r) => r.value.length)),
    unit: Math.max(...[header, ...rows].map((r) => r.unit.length)),
  };
  const line = (r: Row): string =>
    `${r.metric.padEnd(w.metric)} | ${r.value.padStart(w.value)} | ${r.unit}`.trimEnd();
  const out = [
    line(header),
    `${'-'.repeat(w.metric)}-+-${'-'.repeat(w.value)}-+-${'-'.repeat(w.unit)}`,
    ...rows.map(line),
  ];
  process.stdout.write(out.join('\n') + '\n');
}

// ---------------------------------------------------------------------------------------------
// Main

const info = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);
const cleanup = createTeardown();
const teardown = (): Promise<void> => cleanup.run();

async function main(): Promise<void> {
  const opts = parseOptions();
  const config = loadConfig();
  const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, {
    bench: 'kafka-throughput',
  });
  // --- broker
  const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'kafka-bench-'));
  cleanup.defer(() => fsp.rm(dataDir, { recursive: true, force: true }));
  const t0 = nowNs();
  const broker = await startBenchBroker(dataDir, info);
  cleanup.defer(() => broker.stop());
  info(`broker ready: ${broker.description}, in ${fmt(msSince(t0) / 1000, 1)} s`);
  const { brokers } = broker;

  // --- service, subscriber
  const runId = randomBytes(4).toString('hex');
  const produce = new ProduceStats();
  const service = new KafkaService('interview-service', {
    onProduceRequest: ({ durationMs }) => {
      produce.requests++;
      produce.durationsMs.push(durationMs);
    },
    brokers,
    topicPrefix: `bench-${runId}.`,
    topics: [TOPIC],
    partitions: config.kafka.topicPartitions,
    replicationFactor: config.kafka.replicationFactor,
    announce: false,
    logger: log,
  });
  const groupId = `bench-${runId}-group`;
  const topics = [service.topicName(TOPIC), service.deadLetterTopicName(TOPIC)];
  const admin = new Kafka({
    clientId: `bench-${runId}-admin`,
    brokers,
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  cleanup.defer(() => admin.disconnect());
  cleanup.defer(async () => {
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.deleteTopics({ topics, timeout: 30_000 });
    info(`deleted topics ${topics.join(', ')}`);
  });
  cleanup.defer(() => service.stop());

  let t = nowNs();
  await service.start();
  info(`service started (topics created) in ${fmt(msSince(t))} ms`);

  const tracker = new Tracker();
  t = nowNs();
  await service.subscribe(
    TOPIC,
    groupId,
    async (event: { eventId: string }) => {
      tracker.handled(event.eventId);
    },
    { fromBeginning: true },
  );
  info(`subscribed (group joined) in ${fmt(msSince(t))} ms`);

  // Warm-up, not measured: connections, metadata, and the JIT of both node and a fresh broker.
  const warmup = Array.from({ length: 2 * opts.window }, makeEvent);
  for (const event of warmup) tracker.mark(event.eventId, 'warmup');
  await Promise.all(warmup.map((event) => service.publishEvent(TOPIC, event)));
  for (const event of Array.from({ length: 100 }, makeEvent)) {
    tracker.mark(event.eventId, 'warmup');
    await service.publishEvent(TOPIC, event);
  }
  await tracker.waitFor('warmup', 2 * opts.window + 100, 60_000);
  const rows: Row[] = [];
  const sampleBytes = Buffer.byteLength(JSON.stringify(makeEvent()));

  // --- event creation cost (factory: UUID, timestamp, zod validation)
  t = nowNs();
  const burstEvents = Array.from({ length: opts.events }, makeEvent);
  const createMs = msSince(t);
  const seqEvents = Array.from({ length: opts.sequential }, makeEvent);

  // --- 1. burst
  info(`burst: ${opts.events} events, window ${opts.window}`);
  produce.reset();
  const cpu0 = process.cpuUsage();
  const burstStart = nowNs();
  await publishWindowed(service, tracker, burstEvents, opts.window);
  const burstAckMs = msSince(burstStart);
  const burstProduce = {
    requests: produce.requests,
    durations: [...produce.durationsMs].sort((a, b) => a - b),
  };
  await tracker.waitFor('burst', opts.events, 60_000 + opts.events * 10);
  const cpuMs = cpuMsSince(cpu0);
  const burstEndAt = tracker.lastHandledAt.burst ?? nowNs();
  const burstE2eMs = msSince(burstStart, burstEndAt);
  const burstLat = [...tracker.latenciesMs.burst].sort((a, b) => a - b);

  // --- 2. sequential
  info(`sequential: ${opts.sequential} events`);
  produce.reset();
  const seqStart = nowNs();
  for (const event of seqEvents) {
    tracker.mark(event.eventId, 'sequential');
    await service.publishEvent(TOPIC, event);
  }
  const seqMs = msSince(seqStart);
  const seqProduce = [...produce.durationsMs].sort((a, b) => a - b);
  await tracker.waitFor('sequential', opts.sequential, 60_000);

  // --- 3. paced
  info(`paced: ${opts.events} events at ${opts.rate}/s`);
  produce.reset();
  const paced = await publishPaced(service, tracker, opts.events, opts.rate, opts.window);
  await tracker.waitFor('paced', opts.events, 60_000);
  const pacedRequests = produce.requests;
  const lat = [...tracker.latenciesMs.paced].sort((a, b) => a - b);

  const rssMb = process.memoryUsage().rss / 2 ** 20;
  const maxRssMb = process.resourceUsage().maxRSS / 1024;

  rows.push(
    { metric: 'event size (JSON value)', value: fmt(sampleBytes), unit: 'bytes' },
    { metric: 'partitions', value: fmt(config.kafka.topicPartitions), unit: '' },
    {
      metric: 'factory create+validate',
      value: fmt((createMs * 1000) / opts.events, 1),
      unit: 'µs/event',
    },
    { metric: 'burst: events', value: fmt(opts.events), unit: `window ${opts.window}` },
    {
      metric: 'burst: produce throughput',
      value: fmt(opts.events / (burstAckMs / 1000)),
      unit: 'events/s (first publish → last ack)',
    },
    { metric: 'burst: produce time', value: fmt(burstAckMs), unit: 'ms' },
    { metric: 'burst: produce requests', value: fmt(burstProduce.requests), unit: '' },
    {
      metric: 'burst: events per request',
      value: fmt(opts.events / burstProduce.requests, 1),
      unit: 'avg',
    },
    {
      metric: 'burst: produce request p50/max',
      value: `${fmt(percentile(burstProduce.durations, 50), 1)} / ${fmt(percentile(burstProduce.durations, 100), 1)}`,
      unit: 'ms (kafkajs send → response)',
    },
    {
      metric: 'burst: consume throughput',
      value: fmt(opts.events / (burstE2eMs / 1000)),
      unit: 'events/s (first publish → last handled)',
    },
    { metric: 'burst: end-to-end time', value: fmt(burstE2eMs), unit: 'ms' },
    {
      metric: 'burst: publish→handler p50/p99',
      value: `${fmt(percentile(burstLat, 50), 1)} / ${fmt(percentile(burstLat, 99), 1)}`,
      unit: 'ms',
    },
    {
      metric: 'burst: process CPU',
      value: fmt((cpuMs / burstE2eMs) * 100),
      unit: `% of one core (${fmt((cpuMs * 1000) / opts.events, 1)} µs/event, produce+consume)`,
    },
    { metric: 'sequential: events', value: fmt(opts.sequential), unit: 'each awaited' },
    {
      metric: 'sequential: produce throughput',
      value: fmt(opts.sequential / (seqMs / 1000)),
      unit: 'events/s',
    },
    { metric: 'sequential: per publish', value: fmt(seqMs / opts.sequential, 2), unit: 'ms avg' },
    {
      metric: 'sequential: produce request',
      value: fmt(seqProduce.length === 0 ? Number.NaN : mean(seqProduce), 2),
      unit: 'ms avg (kafkajs send → response)',
    },
    { metric: 'paced: events', value: fmt(opts.events), unit: `at ${fmt(opts.rate)} events/s` },
    {
      metric: 'paced: events per request',
      value: fmt(opts.events / pacedRequests, 1),
      unit: `avg (${fmt(pacedRequests)} produce requests)`,
    },
    {
      metric: 'paced: publish→handler p50',
      value: fmt(percentile(lat, 50), 2),
      unit: 'ms',
    },
    { metric: 'paced: publish→handler p90', value: fmt(percentile(lat, 90), 2), unit: 'ms' },
    { metric: 'paced: publish→handler p99', value: fmt(percentile(lat, 99), 2), unit: 'ms' },
    { metric: 'paced: publish→handler max', value: fmt(percentile(lat, 100), 2), unit: 'ms' },
    {
      metric: 'paced: max publisher lag',
      value: fmt(paced.behindMs, 1),
      unit: 'ms behind schedule',
    },
    { metric: 'RSS at end', value: fmt(rssMb, 1), unit: 'MiB' },
    { metric: 'peak RSS', value: fmt(maxRssMb, 1), unit: 'MiB' },
  );
  if (tracker.unknown > 0) {
    rows.push({ metric: 'redelivered/unknown events', value: fmt(tracker.unknown), unit: '' });
  }

  process.stdout.write('\n');
  printTable(rows);
  process.stdout.write(
    `\nKafka broker: ${broker.description} | node ${process.version} | ${os.cpus().length} CPUs (${os.cpus()[0]?.model.trim() ?? 'unknown'})\n`,
  );
}

runBench('bench:kafka', main, teardown);
