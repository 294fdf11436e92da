/**
 * Event-flow consumers benchmark: `npm run bench:flows [-- --quick]`.
 *
 * Runs the consumers of the designed event flows in this process, against the cluster in
 * KAFKA_BROKERS or a throw-away local broker (temp data dir) when it is unset, and feeds them
 * `user.registered` events on `user-events`, published by a `KafkaService('api-gateway')` as the
 * gateway does. Everything lives under a random topic prefix (topics and consumer groups, deleted
 * at the end) and in a temp folder (SQLite databases, `.eml` files, removed at the end).
 *
 * Flows:
 *  - notifications: `createNotificationService` as `notifications/main.ts` starts it (SQLite,
 *    `.eml` files): each registration is handled in `notification-service-group` (recipient and
 *    welcome email queued in one transaction), then the delivery loop writes the email and sets
 *    its `sentAt`.
 *     1. burst: `--events` registrations published at once; time until every email is sent;
 *     2. paced: `--rate` registrations/s for `--seconds`; latency from just before
 *        `publishEvent` to the email's `sentAt` (and to the handler's `processed_at`).
 *  - users: the users subgraph (`createSubgraph(usersSubgraph)`): the same burst; time until
 *    every profile exists.
 * Each flow first gets `--warmup` registrations, not measured. Times in the databases
 * (`sentAt`, `processed_at`) come from `new Date()` in this process, so they share the bench's
 * clock (`Date.now()`, millisecond resolution).
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { loadConfig, type KafkaConfig } from '../config';
import { KafkaService, UserEventFactory, type EventEnvelope } from '../events';
import { ProcessedEvent } from '../events/consumers';
import type { Database } from '../lib/database';
import { createLogger, type Logger } from '../lib/logger';
import { NOTIFICATIONS_GROUP } from '../notifications/consumers';
import { Email } from '../notifications/entities';
import { createNotificationService } from '../notifications/service';
import { startLocalKafka } from '../scripts/kafka/local-kafka';
import { USERS_GROUP } from '../subgraphs/users/consumers';
import { User } from '../subgraphs/users/entities';
import { usersSubgraph } from '../subgraphs/users/server';
import { createSubgraph } from '../subgraphs/shared/subgraph';
import { deleteWithPrefix } from './platform/broker';

type Registered = EventEnvelope<'user.registered'>;
type Flow = 'notifications' | 'users';
const FLOWS: readonly Flow[] = ['notifications', 'users'];

interface Options {
  quick: boolean;
  flows: Flow[];
  events: number;
  rate: number;
  seconds: number;
  warmup: number;
  timeout: number;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      flows: { type: 'string' },
      events: { type: 'string' },
      rate: { type: 'string' },
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help === true) {
    process.stdout.write(
      'usage: npm run bench:flows -- [--quick] [--flows notifications,users] [--events N=2000] [--rate EVENTS_PER_S=100]\n' +
        '                              [--seconds S=10] [--warmup N=100] [--timeout S=300]\n' +
        '  --quick: 200 events, 50/s for 3 s, 20 warm-up (flags given as well win)\n',
    );
    process.exit(0);
  }
  const quick = values.quick === true;
  const integer = (name: string, raw: string | undefined, fallback: number, min = 1): number => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}`);
    return n;
  };
  const flows = (values.flows ?? FLOWS.join(','))
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean);
  for (const flow of flows) {
    if (!(FLOWS as readonly string[]).includes(flow)) {
      throw new Error(`--flows: unknown flow ${flow} (known: ${FLOWS.join(', ')})`);
    }
  }
  if (flows.length === 0) throw new Error('--flows: name at least one flow');
  return {
    quick,
    flows: flows as Flow[],
    events: integer('events', values.events, quick ? 200 : 2_000),
    rate: integer('rate', values.rate, quick ? 50 : 100),
    seconds: integer('seconds', values.seconds, quick ? 3 : 10),
    warmup: integer('warmup', values.warmup, quick ? 20 : 100, 0),
    timeout: integer('timeout', values.timeout, 300),
  };
}

// ---------------------------------------------------------------------------------------------
// Events, waiting, reading back

let sequence = 0;
const runTag = randomBytes(3).toString('hex');

function registration(): Registered {
  const n = ++sequence;
  const userId = `bench-${runTag}-user-${n}`;
  return UserEventFactory.createUserRegistered(userId, `${userId}@example.com`, {
    firstName: `Bench${n}`,
  });
}

const nowNs = (): bigint => process.hrtime.bigint();
const msSince = (start: bigint, end: bigint = nowNs()): number => Number(end - start) / 1e6;

/**
 * Polls `count` every `pollMs` until it reaches `target` or `timeoutMs` passes; logs progress
 * every 5 s. Resolves with the last count.
 */
