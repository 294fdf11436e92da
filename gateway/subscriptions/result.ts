/**
 * A subscription result serialized once for every subscriber that shares it.
 *
 * Subscribers of one stream get the same `data` and `errors` for an event; only
 * `extensions.cursor` (where each stands) and `extensions.dropped` (what each lost) may differ.
 * The result is serialized once, without its extensions; a subscriber's payload splices its
 * cursor in. Subscribers whose cursor is the event's shared one (nearly all: those that have seen
 * every event before it) share one encoded buffer, so the fan-out neither serializes nor copies
 * per subscriber: a transport writes its own few bytes around the shared ones.
 *
 * The encoded bytes live outside the JavaScript heap, and the result keeps no reference to the
 * `ExecutionResult` it was made from: results waiting in many queues cost the heap little.
 */
import type { ExecutionResult } from 'graphql';

/**
 * One event's result for a stream's subscribers, serialized once: see the module's comment.
 * A transport calls {@link PreparedResult.encoded}; {@link PreparedResult.payload} gives the text.
 */
export class PreparedResult {
  /** `{"data":...,"errors":...` without its closing brace (just `{` when both are absent). */
  private body: string | undefined;
  /** Bytes of `body` as UTF-8; the shared encoding starts with them. */
  private readonly bodyBytes: number;
  /** The result's own extensions as members (`"a":1,`), before ours. */
  private readonly ownExtensions: string;
  private sharedCursor: string | undefined;
  /** The shared payload followed by a transport's suffix, by suffix. */
  private readonly shared = new Map<string, Buffer>();

  /**
   * @param result - serialized now; the instance keeps no reference to it.
   * @param eventId - the event's id, added to every payload's `extensions`.
   */
  constructor(
    result: ExecutionResult,
    readonly eventId: string,
  ) {
    const { extensions, ...rest } = result;
    this.body = JSON.stringify(rest).slice(0, -1);
    this.bodyBytes = Buffer.byteLength(this.body);
    const own = extensions && Object.keys(extensions).length > 0 ? JSON.stringify(extensions) : '';
    this.ownExtensions = own === '' ? '' : `${own.slice(1, -1)},`;
  }

  /** The JSON text of the result with `extensions: { ...own, eventId, cursor, dropped? }`. */
  payload(cursor: string, dropped: number): string {
    return `${this.bodyText()}${this.tail(cursor, dropped)}`;
  }

  /**
   * The payload as UTF-8 followed by `suffix` (a transport's framing, e.g. `}` closing a
   * graphql-transport-ws message): one buffer shared by every subscriber with the event's shared
   * cursor (the first cursor asked for with nothing dropped), a new one for others. The shared
   * buffer must not be written to.
   */
  encoded(cursor: string, dropped: number, suffix: string): Buffer {
    if (dropped === 0) {
      this.sharedCursor ??= cursor;
      if (cursor === this.sharedCursor) {
        let bytes = this.shared.get(suffix);
        if (!bytes) {
          bytes = Buffer.from(`${this.bodyText()}${this.tail(cursor, 0)}${suffix}`);
          this.shared.set(suffix, bytes);
          // From now on the text is read back from the shared bytes, so the heap keeps none.
          this.body = undefined;
        }
        return bytes;
      }
    }
    return Buffer.from(`${this.bodyText()}${this.tail(cursor, dropped)}${suffix}`);
  }

  private bodyText(): string {
    if (this.body !== undefined) return this.body;
    const bytes = this.shared.values().next().value as Buffer;
    return bytes.toString('utf8', 0, this.bodyBytes);
  }

  private tail(cursor: string, dropped: number): string {
    return (
      `${this.bodyBytes > 1 ? ',' : ''}"extensions":{${this.ownExtensions}` +
      `"eventId":${JSON.stringify(this.eventId)},"cursor":${JSON.stringify(cursor)}` +
      `${dropped > 0 ? `,"dropped":${dropped}` : ''}}}`
    );
  }
}
