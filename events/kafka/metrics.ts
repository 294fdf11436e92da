/**
 * The Kafka figures of a process (the design's monitoring: throughput per topic, consumer lag,
 * failed messages, partition distribution, processing time, failed handlers, consumer health),
 * registered once per prom-client registry and fed by every `KafkaService` attached to it:
 *
 * - `kafka_messages_produced_total{topic}`, `kafka_messages_consumed_total{topic,group}`;
 * - `kafka_consumer_lag{topic,group,partition}`: the partition's high watermark minus the group's
 *   committed offset, read with the admin client when scraped, at most once per
 *   {@link LAG_CACHE_MS}; a failed read keeps the last values and counts
 *   `kafka_metrics_errors_total`, so a scrape never fails;
 * - `kafka_consumer_assigned_partitions{topic,group}` (from the last GROUP_JOIN);
 * - `kafka_messages_dead_lettered_total{topic,group,reason}`, reason `invalid`, `non_retriable`
 *   or `retries_exhausted`;
 * - `kafka_handler_duration_seconds{topic,group,event_type}` and
 *   `kafka_handler_failures_total{topic,group,event_type}` (each failed attempt);
 * - `kafka_consumer_state{group,state}`: 1 for the current state, 0 for the others.
 *
 * Topics and groups are logical (no deployment prefix), so dashboards work in every deployment.
 * The hot path pays a map lookup and an increment: label children are cached per topic, group
 * and event type, and a service without a registry pays one `undefined` check.
 */
import type { Admin } from 'kafkajs';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Topic } from '../topics';

/** Why a message was dead-lettered. */
export type DeadLetterReason = 'invalid' | 'non_retriable' | 'retries_exhausted';

/** A consumer's health, as `kafka_consumer_state` shows it. */
export const CONSUMER_STATES = [
  'connecting',
  'connected',
  'rebalancing',
  'stalled',
  'stopped',
] as const;
export type ConsumerState = (typeof CONSUMER_STATES)[number];

/** What happens to a consumer, as far as its state is concerned. */
export type ConsumerEvent = 'connect' | 'join' | 'rebalance' | 'crash' | 'stop';

/** Handler durations from 1 ms to 10 s. */
export const HANDLER_DURATION_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** How long a lag reading is reused, so frequent scrapes stay cheap. */
export const LAG_CACHE_MS = 1_500;
/** Longest a lag reading may take before the scrape goes on with the last values. */
export const LAG_READ_TIMEOUT_MS = 3_000;
/** kafkajs's default session timeout: a member silent that long has been dropped by its group. */
export const SESSION_TIMEOUT_MS = 30_000;

/** The state after `event`; a crash is `stalled` until the group is joined again. */
export function nextConsumerState(state: ConsumerState, event: ConsumerEvent): ConsumerState {
  switch (event) {
    case 'connect':
      return 'connecting';
    case 'join':
      return state === 'stopped' ? state : 'connected';
    case 'rebalance':
      return state === 'stopped' || state === 'stalled' ? state : 'rebalancing';
    case 'crash':
      return state === 'stopped' ? state : 'stalled';
    case 'stop':
      return 'stopped';
  }
}

/**
 * The state to report at `now`: a connected or rebalancing consumer without a heartbeat or fetch
 * since `lastProgressAt` for longer than the session timeout is `stalled`.
 */
export function reportedConsumerState(
  state: ConsumerState,
  lastProgressAt: number,
  now: number,
  sessionTimeoutMs = SESSION_TIMEOUT_MS,
): ConsumerState {
  if ((state === 'connected' || state === 'rebalancing') && now - lastProgressAt > sessionTimeoutMs)
    return 'stalled';
  return state;
}

/**
 * Lag per partition: the high watermark minus the committed offset; a partition the group never
 * committed counts from the earliest retained offset (`low`), as a group starting from the
 * beginning reads it. Never negative.
 */