async function waitForCount(
  label: string,
  count: () => Promise<number>,
  target: number,
  timeoutMs: number,
  info: (line: string) => void,
  pollMs = 100,
): Promise<number> {
  const start = nowNs();
  let lastLog = start;
  for (;;) {
    const n = await count();
    if (n >= target) return n;
    if (msSince(start) > timeoutMs) {
      info(`${label}: gave up after ${fmt(timeoutMs / 1000)} s at ${n}/${target}`);
      return n;
    }
    if (msSince(lastLog) >= 5_000) {
      lastLog = nowNs();
      info(`${label}: ${n}/${target}`);
    }
    await sleep(pollMs);
  }
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** `sentAt` (ms since epoch) of each of these events' emails that was sent. */
async function sentAtOf(database: Database, eventIds: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const ids of chunks(eventIds, 500)) {
    const rows = await database
      .fork()
      .find(Email, { eventId: { $in: ids }, sentAt: { $ne: null } });
    for (const row of rows) if (row.sentAt) out.set(row.eventId, row.sentAt.getTime());
  }
  return out;
}

/** `processed_at` (ms since epoch) of each of these events that `groupId` handled. */
async function processedAtOf(
  database: Database,
  groupId: string,
  eventIds: string[],
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const ids of chunks(eventIds, 500)) {
    const rows = await database.fork().find(ProcessedEvent, { groupId, eventId: { $in: ids } });
    for (const row of rows) out.set(row.eventId, row.processedAt.getTime());
  }
  return out;
}

const maxOf = (values: Iterable<number>): number => {
  let max = Number.NaN;
  for (const v of values) if (!(v <= max)) max = v;
  return max;
};
const minOf = (values: Iterable<number>): number => {
  let min = Number.NaN;
  for (const v of values) if (!(v >= min)) min = v;
  return min;
};

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? Number.NaN;
}

/** Publishes all at once; resolves when every publish is acked. */
async function publishAll(publisher: KafkaService, events: Registered[]): Promise<void> {
  await Promise.all(events.map((event) => publisher.publishEvent('user-events', event)));
}

/**
 * Publishes `count` fresh registrations at `rate`/s without awaiting each; records `Date.now()`
 * just before each `publishEvent`. Resolves once all are acked.
 */
async function publishPaced(
  publisher: KafkaService,
  count: number,
  rate: number,
): Promise<{ publishedAt: Map<string, number>; behindMs: number }> {
  const publishedAt = new Map<string, number>();
  const pending: Promise<void>[] = [];
  let behindMs = 0;
  const t0 = nowNs();
  let issued = 0;
  while (issued < count) {
    const elapsedMs = msSince(t0);
    const due = Math.min(count, Math.floor((elapsedMs * rate) / 1000) + 1);
    if (due - issued > 1) behindMs = Math.max(behindMs, elapsedMs - (issued * 1000) / rate);
    while (issued < due) {
      const event = registration();
      publishedAt.set(event.eventId, Date.now());
      pending.push(publisher.publishEvent('user-events', event));
      issued++;
    }
    await sleep(Math.max(0, (issued * 1000) / rate - msSince(t0)));
  }
  await Promise.all(pending);
  return { publishedAt, behindMs };
}

// ---------------------------------------------------------------------------------------------
// Memory

interface MemoryPoint {
  flow: Flow;
  point: string;
  rssMb: number;
  heapMb: number;
}

