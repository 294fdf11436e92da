/**
 * Event-flow consumers benchmark: `npm run bench:flows [-- --quick]`.
 *
 * Runs each service's consumers in this process, one service at a time, against the cluster in
 * KAFKA_BROKERS or a throw-away local broker (temp data dir) when it is unset, and feeds them the
 * events of the designed flows, published by a `KafkaService('api-gateway')`:
 *
 *  - users (`user-service-group`), interviews (`interview-service-group`) and notifications
 *    (`notification-service-group`, then the delivery loop writes `.eml` files): `user.registered`
 *    on `user-events`;
 *  - reporting: the reporting subgraph's two groups, `reporting-service-group` (the report
 *    projection) and `audit-service-group` (the audit trail): `interview.created` on
 *    `interview-events`.
 *
 * Every service runs in both consumer modes, side by side in the same run: `batch` (the default:
 * one transaction per fetched batch, `subscribeBatch`) and `each` (the old path, one transaction
 * per event: `batchConsumers: false`). Per service and mode:
 *   1. warm-up: `--warmup` events, not measured;
 *   2. burst: `--events` published at once; handled/s from the first publish to the last event's
 *      `processed_at` in each group;
 *   3. paced: `--rate` events/s for `--seconds`; latency from just before `publishEvent` to the
 *      event's `processed_at` (written in its transaction, just before the commit).
 * Everything lives under a random topic prefix (topics and groups deleted at the end) and a temp
 * folder (SQLite databases, `.eml` files, removed at the end). Times in the databases come from
 * `new Date()` in this process, so they share the bench's clock (millisecond resolution).
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig, type KafkaConfig } from '../config';
import {
  CONSUMER_GROUPS,
  InterviewEventFactory,
  KafkaService,
  UserEventFactory,
  type DomainEvent,
  type Topic,
} from '../events';
import { ProcessedEvent } from '../events/consumers';
import {
  CreateOutboxTable,
  OutboxMessage,
  OutboxMessageSchema,
  createOutboxRelay,
  enqueueEvent,
} from '../events/outbox';
import { openDatabase, type Database } from '../lib/database';
import { createLogger, type Logger } from '../lib/logger';
import { Email } from '../notifications/entities';
import { createNotificationService } from '../notifications/service';
import { interviewsSubgraph } from '../subgraphs/interviews/server';
import { reportingSubgraph } from '../subgraphs/reporting/server';
import { createSubgraph, type SubgraphDefinition } from '../subgraphs/shared/subgraph';
import { usersSubgraph } from '../subgraphs/users/server';
import { integerFlag, parseFlags } from './lib/args';
import { msSince, nowNs } from './lib/clock';
import { grouped as fmt } from './lib/format';
import { pace } from './lib/pace';
import { percentile } from './lib/stats';
import { markdownTable as table } from './lib/table';
import { createTeardown } from './lib/teardown';
import { cpuMsSince } from './lib/usage';
import { deleteWithPrefix, startBenchBroker } from './platform/broker';
import { runBench } from './run';

type Service = 'users' | 'interviews' | 'reporting' | 'notifications';
type Flow = Service | 'relay';
const FLOWS: readonly Flow[] = ['users', 'interviews', 'reporting', 'notifications', 'relay'];
type Mode = 'batch' | 'each';
const MODES: readonly Mode[] = ['batch', 'each'];
const MODE_LABEL: Record<Mode, string> = { batch: 'batch', each: 'one per event' };

interface Options {
  quick: boolean;
  services: Service[];
  relay: boolean;
  modes: Mode[];
  events: number;
  /** The one-per-event mode's backlog: smaller, it is the slow side. */
  eachEvents: number;
  rate: number;
  seconds: number;
  warmup: number;
  timeout: number;
}