export function partitionLag(
  committed: readonly { partition: number; offset: string }[],
  watermarks: readonly { partition: number; low: number; high: number }[],
): { partition: number; lag: number }[] {
  const offsets = new Map(committed.map((c) => [c.partition, Number(c.offset)]));
  return watermarks.map(({ partition, low, high }) => {
    const offset = offsets.get(partition);
    const from = offset === undefined || !(offset >= 0) ? low : offset;
    return { partition, lag: Math.max(0, high - from) };
  });
}

/** One consumer's reading: its state and what it holds. */
interface TrackedConsumer {
  group: string;
  state: ConsumerState;
  lastProgressAt: number;
}

interface LagValue {
  topic: Topic;
  group: string;
  partition: string;
  lag: number;
}

/** The registry's instruments, and the meters that feed its scrape-time figures. */
interface Instruments {
  produced: Counter<'topic'>;
  consumed: Counter<'topic' | 'group'>;
  assigned: Gauge<'topic' | 'group'>;
  deadLettered: Counter<'topic' | 'group' | 'reason'>;
  handlerDuration: Histogram<'topic' | 'group' | 'event_type'>;
  handlerFailures: Counter<'topic' | 'group' | 'event_type'>;
  errors: Counter;
  meters: Set<KafkaMeter>;
}

const byRegistry = new WeakMap<Registry, Instruments>();

/** The Kafka instruments of `registry`, registered on first use. */
function instrumentsOf(registry: Registry): Instruments {
  const found = byRegistry.get(registry);
  if (found) return found;
  const registers = [registry];
  const meters = new Set<KafkaMeter>();
  const errors = new Counter({
    name: 'kafka_metrics_errors_total',
    help: 'Failed reads of Kafka figures at scrape time (the last values were kept)',
    registers,
  });
  new Gauge({
    name: 'kafka_consumer_lag',
    help: "Messages between a partition's high watermark and the group's committed offset",
    labelNames: ['topic', 'group', 'partition'] as const,
    registers,
    async collect() {
      const readings = await Promise.all([...meters].map((m) => m.readLag()));
      this.reset();
      for (const values of readings)
        for (const { topic, group, partition, lag } of values)
          this.set({ topic, group, partition }, lag);
    },
  });
  new Gauge({
    name: 'kafka_consumer_state',
    help: "A consumer's state: 1 for the current one (connecting, connected, rebalancing, stalled, stopped)",
    labelNames: ['group', 'state'] as const,
    registers,
    collect() {
      this.reset();
      const now = Date.now();
      for (const meter of meters) {
        for (const consumer of meter.consumers()) {
          const current = reportedConsumerState(consumer.state, consumer.lastProgressAt, now);
          for (const state of CONSUMER_STATES)
            this.set({ group: consumer.group, state }, state === current ? 1 : 0);
        }
      }
    },
  });
  const instruments: Instruments = {
    produced: new Counter({
      name: 'kafka_messages_produced_total',
      help: 'Messages acknowledged by the brokers, by logical topic',
      labelNames: ['topic'] as const,
      registers,
    }),
    consumed: new Counter({
      name: 'kafka_messages_consumed_total',
      help: 'Messages delivered to a consumer group of this process',
      labelNames: ['topic', 'group'] as const,
      registers,
    }),
    assigned: new Gauge({
      name: 'kafka_consumer_assigned_partitions',
      help: 'Partitions this member of the group holds',
      labelNames: ['topic', 'group'] as const,
      registers,
    }),
    deadLettered: new Counter({
      name: 'kafka_messages_dead_lettered_total',
      help: 'Messages sent to the dead-letter topic, by reason (invalid, non_retriable, retries_exhausted)',
      labelNames: ['topic', 'group', 'reason'] as const,
      registers,
    }),
    handlerDuration: new Histogram({
      name: 'kafka_handler_duration_seconds',
      help: "Handler time per event (a batch's time is shared among its events)",
      labelNames: ['topic', 'group', 'event_type'] as const,
      buckets: HANDLER_DURATION_BUCKETS,
      registers,
    }),
    handlerFailures: new Counter({
      name: 'kafka_handler_failures_total',
      help: 'Failed handler attempts',
      labelNames: ['topic', 'group', 'event_type'] as const,
      registers,
    }),
    errors,
    meters,
  };
  byRegistry.set(registry, instruments);
  return instruments;
}

