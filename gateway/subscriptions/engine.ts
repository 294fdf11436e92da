/**
 * Live federated subscriptions: what the gateway's WebSocket runs for a `subscription`.
 *
 * ```
 *  Kafka ─▶ TopicFeed (one per topic, group of this instance) ─route by key─▶ Stream ─▶ Subscriber queues ─▶ sockets
 *                                                                   (one execution per event,
 *                                                                    shared by identical subscribers)
 * ```
 *
 * - A **stream** is one subscription operation (same text, variables and caller) on one routing
 *   key. Subscribers that share all of that share the stream: one plan execution per event,
 *   whatever their number. Different callers share one only when the event alone answers the
 *   selection (no subgraph request); otherwise the subgraphs authorize per caller. A stream
 *   resolves up to `streamConcurrency` events at once and delivers them in event order; a slow
 *   subgraph delays only the streams that need it.
 * - A result is serialized once per stream and event (result.ts); each subscriber's cursor is
 *   spliced in, and subscribers with the event's cursor share its bytes.
 * - Each **subscriber** writes to its transport while it has room, else into a bounded queue
 *   (queue.ts): a client that does not read loses the oldest results and is told how many
 *   (`extensions.dropped`); the others are not slowed.
 * - Every result carries `extensions.eventId` and `extensions.cursor` (cursor.ts). Subscribing
 *   with `extensions: { cursor }` first delivers the missed events (from memory, or from Kafka
 *   when they are older), in order and without duplicates, then live ones.
 */
import { GraphQLError, type ExecutionResult } from 'graphql';
import type { KafkaService, Topic } from '../../events';
import type { Logger } from '../../lib/logger';
import type { Identity } from '../../contracts/identity';
import { graphQLError } from '../errors';
import type { GatewayContext } from '../subgraph-client';
import { covers, CursorCodec, InvalidCursorError, maxPositions, type Positions } from './cursor';
import { TopicFeed, type Delivery, type Listener } from './feed';
import { LIVE_FIELDS, liveTopics, type LookupAsCaller } from './fields';
import type { CompiledSubscription, SubscriptionPlanner } from './plan';
import { SubscriberQueue, type QueueOwner, type ResultSink } from './queue';
import { PreparedResult } from './result';
import { replayFromKafka } from './replay';

export interface LiveSubscriptionsOptions {
  kafka: KafkaService;
  planner: SubscriptionPlanner;
  /** Shared by every gateway instance: cursors of one are accepted by the others. */
  cursorSecret: string;
  /** The context of the subgraph requests made for `identity` (a freshly signed internal token). */
  context: (identity: Identity) => Promise<GatewayContext>;
  /** Runs a query through the gateway as `identity` (subscribe-time authorization). */
  lookup: (identity: Identity) => LookupAsCaller;
  /** Formats an error of a result as it leaves the gateway (masking in production). */
  formatError: (error: GraphQLError) => GraphQLError;
  logger: Logger;
  /** Results held per subscriber that does not read; the oldest are dropped beyond. @default 100 */
  queueLimit?: number;
  /** Events per topic kept in memory for resuming clients. @default 10_000 */
  recentEvents?: number;
  /**
   * Events waiting per stream while its subgraphs are slow; beyond, the oldest are dropped for
   * all its subscribers. @default 10_000
   */
  streamBacklog?: number;
  /** Events of one stream resolved at once; results still go out in event order. @default 32 */
  streamConcurrency?: number;
  /** Most events a resume reads from Kafka. @default 100_000 */
  maxReplay?: number;
}

/** A subscribe request: the payload of a graphql-transport-ws `subscribe` message. */
export interface LiveRequest {
  query: string;
  operationName?: string | null | undefined;
  variables?: Record<string, unknown> | null | undefined;
  extensions?: Record<string, unknown> | null | undefined;
}

export interface LiveSubscriptionStats {
  subscribers: number;
  streams: number;
  /** Results handed to subscriber queues. */
  delivered: number;
  /** Results dropped because a subscriber did not read. */
  dropped: number;
  /** Results waiting in subscriber queues now. */
  queued: number;
  /** Plan executions (one per event per stream). */
  executions: number;
  /** Resumes served from memory and from Kafka. */
  resumes: { memory: number; kafka: number };
  feeds: Record<string, { ready: boolean; routed: number; invalid: number }>;
}