function parseOptions(): Options {
  const values = parseFlags(
    {
      quick: { type: 'boolean', default: false },
      flows: { type: 'string' },
      modes: { type: 'string' },
      events: { type: 'string' },
      'each-events': { type: 'string' },
      rate: { type: 'string' },
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      timeout: { type: 'string' },
    },
    'usage: npm run bench:flows -- [--quick] [--flows users,interviews,reporting,notifications,relay]\n' +
      '                              [--modes batch,each] [--events N=3000] [--each-events N=events/3]\n' +
      '                              [--rate EVENTS_PER_S=100]\n' +
      '                              [--seconds S=5] [--warmup N=300] [--timeout S=120]\n' +
      '  --quick: 500 events, 50/s for 2 s, 20 warm-up (flags given as well win)\n',
  );
  const quick = values.quick;
  const list = <T extends string>(name: string, raw: string | undefined, known: readonly T[]) => {
    const items = (raw ?? known.join(','))
      .split(',')
      .map((f) => f.trim())
      .filter(Boolean);
    for (const item of items) {
      if (!(known as readonly string[]).includes(item)) {
        throw new Error(`--${name}: unknown ${item} (known: ${known.join(', ')})`);
      }
    }
    if (items.length === 0) throw new Error(`--${name}: name at least one`);
    return items as T[];
  };
  const flows = list('flows', values.flows, FLOWS);
  const events = integerFlag('events', values.events, quick ? 500 : 3_000);
  return {
    quick,
    services: flows.filter((f): f is Service => f !== 'relay'),
    relay: flows.includes('relay'),
    modes: list('modes', values.modes, MODES),
    events,
    eachEvents: integerFlag(
      'each-events',
      values['each-events'],
      Math.max(100, Math.round(events / 3)),
    ),
    rate: integerFlag('rate', values.rate, quick ? 50 : 100),
    seconds: integerFlag('seconds', values.seconds, quick ? 2 : 5),
    warmup: integerFlag('warmup', values.warmup, quick ? 20 : 300, 0),
    timeout: integerFlag('timeout', values.timeout, 120),
  };
}

// ---------------------------------------------------------------------------------------------
// Events, waiting, reading back

let sequence = 0;
const runTag = randomBytes(3).toString('hex');

interface Feed {
  topic: Topic;
  eventType: DomainEvent['eventType'];
  next(): DomainEvent;
}

const registrations: Feed = {
  topic: 'user-events',
  eventType: 'user.registered',
  next() {
    const n = ++sequence;
    const userId = `bench-${runTag}-user-${n}`;
    return UserEventFactory.createUserRegistered(userId, `${userId}@example.com`, {
      firstName: `Bench${n}`,
    });
  },
};

const interviewsCreated: Feed = {
  topic: 'interview-events',
  eventType: 'interview.created',
  next() {
    const n = ++sequence;
    return InterviewEventFactory.create('interview.created', {
      interviewId: `bench-${runTag}-interview-${n}`,
      candidateId: `bench-${runTag}-user-${n}`,
      title: `Bench interview ${n}`,
      position: 'Engineer',
      questionCount: 3,
      createdBy: `bench-${runTag}-recruiter`,
    });
  },
};