/** A `Map` entry, created by `make` on first use. */
function cached<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

type Inc = { inc(value?: number): void };
type Observe = { observe(value: number): void };

/** What a {@link KafkaMeter} needs of its service. */
export interface KafkaMeterOptions {
  admin: Admin;
  /** The physical name of a logical topic. */
  topicName: (topic: Topic) => string;
  /** The physical id of a logical group. */
  groupName: (group: string) => string;
  /** The logical topics, for mapping produced physical names back. */
  topics: readonly Topic[];
  /** Whether the admin client is connected (lag is read only then). */
  running: () => boolean;
  /** The failure of a lag reading, for the log. */
  onError?: (error: unknown) => void;
}

/**
 * One `KafkaService`'s side of the figures. Does nothing until {@link KafkaMeter.attach} gave it
 * a registry.
 */
export class KafkaMeter {
  private instruments: Instruments | undefined;
  private readonly produced = new Map<string, Inc | null>();
  private readonly tracked = new Set<TrackedConsumer>();
  /** Logical group -> logical topics it has read in this service (kept after a stop: lag). */
  private readonly groups = new Map<string, Set<Topic>>();
  private lag: LagValue[] = [];
  private lagReadAt = 0;
  private lagReading: Promise<LagValue[]> | undefined;

  constructor(private readonly options: KafkaMeterOptions) {}

  /**
   * Feeds `registry` from now on; the registry's instruments are created once, however many
   * services attach. A meter feeds one registry: a later, different one is refused (`false`).
   */
  attach(registry: Registry): boolean {
    const instruments = instrumentsOf(registry);
    if (this.instruments && this.instruments !== instruments) return false;
    this.instruments = instruments;
    instruments.meters.add(this);
    return true;
  }

  /** `count` messages of the physical topic `physical` were acknowledged. */
  producedTo(physical: string, count: number): void {
    const instruments = this.instruments;
    if (!instruments) return;
    const child = cached(this.produced, physical, () => {
      const topic = this.logicalName(physical);
      return topic === undefined ? null : instruments.produced.labels(topic);
    });
    child?.inc(count);
  }

  /** The meter of one subscription in logical group `group`, reading `topics`. */
  subscription(group: string, topics: readonly Topic[]): SubscriptionMeter {
    const known = cached(this.groups, group, () => new Set<Topic>());
    for (const topic of topics) known.add(topic);
    for (const consumer of this.tracked)
      if (consumer.group === group) this.tracked.delete(consumer);
    const consumer: TrackedConsumer = { group, state: 'connecting', lastProgressAt: Date.now() };
    this.tracked.add(consumer);
    return new SubscriptionMeter(group, consumer, () => this.instruments);
  }

  /** The consumers of this service, for `kafka_consumer_state`. */
  consumers(): Iterable<TrackedConsumer> {
    return this.tracked;
  }

  /** The lag of every group this service has read; never rejects (see the module's comment). */
  async readLag(): Promise<LagValue[]> {
    if (this.groups.size === 0 || !this.options.running()) return this.lag;
    if (Date.now() - this.lagReadAt < LAG_CACHE_MS) return this.lag;
    this.lagReading ??= this.fetchLag()
      .then((values) => {
        this.lag = values;
        this.lagReadAt = Date.now();
        return values;
      })
      .catch((error: unknown) => {
        // Not retried before the cache expires either: a broker that is away is not hammered.
        this.lagReadAt = Date.now();
        this.instruments?.errors.inc();
        this.options.onError?.(error);
        return this.lag;
      })
      .finally(() => {
        this.lagReading = undefined;
      });
    return this.lagReading;
  }