function memory(flow: Flow, point: string): MemoryPoint {
  const m = process.memoryUsage();
  return { flow, point, rssMb: m.rss / 2 ** 20, heapMb: m.heapUsed / 2 ** 20 };
}

// ---------------------------------------------------------------------------------------------
// Flows

interface BurstResult {
  flow: Flow;
  events: number;
  ackedMs: number;
  /** Every event in its handler's `processed_at`, from the first publish. */
  handledMs: number;
  handled: number;
  /** Every email `sentAt`, from the first publish (notifications only). */
  sentMs?: number;
  sent?: number;
  /** First to last `sentAt` of the burst: the delivery loop's own rate. */
  sendingSpanMs?: number;
  /** `Date.now()` just before the first publish. */
  startedAt: number;
  cpuMs: number;
  wallMs: number;
}

interface PacedResult {
  /** `.eml` files in the mail folder at the end, and emails sent over the run (warm-up included). */
  emlFiles: number;
  emailsSent: number;
  rate: number;
  seconds: number;
  events: number;
  sent: number;
  handledLatency: number[];
  sentLatency: number[];
  behindMs: number;
}

interface Context {
  opts: Options;
  brokers: string[];
  kafka: KafkaConfig & { brokers: string[] };
  prefix: string;
  root: string;
  log: Logger;
  info: (line: string) => void;
  cleanups: Array<() => Promise<void>>;
  memory: MemoryPoint[];
}

async function startPublisher(ctx: Context, topicPrefix: string): Promise<KafkaService> {
  const publisher = new KafkaService('api-gateway', {
    brokers: ctx.brokers,
    topicPrefix,
    partitions: ctx.kafka.topicPartitions,
    replicationFactor: ctx.kafka.replicationFactor,
    announce: false,
    logger: ctx.log.child({ component: 'bench-publisher' }),
  });
  await publisher.start();
  return publisher;
}

/** Counts `.eml` files (not the `.tmp` files being written). */
async function emlCount(dir: string): Promise<number> {
  return (await fsp.readdir(dir)).filter((f) => f.endsWith('.eml')).length;
}

async function burst(
  ctx: Context,
  flow: Flow,
  publisher: KafkaService,
  database: Database,
  groupId: string,
  done: () => Promise<number>,
  before: number,
): Promise<{ result: BurstResult; events: Registered[] }> {
  const { opts, info } = ctx;
  const events = Array.from({ length: opts.events }, registration);
  const ids = events.map((e) => e.eventId);
  info(`${flow}: burst of ${opts.events} registrations`);
  const cpu0 = process.cpuUsage();
  const t0 = nowNs();
  const startedAt = Date.now();
  await publishAll(publisher, events);
  const ackedMs = msSince(t0);
  await waitForCount(
    `${flow} burst`,
    done,
    before + opts.events,
    opts.timeout * 1000,
    info,
    flow === 'notifications' ? 100 : 50,
  );
  const wallMs = msSince(t0);
  const cpu = process.cpuUsage(cpu0);
  const handled = await processedAtOf(database, groupId, ids);
  return {
    events,
    result: {
      flow,
      events: opts.events,
      ackedMs,
      handledMs: maxOf(handled.values()) - startedAt,
      handled: handled.size,
      startedAt,
      cpuMs: (cpu.user + cpu.system) / 1000,
      wallMs,
    },
  };
}