/** Polls `count` until it reaches `target` or `timeoutMs` passes. Resolves with the last count. */
async function waitForCount(
  label: string,
  count: () => Promise<number>,
  target: number,
  timeoutMs: number,
  info: (line: string) => void,
  pollMs = 50,
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

const minOf = (values: Iterable<number>): number => {
  let min = Number.NaN;
  for (const v of values) if (!(v >= min)) min = v;
  return min;
};
const maxOf = (values: Iterable<number>): number => {
  let max = Number.NaN;
  for (const v of values) if (!(v <= max)) max = v;
  return max;
};

/** Publishes all at once; resolves when every publish is acked. */
async function publishAll(publisher: KafkaService, topic: Topic, events: DomainEvent[]) {
  await Promise.all(events.map((event) => publisher.publishEvent(topic, event as never)));
}

/**
 * Publishes `count` fresh events at `rate`/s without awaiting each; records `Date.now()` just
 * before each `publishEvent`. Resolves once all are acked.
 */
async function publishPaced(
  publisher: KafkaService,
  feed: Feed,
  count: number,
  rate: number,
): Promise<{ publishedAt: Map<string, number>; behindMs: number }> {
  const publishedAt = new Map<string, number>();
  const pending: Promise<void>[] = [];
  const { behindMs } = await pace({
    count,
    rate,
    issue: () => {
      const event = feed.next();
      publishedAt.set(event.eventId, Date.now());
      pending.push(publisher.publishEvent(feed.topic, event as never));
    },
  });
  await Promise.all(pending);
  return { publishedAt, behindMs };
}

// ---------------------------------------------------------------------------------------------
// Services

interface Group {
  /** users, interviews, reporting, audit, notifications */
  label: string;
  groupId: string;
  database: Database;
}

interface RunningService {
  groups: Group[];
  /** The notification service's database, for emails. */
  mail?: Database;
  stop(): Promise<void>;
}

interface Context {
  opts: Options;
  brokers: string[];
  kafka: KafkaConfig & { brokers: string[] };
  prefix: string;
  root: string;
  log: Logger;
  info: (line: string) => void;
  /** Registers a clean-up step (run last-registered first). */
  defer(step: () => Promise<void>): void;
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

async function startService(
  ctx: Context,
  service: Service,
  mode: Mode,
  topicPrefix: string,
): Promise<RunningService> {
  const dataDir = path.join(ctx.root, `${mode}-${service}-db`);
  const batchConsumers = mode === 'batch';
  if (service === 'notifications') {
    const running = createNotificationService({
      host: '127.0.0.1',
      port: 0,
      database: { url: undefined, dataDir },
      kafka: { ...ctx.kafka, topicPrefix },
      mail: {
        smtpUrl: undefined,
        from: 'Bench <bench@example.com>',
        dir: path.join(ctx.root, `${mode}-mail`),
      },
      batchConsumers,
      logger: ctx.log,
    });
    const { database } = await running.start();
    return {
      groups: [{ label: 'notifications', groupId: CONSUMER_GROUPS.notifications, database }],
      mail: database,
      stop: () => running.stop(),
    };
  }
  const definitions: Record<Exclude<Service, 'notifications'>, SubgraphDefinition<object>> = {
    users: usersSubgraph as SubgraphDefinition<object>,
    interviews: interviewsSubgraph as SubgraphDefinition<object>,
    reporting: reportingSubgraph as SubgraphDefinition<object>,
  };
  const subgraph = createSubgraph(definitions[service], {
    host: '127.0.0.1',
    port: 0,
    database: { url: undefined, dataDir },
    kafka: ctx.kafka,
    topicPrefix,
    production: false,
    internalTokenSecret: randomBytes(32).toString('hex'),
    batchConsumers,
    logger: ctx.log,
  });
  const { database } = await subgraph.start();
  const groups: Group[] =
    service === 'reporting'
      ? [
          { label: 'reporting', groupId: CONSUMER_GROUPS.reporting, database },
          { label: 'audit', groupId: CONSUMER_GROUPS.audit, database },
        ]
      : [{ label: service, groupId: CONSUMER_GROUPS[service], database }];
  return { groups, stop: () => subgraph.stop() };
}

// ---------------------------------------------------------------------------------------------
// One service in one mode

interface GroupResult {
  service: Service;
  group: string;
  mode: Mode;
  events: number;
  handled: number;
  /** Events of the burst committed after its first commit, and first to last commit. */
  windowEvents: number;
  windowMs: number;
  /** Paced publish-to-`processed_at` latencies, sorted. */
  latency: number[];
  pacedEvents: number;
}

interface MailResult {
  mode: Mode;
  sent: number;
  sentMs: number;
  latency: number[];
}

interface RunResult {
  groups: GroupResult[];
  mail?: MailResult;
  ackedMs: number;
  behindMs: number;
  cpuMs: number;
  wallMs: number;
}

async function run(ctx: Context, service: Service, mode: Mode): Promise<RunResult> {
  const { opts, info } = ctx;
  const label = `${service} (${MODE_LABEL[mode]})`;
  const feed = service === 'reporting' ? interviewsCreated : registrations;
  const topicPrefix = `${ctx.prefix}${mode}.${service}.`;
  const publisher = await startPublisher(ctx, topicPrefix);
  let t = nowNs();
  let running = await startService(ctx, service, mode, topicPrefix);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await running.stop();
    await publisher.stop();
  };
  ctx.defer(stop);
  info(`${label}: started (groups joined) in ${fmt(msSince(t))} ms`);

  const handledCount = (group: Group) => () =>
    group.database
      .fork()
      .count(ProcessedEvent, { groupId: group.groupId, eventType: feed.eventType });
  const allHandled = async (target: number, what: string) => {
    for (const group of running.groups) {
      await waitForCount(
        `${label} ${what} ${group.label}`,
        handledCount(group),
        target,
        opts.timeout * 1000,
        info,
      );
    }
  };
  const sentCount = () =>
    running.mail?.fork().count(Email, { sentAt: { $ne: null } }) ?? Promise.resolve(0);
  const allSent = (target: number, what: string) =>
    running.mail
      ? waitForCount(`${label} ${what} emails`, sentCount, target, opts.timeout * 1000, info)
      : Promise.resolve(0);

  let total = 0;
  if (opts.warmup > 0) {
    t = nowNs();
    await publishAll(
      publisher,
      feed.topic,
      Array.from({ length: opts.warmup }, () => feed.next()),
    );
    total += opts.warmup;
    await allHandled(total, 'warm-up');
    await allSent(total, 'warm-up');
    info(`${label}: warm-up of ${opts.warmup} in ${fmt(msSince(t))} ms`);
  }

  // --- burst: a backlog published while the service is stopped, so the publisher (same
  // process, same event loop) neither limits nor slows the consumers.
  await running.stop();
  const backlog = mode === 'batch' ? opts.events : opts.eachEvents;
  const events = Array.from({ length: backlog }, () => feed.next());
  const ids = events.map((e) => e.eventId);
  t = nowNs();
  await publishAll(publisher, feed.topic, events);
  const ackedMs = msSince(t);
  const cpu0 = process.cpuUsage();
  t = nowNs();
  running = await startService(ctx, service, mode, topicPrefix);
  total += backlog;
  await allHandled(total, 'burst');
  const wallMs = msSince(t);
  const cpuMs = cpuMsSince(cpu0);
  const burstHandled = await Promise.all(
    running.groups.map((g) => processedAtOf(g.database, g.groupId, ids)),
  );
  let mail: MailResult | undefined;
  if (running.mail) {
    await allSent(total, 'burst');
    const sent = await sentAtOf(running.mail, ids);
    const first = minOf(burstHandled[0]?.values() ?? []);
    mail = { mode, sent: sent.size, sentMs: maxOf(sent.values()) - first, latency: [] };
  }

  // --- paced
  const count = opts.rate * opts.seconds;
  info(`${label}: paced, ${opts.rate}/s for ${opts.seconds} s`);
  const paced = await publishPaced(publisher, feed, count, opts.rate);
  total += count;
  await allHandled(total, 'paced');
  const pacedIds = [...paced.publishedAt.keys()];
  const latencies = (at: Map<string, number>): number[] =>
    pacedIds
      .filter((id) => at.has(id))
      .map((id) => (at.get(id) ?? 0) - (paced.publishedAt.get(id) ?? 0))
      .sort((a, b) => a - b);
  const groups: GroupResult[] = [];
  for (const [i, group] of running.groups.entries()) {
    const handled = [...(burstHandled[i] ?? new Map<string, number>()).values()];
    // Throughput over the window from the first commit of the backlog to the last: the events
    // committed after the first commit, over the window's length.
    const first = minOf(handled);
    groups.push({
      service,
      group: group.label,
      mode,
      events: backlog,
      handled: handled.length,
      windowEvents: handled.filter((at) => at > first).length,
      windowMs: maxOf(handled) - first,
      latency: latencies(await processedAtOf(group.database, group.groupId, pacedIds)),
      pacedEvents: count,
    });
  }
  if (running.mail && mail) {
    await allSent(total, 'paced');
    mail.latency = latencies(await sentAtOf(running.mail, pacedIds));
  }
  await stop();
  return {
    groups,
    ...(mail ? { mail } : {}),
    ackedMs,
    behindMs: paced.behindMs,
    cpuMs,
    wallMs,
  };
}

// ---------------------------------------------------------------------------------------------
// The outbox relay

type RelayMode = 'serialized' | 'validated';
const RELAY_LABEL: Record<RelayMode, string> = {
  serialized: 'publishSerialized (as stored)',
  validated: 'publishEvent (JSON.parse + zod per row)',
};

interface RelayResult {
  mode: RelayMode;
  round: number;
  rows: number;
  /** Notify to the last row marked sent. */
  burstMs: number;
  produceRequests: number;
  /** Paced: commit to `sent_at`, sorted. */
  latency: number[];
}

/**
 * The relay alone: a backlog of `--events` rows committed in one transaction, then one row per
 * transaction at `--rate`/s, each followed by `notify()` as a mutation does; both with the
 * relay's current path and with the old one (each row parsed and validated again).
 */
async function relayFlow(ctx: Context, mode: RelayMode, round: number): Promise<RelayResult> {
  const { opts, info } = ctx;
  const topicPrefix = `${ctx.prefix}relay-${mode}-${round}.`;
  const database = await openDatabase({
    name: `relay-${mode}-${round}`,
    config: { url: undefined, dataDir: path.join(ctx.root, 'relay-db') },
    entities: [OutboxMessageSchema],
    migrations: [{ name: '0001-outbox', class: CreateOutboxTable }],
  });
  let produceRequests = 0;
  const kafka = new KafkaService('user-service', {
    brokers: ctx.brokers,
    topicPrefix,
    topics: ['user-events'],
    partitions: ctx.kafka.topicPartitions,
    replicationFactor: ctx.kafka.replicationFactor,
    announce: false,
    onProduceRequest: () => void produceRequests++,
  });
  await kafka.start();
  const relay = createOutboxRelay({
    database,
    kafka:
      mode === 'serialized'
        ? kafka
        : {
            publishSerialized: (topic, event) =>
              kafka.publishEvent(topic, JSON.parse(event.value) as never),
          },
    logger: ctx.log,
  });
  relay.start();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await relay.stop();
    await kafka.stop();
    await database.close();
  };
  ctx.defer(stop);
  const drained = (what: string) =>
    waitForCount(
      `relay ${what}`,
      async () => -(await relay.pending()),
      0,
      opts.timeout * 1000,
      info,
      5,
    );
  const event = () => {
    const n = ++sequence;
    return UserEventFactory.createUserProfileUpdated(`bench-${runTag}-user-${n % 100}`, [
      `field${n}`,
    ]);
  };

  // Warm-up, then the backlog.
  await database.fork().transactional(async (em) => {
    for (let i = 0; i < Math.max(opts.warmup, 1); i++) enqueueEvent(em, 'user-events', event());
  });
  relay.notify();
  await drained('warm-up');
  await database.fork().transactional(async (em) => {
    for (let i = 0; i < opts.events; i++) enqueueEvent(em, 'user-events', event());
  });
  produceRequests = 0;
  const t = nowNs();
  relay.notify();
  await drained('backlog');
  const burstMs = msSince(t);
  const burstRequests = produceRequests;

  // Paced: one row per transaction, notify after each commit.
  info(`relay (${mode}): paced, ${opts.rate}/s for ${opts.seconds} s`);
  const committedAt = new Map<string, number>();
  const count = opts.rate * opts.seconds;
  const t0 = nowNs();
  for (let i = 0; i < count; i++) {
    const e = event();
    await database.fork().transactional(async (em) => enqueueEvent(em, 'user-events', e));
    committedAt.set(e.eventId, Date.now());
    relay.notify();
    await sleep(Math.max(0, ((i + 1) * 1000) / opts.rate - msSince(t0)));
  }
  await drained('paced');
  const latency: number[] = [];
  for (const ids of chunks([...committedAt.keys()], 500)) {
    for (const row of await database.fork().find(OutboxMessage, { eventId: { $in: ids } })) {
      if (row.sentAt) latency.push(row.sentAt.getTime() - (committedAt.get(row.eventId) ?? 0));
    }
  }
  await stop();
  return {
    mode,
    round,
    rows: opts.events,
    burstMs,
    produceRequests: burstRequests,
    latency: latency.sort((a, b) => a - b),
  };
}