/** How long a stream reuses one signed internal token (they live 60 s). */
const CONTEXT_TTL_MS = 30_000;

class Subscriber implements QueueOwner {
  readonly queue: SubscriberQueue;
  /** Next offset per partition this subscriber has considered. */
  floor: number[];
  /** Live results held back while missed events are replayed. */
  private held: { result: PreparedResult; delivery: Delivery }[] | undefined;

  constructor(
    private readonly engine: LiveSubscriptions,
    readonly stream: Stream,
    readonly audience: Audience,
    sink: ResultSink,
    queueLimit: number,
    floor: Positions,
    catchingUp: boolean,
    private readonly topic: string,
  ) {
    this.queue = new SubscriberQueue(queueLimit, sink, this);
    this.floor = floor.slice();
    this.held = catchingUp ? [] : undefined;
  }

  queueClosed(): void {
    this.engine.release(this);
  }

  resultDropped(): void {
    this.engine.counters.dropped++;
  }

  offer(result: PreparedResult, delivery: Delivery): void {
    if (this.held) {
      this.held.push({ result, delivery });
      if (this.held.length > this.queue.limit) {
        this.held.shift();
        this.queue.countDrop();
      }
      return;
    }
    this.deliver(result, delivery);
  }

  /** Results held for this subscriber: queued, or held back during a catch-up. */
  get waiting(): number {
    return this.queue.size + (this.held?.length ?? 0);
  }

  /** Ends the catch-up: held live results go out, minus those the replay already delivered. */
  goLive(replayedTo: Positions): void {
    this.floor = maxPositions(this.floor, replayedTo);
    const held = this.held ?? [];
    this.held = undefined;
    for (const { result, delivery } of held) this.deliver(result, delivery);
  }

  deliver(result: PreparedResult, delivery: Delivery): void {
    const { partition, offset } = delivery;
    if (offset < (this.floor[partition] ?? 0)) return; // delivered already, or before the cursor
    this.floor[partition] = offset + 1;
    let cursor: string;
    // Nearly always: the subscriber has seen every event before this one, so the event's cursor,
    // signed once, is its cursor too (and the payload serialized once is its payload).
    if (delivery.positions && covers(delivery.positions, this.floor)) {
      delivery.cursor ??= this.engine.codec.encode({
        topic: this.topic,
        positions: delivery.positions,
      });
      cursor = delivery.cursor;
    } else {
      const positions = delivery.positions
        ? maxPositions(this.floor, delivery.positions)
        : this.floor;
      cursor = this.engine.codec.encode({ topic: this.topic, positions });
    }
    this.engine.counters.delivered++;
    this.queue.push(result, cursor);
  }
}

/**
 * The subscribers of a stream that share one identity, hence one visibility per event. Arrays,
 * not Sets, here and in the stream: most streams have one audience of one subscriber, and an
 * idle subscriber should cost as little memory as it can.
 */
class Audience {
  readonly subscribers: Subscriber[] = [];
  constructor(
    readonly key: string,
    readonly identity: Identity,
  ) {}
}

/** Removes `item` from `list` (order kept); false when it was not there. */
function removeFrom<T>(list: T[], item: T): boolean {
  const at = list.indexOf(item);
  if (at === -1) return false;
  list.splice(at, 1);
  return true;
}

/** An identity's key: callers with the same user and roles see the same events. */
function identityKey(identity: Identity): string {
  return `${identity.userId}\u0000${[...identity.roles].sort().join(',')}`;
}

class Stream implements Listener {
  /** Subscribers by identity. One, unless the selection is answered from the event alone. */
  readonly audiences: Audience[] = [];
  private size = 0;
  private readonly pending: Delivery[] = [];
  /** Executions started, in event order; delivered in that order as they finish. */
  private readonly window: { delivery: Delivery; result: Promise<ExecutionResult> }[] = [];
  private flushing = false;
  private context: { value: GatewayContext; at: number } | undefined;
  private feed: { feed: TopicFeed; key: string } | undefined;