async function notificationsFlow(
  ctx: Context,
): Promise<{ burst: BurstResult; paced: PacedResult }> {
  const { opts, info } = ctx;
  const topicPrefix = `${ctx.prefix}notifications.`;
  const dataDir = path.join(ctx.root, 'notifications-db');
  const mailDir = path.join(ctx.root, 'mail');

  const publisher = await startPublisher(ctx, topicPrefix);
  ctx.cleanups.push(() => publisher.stop());
  ctx.memory.push(memory('notifications', 'before start'));

  const service = createNotificationService({
    host: '127.0.0.1',
    port: 0,
    database: { url: undefined, dataDir },
    kafka: { ...ctx.kafka, topicPrefix },
    mail: { smtpUrl: undefined, from: 'Bench <bench@example.com>', dir: mailDir },
    logger: ctx.log,
  });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await service.stop();
  };
  ctx.cleanups.push(stop);
  let t = nowNs();
  const running = await service.start();
  info(`notifications: service started (group joined) in ${fmt(msSince(t))} ms at ${running.url}`);
  ctx.memory.push(memory('notifications', 'started, idle'));

  const sentCount = () => running.database.fork().count(Email, { sentAt: { $ne: null } });

  if (opts.warmup > 0) {
    t = nowNs();
    await publishAll(publisher, Array.from({ length: opts.warmup }, registration));
    const n = await waitForCount(
      'notifications warm-up',
      sentCount,
      opts.warmup,
      opts.timeout * 1000,
      info,
    );
    if (n < opts.warmup) throw new Error(`warm-up: ${n}/${opts.warmup} emails sent`);
    info(`notifications: warm-up of ${opts.warmup} sent in ${fmt(msSince(t))} ms`);
  }
  ctx.memory.push(memory('notifications', 'after warm-up'));

  // --- 1. burst
  const before = await sentCount();
  const { result, events } = await burst(
    ctx,
    'notifications',
    publisher,
    running.database,
    NOTIFICATIONS_GROUP,
    sentCount,
    before,
  );
  const sent = await sentAtOf(
    running.database,
    events.map((e) => e.eventId),
  );
  result.sent = sent.size;
  result.sentMs = maxOf(sent.values()) - result.startedAt;
  result.sendingSpanMs = maxOf(sent.values()) - minOf(sent.values());
  ctx.memory.push(memory('notifications', 'after burst'));

  // --- 2. paced
  const count = opts.rate * opts.seconds;
  info(`notifications: paced, ${opts.rate}/s for ${opts.seconds} s (${count} registrations)`);
  const sentBefore = await sentCount();
  const paced = await publishPaced(publisher, count, opts.rate);
  await waitForCount(
    'notifications paced',
    sentCount,
    sentBefore + count,
    opts.timeout * 1000,
    info,
  );
  const ids = [...paced.publishedAt.keys()];
  const sentAt = await sentAtOf(running.database, ids);
  const processedAt = await processedAtOf(running.database, NOTIFICATIONS_GROUP, ids);
  const latencies = (at: Map<string, number>): number[] =>
    ids
      .filter((id) => at.has(id))
      .map((id) => (at.get(id) ?? 0) - (paced.publishedAt.get(id) ?? 0))
      .sort((a, b) => a - b);
  ctx.memory.push(memory('notifications', 'after paced'));

  await publisher.stop();
  await stop();
  info('notifications: stopped');
  ctx.memory.push(memory('notifications', 'after stop'));

  return {
    burst: result,
    paced: {
      emlFiles: await emlCount(mailDir),
      emailsSent: opts.warmup + opts.events + count,
      rate: opts.rate,
      seconds: opts.seconds,
      events: count,
      sent: sentAt.size,
      handledLatency: latencies(processedAt),
      sentLatency: latencies(sentAt),
      behindMs: paced.behindMs,
    },
  };
}

async function usersFlow(ctx: Context): Promise<BurstResult> {
  const { opts, info } = ctx;
  const topicPrefix = `${ctx.prefix}users.`;
  const publisher = await startPublisher(ctx, topicPrefix);
  ctx.cleanups.push(() => publisher.stop());
  ctx.memory.push(memory('users', 'before start'));

  const subgraph = createSubgraph(usersSubgraph, {
    host: '127.0.0.1',
    port: 0,
    database: { url: undefined, dataDir: path.join(ctx.root, 'users-db') },
    kafka: ctx.kafka,
    topicPrefix,
    production: false,
    internalTokenSecret: randomBytes(32).toString('hex'),
    logger: ctx.log,
  });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await subgraph.stop();
  };
  ctx.cleanups.push(stop);
  let t = nowNs();
  const running = await subgraph.start();
  info(`users: subgraph started (group joined) in ${fmt(msSince(t))} ms at ${running.url}`);
  ctx.memory.push(memory('users', 'started, idle'));

  const profiles = () => running.database.fork().count(User, {});
  if (opts.warmup > 0) {
    t = nowNs();
    await publishAll(publisher, Array.from({ length: opts.warmup }, registration));
    const n = await waitForCount('users warm-up', profiles, opts.warmup, opts.timeout * 1000, info);
    if (n < opts.warmup) throw new Error(`warm-up: ${n}/${opts.warmup} profiles`);
    info(`users: warm-up of ${opts.warmup} profiles in ${fmt(msSince(t))} ms`);
  }
  ctx.memory.push(memory('users', 'after warm-up'));

  const { result } = await burst(
    ctx,
    'users',
    publisher,
    running.database,
    USERS_GROUP,
    profiles,
    await profiles(),
  );
  ctx.memory.push(memory('users', 'after burst'));

  await publisher.stop();
  await stop();
  info('users: stopped');
  ctx.memory.push(memory('users', 'after stop'));
  return result;
}

