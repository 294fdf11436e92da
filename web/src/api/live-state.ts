/**
 * The pure half of a live subscription (see live.ts): which attempt is current, the status it
 * reports, the last cursor, which events were already delivered, and when to try again. No
 * timers, sockets or DOM here, so every transition is unit-tested (live-state.test.ts).
 *
 * An attempt is one `subscribe` over one socket. live.ts starts one with {@link LiveState.begin}
 * (whose extensions carry the last cursor, so the gateway replays what was missed), reports the
 * socket's `connected` and the attempt's results, and, when the socket closes or the operation
 * ends, asks {@link LiveState.lost} what to do. Signals of an attempt that is no longer the
 * current one (graphql-ws reports one close both as an event and as the sink's error) are
 * ignored, so each loss is handled once.
 */

/** What the page shows: `connecting` until first live, `reconnecting` after losing it. */
export type LiveStatus = 'connecting' | 'live' | 'reconnecting';

/** The gateway's extensions of one subscription result. */
export interface ResultMeta {
  /** The event the result is for; the same event replayed has the same id. */
  eventId: string | undefined;
  /** Where the subscriber stands after this result: hand it back to resume after it. */
  cursor: string | undefined;
  /** Events the gateway dropped before this one (a subscriber too slow to keep up). */
  dropped: number;
}

/** Reads `extensions.eventId`, `extensions.cursor` and `extensions.dropped` of a result. */
export function readMeta(extensions: unknown): ResultMeta {
  const record =
    typeof extensions === 'object' && extensions !== null
      ? (extensions as Record<string, unknown>)
      : {};
  const { eventId, cursor, dropped } = record;
  return {
    eventId: typeof eventId === 'string' ? eventId : undefined,
    cursor: typeof cursor === 'string' ? cursor : undefined,
    dropped: typeof dropped === 'number' && dropped > 0 ? dropped : 0,
  };
}

/** What to do after a loss: wait `delayMs`, refresh the session first when `refresh`. */
export interface RetryPlan {
  delayMs: number;
  refresh: boolean;
}

/** The gateway's close code for credentials that are missing, invalid or expired. */
export const CLOSE_UNAUTHORIZED = 4401;

export interface LiveStateOptions {
  /** First retry delay; doubles with each failure in a row. @default 1_000 */
  baseDelayMs?: number;
  /** @default 30_000 */
  maxDelayMs?: number;
  /** Event ids remembered for deduplication. @default 1_000 */
  remember?: number;
  /** Jitter source in [0, 1). @default Math.random */
  random?: () => number;
}

type Phase = 'pending' | 'live' | 'lost';

/** One live subscription's state across its attempts: see the module's comment. */
export class LiveState {
  /** The status to show. */
  status: LiveStatus = 'connecting';
  private attempt = 0;
  private phase: Phase = 'lost';
  private cursor: string | undefined;
  /** Losses since the last live connection: the backoff's exponent. */
  private failures = 0;
  /** Whether the session was refreshed since the last live connection (refresh once per 4401 run). */
  private refreshed = false;
  private readonly seen = new Set<string>();
  private readonly seenOrder: string[] = [];
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly remember: number;
  private readonly random: () => number;

  constructor(options: LiveStateOptions = {}) {
    this.baseDelayMs = options.baseDelayMs ?? 1_000;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
    this.remember = options.remember ?? 1_000;
    this.random = options.random ?? Math.random;
  }

  /** The last cursor received, if any. */
  get lastCursor(): string | undefined {
    return this.cursor;
  }

  /**
   * Starts a new attempt, superseding the previous one.
   * @returns its id, and the `extensions` of its subscribe payload: `{ cursor }` after a result.
   */
  begin(): { attempt: number; extensions: { cursor: string } | undefined } {
    this.attempt += 1;
    this.phase = 'pending';
    return {
      attempt: this.attempt,
      extensions: this.cursor === undefined ? undefined : { cursor: this.cursor },
    };
  }

  /** The socket carrying `attempt` was acknowledged: the subscription is live. */
  connected(attempt: number): void {
    if (attempt !== this.attempt || this.phase !== 'pending') return;
    this.phase = 'live';
    this.status = 'live';
    this.failures = 0;
    this.refreshed = false;
  }

  /**
   * A result of `attempt`: its metadata when it is to be delivered; undefined for a stale
   * attempt or an event already delivered (a replay overlapping what arrived before the loss).
   * A result proves the attempt live, in case `connected` came before it began.
   */
  result(attempt: number, extensions: unknown): ResultMeta | undefined {
    if (attempt !== this.attempt || this.phase === 'lost') return undefined;
    this.connected(attempt);
    const meta = readMeta(extensions);
    if (meta.eventId !== undefined) {
      if (this.seen.has(meta.eventId)) return undefined;
      this.seen.add(meta.eventId);
      this.seenOrder.push(meta.eventId);
      if (this.seenOrder.length > this.remember) this.seen.delete(this.seenOrder.shift() ?? '');
    }
    if (meta.cursor !== undefined) this.cursor = meta.cursor;
    return meta;
  }

  /**
   * The connection of `attempt` closed (with `closeCode`, when known) or its operation ended.
   * @returns when and how to try again; undefined when `attempt` was already lost or superseded.
   */
  lost(attempt: number, closeCode?: number): RetryPlan | undefined {
    if (attempt !== this.attempt || this.phase === 'lost') return undefined;
    this.phase = 'lost';
    if (this.status === 'live') this.status = 'reconnecting';
    const refresh = closeCode === CLOSE_UNAUTHORIZED && !this.refreshed;
    if (refresh) this.refreshed = true;
    const exponent = Math.min(this.failures, 30);
    this.failures += 1;
    const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** exponent);
    // Half fixed, half random: clients that lost the same gateway do not come back in step.
    return { delayMs: Math.round(ceiling / 2 + (ceiling / 2) * this.random()), refresh };
  }

  /** The gateway refused the cursor (expired or invalid): the next attempt starts from now. */
  forgetCursor(): void {
    this.cursor = undefined;
  }
}