  constructor(
    readonly key: string,
    private readonly engine: LiveSubscriptions,
    readonly compiled: CompiledSubscription,
    readonly args: Record<string, unknown>,
    readonly variables: Record<string, unknown>,
    /** Whose internal token the stream's subgraph requests carry. */
    private readonly identity: Identity,
    private readonly pendingLimit: number,
    private readonly concurrency: number,
  ) {}

  get subscriberCount(): number {
    return this.size;
  }

  *subscribers(): Iterable<Subscriber> {
    for (const audience of this.audiences) yield* audience.subscribers;
  }

  /** The audience of `identity`, created when it is the first of its kind. */
  audienceOf(identity: Identity): Audience {
    const key = identityKey(identity);
    let audience = this.audiences.find((a) => a.key === key);
    if (!audience) {
      audience = new Audience(key, identity);
      this.audiences.push(audience);
    }
    return audience;
  }

  add(subscriber: Subscriber): void {
    subscriber.audience.subscribers.push(subscriber);
    this.size++;
  }

  /** Removes a subscriber; true when the stream has none left. */
  remove(subscriber: Subscriber): boolean {
    const { audience } = subscriber;
    if (removeFrom(audience.subscribers, subscriber)) this.size--;
    if (audience.subscribers.length === 0) removeFrom(this.audiences, audience);
    return this.size === 0;
  }

  attach(feed: TopicFeed, routingKey: string): void {
    this.feed = { feed, key: routingKey };
    feed.listen(routingKey, this);
  }

  detach(): void {
    this.feed?.feed.unlisten(this.feed.key, this);
    this.feed = undefined;
    this.pending.length = 0;
  }

  visible(delivery: Delivery, identity: Identity): boolean {
    return this.compiled.field.visible(delivery.event as never, this.args, identity);
  }

  onDelivery(delivery: Delivery): void {
    let seen = false;
    for (const audience of this.audiences) {
      if (this.visible(delivery, audience.identity)) {
        seen = true;
        break;
      }
    }
    if (!seen) return;
    this.pending.push(delivery);
    // Events waiting for a slow subgraph are bounded too; subscribers see the gap as dropped.
    if (this.pending.length > this.pendingLimit) {
      this.pending.shift();
      for (const subscriber of this.subscribers()) subscriber.queue.countDrop();
    }
    this.startExecutions();
  }

  /**
   * Resolves up to `concurrency` events at once (the subgraph round trips overlap) and delivers
   * the results strictly in event order.
   */
  private startExecutions(): void {
    while (this.window.length < this.concurrency && this.pending.length > 0) {
      const delivery = this.pending.shift() as Delivery;
      this.window.push({ delivery, result: this.execute(delivery) });
    }
    if (!this.flushing && this.window.length > 0) void this.flush();
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.window.length > 0) {
        const { delivery, result } = this.window[0] as (typeof this.window)[number];
        const prepared = new PreparedResult(await result, delivery.event.eventId);
        this.window.shift();
        for (const audience of this.audiences) {
          if (!this.visible(delivery, audience.identity)) continue;
          const { subscribers } = audience;
          for (let i = 0; i < subscribers.length; i++) {
            (subscribers[i] as Subscriber).offer(prepared, delivery);
          }
        }
        this.startExecutions();
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Resolves one event for this stream; never rejects. */
  async execute(delivery: Delivery): Promise<ExecutionResult> {
    return this.engine.resolve(this.compiled, delivery, this.variables, await this.contextValue());
  }

  private async contextValue(): Promise<GatewayContext> {
    const now = Date.now();
    if (!this.context || now - this.context.at > CONTEXT_TTL_MS) {
      this.context = { value: await this.engine.options.context(this.identity), at: now };
    }
    return this.context.value;
  }
}

export class LiveSubscriptions {
  readonly counters = { delivered: 0, dropped: 0, executions: 0, memory: 0, kafka: 0 };
  private readonly feeds = new Map<Topic, TopicFeed>();
  private readonly streams = new Map<string, Stream>();
  readonly codec: CursorCodec;
  private readonly queueLimit: number;
  private subscribers = 0;
  private stopped = false;

