/**
 * A stream of live subscriptions (engine.ts): the subscribers of one operation on one routing
 * key, grouped by identity, and one execution per event for all of them.
 */
import type { ExecutionResult } from 'graphql';
import type { Identity } from '../../contracts/identity';
import { extractTraceContext, inSpan } from '../../lib/tracing';
import type { GatewayContext } from '../subgraph-client';
import type { Delivery, Listener, TopicFeed } from './feed';
import type { CompiledSubscription } from './plan';
import { PreparedResult } from './result';
import type { Subscriber } from './subscriber';

/** What a stream needs of the engine that made it (`LiveSubscriptions`). */
export interface StreamHost {
  /** Resolves one event for a subscription; never rejects (a failure is an error in the result). */
  resolve(
    compiled: CompiledSubscription,
    delivery: Delivery,
    variables: Record<string, unknown>,
    context: GatewayContext,
  ): Promise<ExecutionResult>;
  readonly options: {
    /** The context of the subgraph requests made for `identity` (a signed internal token). */
    context(identity: Identity): Promise<GatewayContext>;
  };
}

/** How long a stream reuses one signed internal token (they live 60 s). */
const CONTEXT_TTL_MS = 30_000;

/**
 * The subscribers of a stream that share one identity, hence one visibility per event. Arrays,
 * not Sets, here and in the stream: most streams have one audience of one subscriber, and an
 * idle subscriber should cost as little memory as it can.
 */
export class Audience {
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
export function identityKey(identity: Identity): string {
  return `${identity.userId}\u0000${[...identity.roles].sort().join(',')}`;
}

/**
 * One subscription operation (same text, variables and caller) on one routing key, shared by its
 * subscribers: it listens on its feed's key, resolves each event it may show to one of its
 * audiences once (up to `concurrency` at once, at most `pendingLimit` waiting), and offers the
 * result to every subscriber allowed to see it, in event order.
 */
export class Stream implements Listener {
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
    private readonly engine: StreamHost,
    readonly compiled: CompiledSubscription,
    readonly args: Record<string, unknown>,
    readonly variables: Record<string, unknown>,
    /** Whose internal token the stream's subgraph requests carry. */
    private readonly identity: Identity,
    private readonly pendingLimit: number,
    private readonly concurrency: number,
  ) {}

  /** Subscribers of every audience. */
  get subscriberCount(): number {
    return this.size;
  }

  /** Every subscriber, audience by audience. */
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

  /** Adds a subscriber to its audience (see {@link audienceOf}). */
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

  /** Listens on `routingKey` of `feed`, until {@link detach}. */
  attach(feed: TopicFeed, routingKey: string): void {
    this.feed = { feed, key: routingKey };
    feed.listen(routingKey, this);
  }

  /** Stops listening and forgets the events that wait. */
  detach(): void {
    this.feed?.feed.unlisten(this.feed.key, this);
    this.feed = undefined;
    this.pending.length = 0;
  }

  /** Whether `identity` may see the event (the field's per-event check). */
  visible(delivery: Delivery, identity: Identity): boolean {
    return this.compiled.field.visible(delivery.event as never, this.args, identity);
  }

  /** An event of the stream's key: queued for execution when one of its audiences may see it. */
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

  /**
   * Resolves one event for this stream; never rejects. A span of the event's trace (the request
   * that published it) when tracing is on: lib/tracing.ts.
   */
  async execute(delivery: Delivery): Promise<ExecutionResult> {
    return inSpan(
      `subscription ${this.compiled.field.name}`,
      {
        parent: extractTraceContext(delivery.traceparent),
        attributes: {
          'graphql.operation.type': 'subscription',
          'event.id': delivery.event.eventId,
          'event.type': delivery.event.eventType,
          subscribers: this.size,
        },
      },
      async () =>
        this.engine.resolve(this.compiled, delivery, this.variables, await this.contextValue()),
    );
  }

  private async contextValue(): Promise<GatewayContext> {
    const now = Date.now();
    if (!this.context || now - this.context.at > CONTEXT_TTL_MS) {
      this.context = { value: await this.engine.options.context(this.identity), at: now };
    }
    return this.context.value;
  }
}