// ---------------------------------------------------------------------------------------------
// Output

function fmt(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return '-';
  return n.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

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

const perSecond = (n: number, ms: number): string => fmt(n / (ms / 1000));

function report(
  opts: Options,
  bursts: BurstResult[],
  paced: PacedResult | undefined,
  points: MemoryPoint[],
  broker: string,
): void {
  const out = (line = ''): void => void process.stdout.write(`${line}\n`);
  out();
  out(
    `Burst: registrations published at once (after ${opts.warmup} unmeasured); times from the first publish`,
  );
  out();
  out(
    table(
      [
        'flow',
        'events',
        'acked s',
        'handled',
        'all handled s',
        'handled/s',
        'emails sent',
        'all sent s',
        'emails/s',
        'sending only emails/s',
        'CPU % of a core',
      ],
      bursts.map((b) => [
        b.flow,
        fmt(b.events),
        fmt(b.ackedMs / 1000, 2),
        fmt(b.handled),
        fmt(b.handledMs / 1000, 2),
        perSecond(b.handled, b.handledMs),
        b.sent === undefined ? '-' : fmt(b.sent),
        b.sentMs === undefined ? '-' : fmt(b.sentMs / 1000, 2),
        b.sentMs === undefined || b.sent === undefined ? '-' : perSecond(b.sent, b.sentMs),
        b.sendingSpanMs === undefined || b.sent === undefined
          ? '-'
          : perSecond(b.sent, b.sendingSpanMs),
        fmt((b.cpuMs / b.wallMs) * 100),
      ]),
    ),
  );
  out();
  out(
    'handled: the consumer\'s transaction (processed-event record, and for notifications the recipient and queued email); users: the profile. sent: the email written (.eml) and its sentAt set. "sending only": first to last sentAt of the burst.',
  );
  for (const b of bursts) {
    if (b.handled < b.events) out(`${b.flow}: PROBLEM: ${b.handled}/${b.events} handled`);
    if (b.sent !== undefined && b.sent < b.events) {
      out(`${b.flow}: PROBLEM: ${b.sent}/${b.events} emails sent`);
    }
  }

  if (paced) {
    out();
    out(
      `Paced (notifications): ${fmt(paced.rate)} registrations/s for ${paced.seconds} s; latency from just before publishEvent, ms`,
    );
    out();
    const l = paced.sentLatency;
    const h = paced.handledLatency;
    out(
      table(
        ['to', 'events', 'reached', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'publisher max lag ms'],
        [
          [
            'handled (processed_at)',
            fmt(paced.events),
            fmt(h.length),
            fmt(percentile(h, 50)),
            fmt(percentile(h, 95)),
            fmt(percentile(h, 99)),
            fmt(percentile(h, 100)),
            fmt(paced.behindMs, 1),
          ],
          [
            'email sent (sentAt)',
            fmt(paced.events),
            fmt(l.length),
            fmt(percentile(l, 50)),
            fmt(percentile(l, 95)),
            fmt(percentile(l, 99)),
            fmt(percentile(l, 100)),
            fmt(paced.behindMs, 1),
          ],
        ],
      ),
    );
    out();
    out(
      `.eml files written over the run (warm-up, burst, paced): ${fmt(paced.emlFiles)}, one per email: ${paced.emlFiles === paced.emailsSent ? 'yes' : `NO (expected ${fmt(paced.emailsSent)})`}`,
    );
    if (paced.sent < paced.events) {
      out(
        `notifications paced: PROBLEM: ${paced.sent}/${paced.events} emails sent by the end of the wait; percentiles over those sent`,
      );
    }
  }

  out();
  out(
    'Memory of this process (bench publisher, the service and its Kafka clients, SQLite; not the broker)',
  );
  out();
  out(
    table(
      ['flow: point', 'RSS MB', 'heap used MB'],
      points.map((p) => [`${p.flow}: ${p.point}`, fmt(p.rssMb), fmt(p.heapMb)]),
    ),
  );
  out();
  out(`peak RSS of the process: ${fmt(process.resourceUsage().maxRSS / 1024)} MB`);
  const cpus = os.cpus();
  out(
    `machine: ${cpus.length} CPUs (${cpus[0]?.model.trim() ?? 'unknown'}), ${fmt(os.totalmem() / 2 ** 30)} GB | node ${process.version} | Kafka: ${broker}, 3 partitions per topic`,
  );
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const opts = parseOptions();
  const config = loadConfig();
  // Errors only: a fresh topic makes kafkajs warn about benign start-up races (coordinator
  // loading, leaders moving).
  const log = createLogger(config.logLevel === 'debug' ? 'debug' : 'error', {
    bench: 'flows',
  });
  const info = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);

  const cleanups: Array<() => Promise<void>> = [];
  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (cleaning ??= (async () => {
      for (const step of cleanups.reverse()) {
        try {
          await step();
        } catch (error) {
          log.warn('cleanup step failed', { error });
          info(`cleanup step failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    })());
  const onSignal = (signal: NodeJS.Signals): void => {
    info(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'flows-bench-'));
    cleanups.push(() => fsp.rm(root, { recursive: true, force: true }));

    // --- broker
    let broker = `external (KAFKA_BROKERS=${config.kafka.brokers?.join(',') ?? ''})`;
    const startLocal = async (): Promise<string[]> => {
      const dataDir = path.join(root, 'kafka');
      await fsp.mkdir(dataDir);
      info(
        `KAFKA_BROKERS unset: starting a local Kafka ${config.localKafka.version} in ${dataDir}`,
      );
      const t = nowNs();
      const local = await startLocalKafka({
        version: config.localKafka.version,
        port: 0,
        dataDir,
        heapMb: config.localKafka.heapMb,
        log: info,
      });
      cleanups.push(() => local.stop());
      info(`local broker ready on ${local.brokers.join(',')} in ${fmt(msSince(t) / 1000, 1)} s`);
      broker = `local Kafka ${config.localKafka.version}, started by the bench`;
      return local.brokers;
    };
    const brokers = config.kafka.brokers ?? (await startLocal());

    const prefix = `bench-flows-${randomBytes(4).toString('hex')}.`;
    cleanups.push(async () => {
      const { groups, topics } = await deleteWithPrefix(brokers, prefix);
      info(`deleted ${topics.length} topics and ${groups.length} consumer groups under ${prefix}`);
    });

    const ctx: Context = {
      opts,
      brokers,
      kafka: {
        brokers,
        topicPrefix: prefix,
        topicPartitions: 3,
        replicationFactor: 1,
        handlerRetries: 3,
        handlerRetryMs: 200,
      },
      prefix,
      root,
      log,
      info,
      cleanups,
      memory: [],
    };
    info(
      `flows ${opts.flows.join(', ')}${opts.quick ? ' (--quick)' : ''}: ${opts.events} burst, ${opts.rate}/s for ${opts.seconds} s, ${opts.warmup} warm-up; topics under ${prefix}; files in ${root}`,
    );

    const bursts: BurstResult[] = [];
    let paced: PacedResult | undefined;
    if (opts.flows.includes('notifications')) {
      const result = await notificationsFlow(ctx);
      bursts.push(result.burst);
      paced = result.paced;
    }
    if (opts.flows.includes('users')) bursts.push(await usersFlow(ctx));

    report(opts, bursts, paced, ctx.memory, broker);
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