  constructor(readonly options: LiveSubscriptionsOptions) {
    this.codec = new CursorCodec(options.cursorSecret);
    this.queueLimit = options.queueLimit ?? 100;
    for (const topic of liveTopics()) {
      this.feeds.set(
        topic,
        new TopicFeed({
          kafka: options.kafka,
          topic,
          fields: [...LIVE_FIELDS.values()].filter((f) => f.topic === topic),
          logger: options.logger,
          ...(options.recentEvents === undefined ? {} : { recentEvents: options.recentEvents }),
        }),
      );
    }
  }

  /** Starts a feed per topic; resolves once every event published from now on is routed. */
  async start(): Promise<void> {
    await Promise.all([...this.feeds.values()].map((feed) => feed.start()));
  }

  ready(): boolean {
    return !this.stopped && [...this.feeds.values()].every((feed) => feed.ready());
  }

  /** Completes every subscription and leaves the feeds' groups. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const stream of this.streams.values()) {
      for (const subscriber of [...stream.subscribers()]) subscriber.queue.close();
    }
    this.streams.clear();
    await Promise.allSettled([...this.feeds.values()].map((feed) => feed.stop()));
  }

  stats(): LiveSubscriptionStats {
    const feeds: LiveSubscriptionStats['feeds'] = {};
    for (const [topic, feed] of this.feeds) feeds[topic] = { ready: feed.ready(), ...feed.counts };
    return {
      subscribers: this.subscribers,
      streams: this.streams.size,
      delivered: this.counters.delivered,
      dropped: this.counters.dropped,
      queued: this.queued(),
      executions: this.counters.executions,
      resumes: { memory: this.counters.memory, kafka: this.counters.kafka },
      feeds,
    };
  }

  private queued(): number {
    let queued = 0;
    for (const stream of this.streams.values()) {
      for (const subscriber of stream.subscribers()) queued += subscriber.waiting;
    }
    return queued;
  }

  /**
   * Starts a live subscription for `identity` whose results go to `sink`: its queue (an async
   * iterator that ends with the subscription), or the errors that refuse it (invalid operation,
   * variables or cursor, forbidden).
   */
  async subscribe(
    request: LiveRequest,
    identity: Identity,
    sink: ResultSink,
  ): Promise<SubscriberQueue | readonly GraphQLError[]> {
    const { planner } = this.options;
    const compiled = planner.compile(request.query, request.operationName ?? undefined);
    if (!('perEvent' in compiled)) return compiled;
    const input = planner.argumentsOf(compiled, request.variables);
    if (!('args' in input)) return input;
    const { field } = compiled;
    const refused = await field.authorize(input.args, identity, this.options.lookup(identity));
    if (refused?.length) return refused;
    const feed = this.feeds.get(field.topic);
    if (!feed?.ready() || this.stopped) {
      return [
        graphQLError('SERVICE_UNAVAILABLE', 'Live subscriptions are starting; try again shortly'),
      ];
    }
    const topicName = this.options.kafka.topicName(field.topic);
    let from: Positions | undefined;
    const cursor = request.extensions?.['cursor'];
    if (cursor !== undefined && cursor !== null) {
      try {
        from = this.codec.decode(cursor, topicName).positions;
      } catch (error) {
        if (!(error instanceof InvalidCursorError)) throw error;
        return [graphQLError('BAD_CURSOR', error.message)];
      }
    }

    const routingKey = field.key(input.args, identity);
    // A selection answered from the event alone is the same for every caller: callers share its
    // stream (each still sees only the events it may). Otherwise the subgraphs answer per caller.
    const streamKey = [
      field.name,
      routingKey,
      compiled.eventOnly ? '' : identityKey(identity),
      compiled.operationName ?? '',
      compiled.query,
      JSON.stringify(input.variables),
    ].join('\u0000');
    let stream = this.streams.get(streamKey);
    if (!stream) {
      stream = new Stream(
        streamKey,
        this,
        compiled,
        input.args,
        input.variables,
        identity,
        this.options.streamBacklog ?? 10_000,
        this.options.streamConcurrency ?? 32,
      );
      stream.attach(feed, routingKey);
      this.streams.set(streamKey, stream);
    }
    const liveFrom = feed.positions.slice();
    const subscriber = new Subscriber(
      this,
      stream,
      stream.audienceOf(identity),
      sink,
      this.queueLimit,
      from ?? liveFrom,
      from !== undefined,
      topicName,
    );
    const { queue } = subscriber;
    stream.add(subscriber);
    this.subscribers++;
    if (from !== undefined) {
      const missed = await this.missed(stream, identity, field.topic, feed, from, liveFrom).catch(
        (error: unknown) => (error instanceof GraphQLError ? [error] : Promise.reject(error)),
      );
      if (missed.length > 0 && missed[0] instanceof GraphQLError) {
        queue.clear();
        return missed as GraphQLError[];
      }
      void this.catchUp(stream, subscriber, missed as Delivery[], liveFrom);
    }
    return queue;
  }