// ---------------------------------------------------------------------------------------------
// Output

const rateOf = (r: GroupResult | undefined): number =>
  r ? r.windowEvents / (r.windowMs / 1000) : Number.NaN;

function report(opts: Options, results: RunResult[], relays: RelayResult[], broker: string): void {
  const out = (line = ''): void => void process.stdout.write(`${line}\n`);
  const all = results.flatMap((r) => r.groups);
  const keys = [...new Set(all.map((g) => `${g.service}/${g.group}`))];
  const find = (key: string, mode: Mode) =>
    all.find((g) => `${g.service}/${g.group}` === key && g.mode === mode);
  const [a, b] = [opts.modes[0] as Mode, opts.modes[1]];
  const modes = b ? [a, b] : [a];

  if (all.length > 0) {
    out();
    out(
      `Burst: a backlog of ${fmt(opts.events)} events (${fmt(opts.eachEvents)} one per event) published while the service was stopped (after ${opts.warmup} unmeasured), then consumed; handled/s = events committed after the first commit / (last - first processed_at)`,
    );
    out();
    out(
      table(
        [
          'service / group',
          ...modes.map((m) => `${MODE_LABEL[m]} handled/s`),
          ...(b ? [`ratio ${MODE_LABEL[a]} / ${MODE_LABEL[b]}`] : []),
        ],
        keys.map((key) => [
          key,
          ...modes.map((m) => fmt(rateOf(find(key, m)))),
          ...(b ? [`${fmt(rateOf(find(key, a)) / rateOf(find(key, b)), 1)}x`] : []),
        ]),
      ),
    );
    out();
    out(
      `Paced: ${fmt(opts.rate)} events/s for ${opts.seconds} s; latency from just before publishEvent to processed_at, ms`,
    );
    out();
    out(
      table(
        [
          'service / group',
          ...modes.flatMap((m) => [`${MODE_LABEL[m]} p50`, `${MODE_LABEL[m]} p99`, 'max']),
        ],
        keys.map((key) => [
          key,
          ...modes.flatMap((m) => {
            const l = find(key, m)?.latency ?? [];
            return [percentile(l, 50), percentile(l, 99), percentile(l, 100)].map((v) => fmt(v));
          }),
        ]),
      ),
    );
  }
  const mails = results.flatMap((r) => (r.mail ? [r.mail] : []));
  if (mails.length > 0) {
    out();
    out('Notifications: welcome emails written (.eml) and marked sent');
    out();
    out(
      table(
        ['mode', 'burst sent', 'burst emails/s', 'paced publish-to-sent p50 ms', 'p99 ms'],
        mails.map((m) => [
          MODE_LABEL[m.mode],
          fmt(m.sent),
          fmt(m.sent / (m.sentMs / 1000)),
          fmt(percentile(m.latency, 50)),
          fmt(percentile(m.latency, 99)),
        ]),
      ),
    );
  }
  if (relays.length > 0) {
    out();
    out(
      `Outbox relay: a backlog of ${fmt(opts.events)} rows, then ${fmt(opts.rate)} rows/s for ${opts.seconds} s (one per transaction, notify() after the commit)`,
    );
    out();
    out(
      table(
        [
          'relay path',
          'backlog rows/s',
          'produce requests',
          'paced commit-to-sent p50 ms',
          'p99 ms',
          'max ms',
        ],
        relays.map((r) => [
          `${RELAY_LABEL[r.mode]}, run ${r.round}`,
          fmt(r.rows / (r.burstMs / 1000)),
          fmt(r.produceRequests),
          fmt(percentile(r.latency, 50)),
          fmt(percentile(r.latency, 99)),
          fmt(percentile(r.latency, 100)),
        ]),
      ),
    );
  }
  out();
  for (const g of all) {
    if (g.handled < g.events) {
      out(`${g.service}/${g.group} (${g.mode}): PROBLEM: ${g.handled}/${g.events} handled`);
    }
    if (g.latency.length < g.pacedEvents) {
      out(
        `${g.service}/${g.group} (${g.mode}): PROBLEM: ${g.latency.length}/${g.pacedEvents} paced events handled`,
      );
    }
  }
  const maxBehind = Math.max(...results.map((r) => r.behindMs));
  out(
    `publisher: backlog acked in ${results.map((r) => fmt(r.ackedMs)).join('/')} ms; paced publisher max lag ${fmt(maxBehind, 1)} ms; service restart to all handled ${results.map((r) => fmt(r.wallMs)).join('/')} ms`,
  );
  out(`peak RSS of the process: ${fmt(process.resourceUsage().maxRSS / 1024)} MB`);
  const cpus = os.cpus();
  out(
    `machine: ${cpus.length} CPUs (${cpus[0]?.model.trim() ?? 'unknown'}), load ${os
      .loadavg()
      .map((l) => fmt(l, 1))
      .join(
        ' ',
      )} | node ${process.version} | Kafka: ${broker}, 3 partitions per topic | SQLite databases`,
  );
}

