/**
 * A subscriber of a live subscription (engine.ts): one client's place in a {@link Stream}.
 */
import { covers, maxPositions, type CursorCodec, type Positions } from './cursor';
import type { Delivery } from './feed';
import { SubscriberQueue, type QueueOwner, type ResultSink } from './queue';
import type { PreparedResult } from './result';
import type { Audience, Stream } from './stream';

/** What a subscriber needs of the engine that made it (`LiveSubscriptions`). */
export interface SubscriberHost {
  /** Signs the cursors of results. */
  readonly codec: CursorCodec;
  readonly counters: { delivered: number; dropped: number };
  /** The subscriber's queue ended: it leaves its stream. */
  release(subscriber: Subscriber): void;
}

/**
 * One subscriber of a stream: its bounded queue towards its transport, and the next offset it
 * takes in each partition, so that it gets each event once and none from before its cursor.
 * During a resume, live results wait (`held`, bounded like the queue) until the missed events
 * are delivered.
 */
export class Subscriber implements QueueOwner {
  readonly queue: SubscriberQueue;
  /** Next offset per partition this subscriber has considered. */
  floor: number[];
  /** Live results held back while missed events are replayed. */
  private held: { result: PreparedResult; delivery: Delivery }[] | undefined;

  constructor(
    private readonly engine: SubscriberHost,
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

  /** The queue ended (the client completed, went away, or the engine stopped). */
  queueClosed(): void {
    this.engine.release(this);
  }

  /** The queue dropped its oldest result for a client that does not read. */
  resultDropped(): void {
    this.engine.counters.dropped++;
  }

  /** A live result of its stream: delivered, or held while a resume catches up. */
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

  /**
   * Queues `result` with this subscriber's cursor, unless its event is below what the subscriber
   * has already taken in its partition.
   */
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