  /** A subscriber's queue ended: it leaves its stream, and the stream goes when it is empty. */
  release(subscriber: Subscriber): void {
    this.subscribers--;
    const { stream } = subscriber;
    if (stream.remove(subscriber) && this.streams.get(stream.key) === stream) {
      stream.detach();
      this.streams.delete(stream.key);
    }
  }

  /** Resolves one event for a subscription; a failure becomes an error in the result. */
  async resolve(
    compiled: CompiledSubscription,
    delivery: Delivery,
    variables: Record<string, unknown>,
    context: GatewayContext,
  ): Promise<ExecutionResult> {
    this.counters.executions++;
    try {
      const result = await this.options.planner.execute(
        compiled,
        compiled.field.value(delivery.event as never),
        variables,
        context,
      );
      return result.errors
        ? { ...result, errors: result.errors.map((e) => this.options.formatError(e)) }
        : result;
    } catch (error) {
      this.options.logger.error('live subscription execution failed', {
        field: compiled.field.name,
        eventId: delivery.event.eventId,
        error,
      });
      const failure =
        error instanceof GraphQLError
          ? error
          : graphQLError(
              'INTERNAL_SERVER_ERROR',
              'Resolving the event failed',
              {},
              { originalError: error instanceof Error ? error : new Error(String(error)) },
            );
      return { data: null, errors: [this.options.formatError(failure)] };
    }
  }

  /** The events in [from, to) the stream's subscribers would have received. */
  private async missed(
    stream: Stream,
    identity: Identity,
    topic: Topic,
    feed: TopicFeed,
    from: Positions,
    to: Positions,
  ): Promise<Delivery[]> {
    const keep = (delivery: Delivery) =>
      stream.compiled.field
        .routes(delivery.event as never)
        .includes(stream.compiled.field.key(stream.args, identity)) &&
      stream.visible(delivery, identity);
    const recent = feed.recent(from, to);
    if (recent) {
      this.counters.memory++;
      return recent.filter(keep);
    }
    this.counters.kafka++;
    return replayFromKafka(this.options.kafka, topic, from, to, {
      keep,
      ...(this.options.maxReplay === undefined ? {} : { maxEvents: this.options.maxReplay }),
    });
  }

  /** Delivers missed events in order, at the pace the client reads, then live ones. */
  private async catchUp(
    stream: Stream,
    subscriber: Subscriber,
    missed: Delivery[],
    liveFrom: Positions,
  ): Promise<void> {
    for (const delivery of missed) {
      if (subscriber.queue.isClosed) return;
      await subscriber.queue.roomFor();
      // The feed's positions after a missed event do not hold for this subscriber, which gets
      // missed events in timestamp order: its cursor is built from what it was given.
      const { positions: _live, cursor: _cached, ...missedDelivery } = delivery;
      const result = await stream.execute(delivery);
      subscriber.deliver(new PreparedResult(result, delivery.event.eventId), missedDelivery);
    }
    subscriber.goLive(liveFrom);
  }
}
