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
 *
 * Streams are in stream.ts, subscribers in subscriber.ts; this file holds what owns them.
 */
import { GraphQLError, type ExecutionResult } from 'graphql';
import type { KafkaService, Topic } from '../../events';
import type { Logger } from '../../lib/logger';
import type { Identity } from '../../contracts/identity';
import { graphQLError } from '../errors';
import type { GatewayContext } from '../subgraph-client';
import { CursorCodec, InvalidCursorError, type Positions } from './cursor';
import { TopicFeed, type Delivery } from './feed';
import { LIVE_FIELDS, liveTopics, type LookupAsCaller } from './fields';
import type { CompiledSubscription, SubscriptionPlanner } from './plan';
import type { ResultSink, SubscriberQueue } from './queue';
import { PreparedResult } from './result';
import { replayFromKafka } from './replay';
import { identityKey, Stream, type StreamHost } from './stream';
import { Subscriber, type SubscriberHost } from './subscriber';

/** What live subscriptions read, plan and execute with, and their bounds. */
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

/** What `/metrics` reports of live subscriptions ({@link LiveSubscriptions.stats}). */
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

/**
 * The gateway's live subscriptions: a feed per topic, the streams subscribers share, resumes from
 * a cursor, and the counters of `/metrics`; `start`, `ready` and `stop` are its lifecycle.
 */
export class LiveSubscriptions implements StreamHost, SubscriberHost {
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

  /** Whether every feed routes events (false before start, after a feed's crash, once stopped). */
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

  /** The counters and sizes `/metrics` reports. */
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