// ---------------------------------------------------------------------------------------------
// Main

const info = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);
const cleanup = createTeardown();
const teardown = (): Promise<void> => cleanup.run();

async function main(): Promise<void> {
  const opts = parseOptions();
  const config = loadConfig();
  // Errors only: a fresh topic makes kafkajs warn about benign start-up races.
  const log = createLogger(config.logLevel === 'debug' ? 'debug' : 'error', { bench: 'flows' });

  const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'flows-bench-'));
  cleanup.defer(() => fsp.rm(root, { recursive: true, force: true }));

  const bench = await startBenchBroker(path.join(root, 'kafka'), info);
  cleanup.defer(() => bench.stop());
  const { brokers } = bench;
  const broker = bench.description;

  const prefix = `bench-flows-${randomBytes(4).toString('hex')}.`;
  cleanup.defer(async () => {
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
      minInsyncReplicas: 1,
      handlerRetries: 3,
      handlerRetryMs: 200,
    },
    prefix,
    root,
    log,
    info,
    defer: cleanup.defer,
  };
  info(
    `services ${opts.services.join(', ')}, modes ${opts.modes.join(', ')}${opts.quick ? ' (--quick)' : ''}: ${opts.events} burst, ${opts.rate}/s for ${opts.seconds} s, ${opts.warmup} warm-up; topics under ${prefix}`,
  );
  const t = nowNs();
  const results: RunResult[] = [];
  for (const service of opts.services) {
    for (const mode of opts.modes) results.push(await run(ctx, service, mode));
  }
  const relays: RelayResult[] = [];
  if (opts.relay) {
    // Twice each, alternating: the first runs also warm up the process.
    for (const mode of ['serialized', 'validated', 'serialized', 'validated'] as const) {
      relays.push(await relayFlow(ctx, mode, relays.length < 2 ? 1 : 2));
    }
  }
  info(`all runs in ${fmt(msSince(t) / 1000, 1)} s`);
  report(opts, results, relays, broker);
}

runBench('bench:flows', main, teardown);