  private async fetchLag(): Promise<LagValue[]> {
    const { admin, topicName, groupName } = this.options;
    const watermarks = new Map<
      Topic,
      Promise<{ partition: number; low: number; high: number }[]>
    >();
    const watermarksOf = (topic: Topic) =>
      cached(watermarks, topic, () =>
        admin.fetchTopicOffsets(topicName(topic)).then((offsets) =>
          offsets.map((o) => ({
            partition: o.partition,
            low: Number(o.low),
            high: Number(o.high),
          })),
        ),
      );
    const reading = Promise.all(
      [...this.groups].map(async ([group, topics]) => {
        const committed = await admin.fetchOffsets({
          groupId: groupName(group),
          topics: [...topics].map(topicName),
        });
        return Promise.all(
          [...topics].map(async (topic) => {
            const partitions =
              committed.find((c) => c.topic === topicName(topic))?.partitions ?? [];
            return partitionLag(partitions, await watermarksOf(topic)).map(
              ({ partition, lag }): LagValue => ({
                topic,
                group,
                partition: String(partition),
                lag,
              }),
            );
          }),
        );
      }),
    ).then((groups) => groups.flat(2));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`reading consumer lag took over ${LAG_READ_TIMEOUT_MS} ms`)),
        LAG_READ_TIMEOUT_MS,
      );
    });
    try {
      return await Promise.race([reading, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private logicalName(physical: string): string | undefined {
    for (const topic of this.options.topics) {
      const name = this.options.topicName(topic);
      if (physical === name) return topic;
      if (physical === `${name}.dlq`) return `${topic}.dlq`;
    }
    return undefined;
  }
}

interface HandlerChildren {
  duration: Observe;
  failures: Inc;
}

/** One subscription's figures: its group is fixed, its children cached per topic and type. */
export class SubscriptionMeter {
  private readonly consumedBy = new Map<Topic, Inc>();
  private readonly handlers = new Map<Topic, Map<string, HandlerChildren>>();
  private readonly deadLetteredBy = new Map<Topic, Map<DeadLetterReason, Inc>>();
  private assignedTopics = new Set<Topic>();

  constructor(
    readonly group: string,
    private readonly consumer: TrackedConsumer,
    private readonly instruments: () => Instruments | undefined,
  ) {}

  /** `count` messages of `topic` were delivered. */
  consumed(topic: Topic, count = 1): void {
    const instruments = this.instruments();
    if (!instruments) return;
    cached(this.consumedBy, topic, () => instruments.consumed.labels(topic, this.group)).inc(count);
  }

  /** A handler attempt on an event of `eventType` took `seconds`, and failed or not. */
  handled(topic: Topic, eventType: string, seconds: number, failed = false): void {
    const instruments = this.instruments();
    if (!instruments) return;
    const children = cached(
      cached(this.handlers, topic, () => new Map<string, HandlerChildren>()),
      eventType,
      () => ({
        duration: instruments.handlerDuration.labels(topic, this.group, eventType),
        failures: instruments.handlerFailures.labels(topic, this.group, eventType),
      }),
    );
    children.duration.observe(seconds);
    if (failed) children.failures.inc();
  }

  /** A message of `topic` was dead-lettered. */
  deadLettered(topic: Topic, reason: DeadLetterReason): void {
    const instruments = this.instruments();
    if (!instruments) return;
    cached(
      cached(this.deadLetteredBy, topic, () => new Map<DeadLetterReason, Inc>()),
      reason,
      () => instruments.deadLettered.labels(topic, this.group, reason),
    ).inc();
  }

  /** The consumer's state changed. */
  transition(event: ConsumerEvent): void {
    this.consumer.state = nextConsumerState(this.consumer.state, event);
    if (event === 'join' || event === 'connect') this.progress();
    if (event === 'stop') this.assigned(new Map());
  }

  /** A heartbeat or a fetch: the consumer is alive. */
  progress(): void {
    this.consumer.lastProgressAt = Date.now();
  }

  /** This member now holds `partitions` of each topic (topics absent hold none). */
  assigned(partitions: ReadonlyMap<Topic, number>): void {
    const instruments = this.instruments();
    if (!instruments) return;
    for (const topic of new Set([...this.assignedTopics, ...partitions.keys()]))
      instruments.assigned.set({ topic, group: this.group }, partitions.get(topic) ?? 0);
    this.assignedTopics = new Set(partitions.keys());
  }
}
