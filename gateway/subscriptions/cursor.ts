/**
 * Subscription cursors: where a subscriber stands in a topic, as the `extensions.cursor` of every
 * `next` message, and what a client hands back (`extensions: { cursor }` when it subscribes) to
 * receive what it missed.
 *
 * A cursor names a topic and, for every partition, the next offset the subscriber has not yet
 * considered: every event below it was delivered or did not concern the subscriber. It is opaque
 * (base64url) and tamper-evident: an HMAC-SHA256 tag under a key derived from the gateway's
 * secret, so every gateway instance of a deployment accepts the others' cursors and a client
 * cannot forge one to read from an arbitrary position.
 *
 * Format: `c1.<base64url(topic "|" offset "," offset ...)>.<base64url(16-byte tag)>`, offsets in
 * partition order.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The next offset per partition (index = partition number). */
export type Positions = readonly number[];

/** A subscriber's place in one topic, decoded. */
export interface Cursor {
  /** The physical topic name. */
  topic: string;
  positions: Positions;
}

/** A cursor that is malformed, forged, or for another topic; the message says which. */
export class InvalidCursorError extends Error {
  override readonly name = 'InvalidCursorError';
}

const VERSION = 'c1';
const TAG_BYTES = 16;

/** Encodes and verifies cursors under one deployment secret: see the module's comment. */
export class CursorCodec {
  private readonly key: Buffer;

  /**
   * @param secret - shared by every gateway instance (INTERNAL_TOKEN_SECRET); a key is derived.
   * @throws when `secret` is shorter than 32 characters.
   */
  constructor(secret: string) {
    if (secret.length < 32) throw new Error('The cursor secret must have at least 32 characters');
    this.key = createHmac('sha256', secret).update('interview-graph subscription cursor').digest();
  }

  /** The opaque, tagged text of `cursor` (`c1.<body>.<tag>`), as clients receive it. */
  encode(cursor: Cursor): string {
    const body = Buffer.from(`${cursor.topic}|${cursor.positions.join(',')}`).toString('base64url');
    return `${VERSION}.${body}.${this.tag(body).toString('base64url')}`;
  }

  /**
   * The cursor a client handed back, verified.
   * @param text - the client's `extensions.cursor`, of any type.
   * @param topic - the physical topic of the subscription it resumes.
   * @throws {InvalidCursorError} for anything but an untampered cursor of `topic`.
   */
  decode(text: unknown, topic: string): Cursor {
    if (typeof text !== 'string') throw new InvalidCursorError('The cursor must be a string');
    const [version, body, tag, ...rest] = text.split('.');
    if (version !== VERSION || !body || !tag || rest.length > 0) {
      throw new InvalidCursorError('The cursor is malformed: pass back a cursor you received');
    }
    // Compared as text: base64url decoding ignores stray characters such as a trailing `=`.
    const expected = Buffer.from(this.tag(body).toString('base64url'));
    const given = Buffer.from(tag);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new InvalidCursorError('The cursor was altered or issued by another deployment');
    }
    const decoded = Buffer.from(body, 'base64url').toString('utf8');
    const bar = decoded.lastIndexOf('|');
    const cursorTopic = decoded.slice(0, bar);
    if (cursorTopic !== topic) {
      throw new InvalidCursorError(
        `The cursor is for another subscription's topic (${cursorTopic}), not ${topic}`,
      );
    }
    const offsets = decoded.slice(bar + 1);
    const positions = offsets === '' ? [] : offsets.split(',').map((o) => Number(o));
    if (positions.some((o) => !Number.isSafeInteger(o) || o < 0)) {
      throw new InvalidCursorError('The cursor is malformed: pass back a cursor you received');
    }
    return { topic, positions };
  }

  private tag(body: string): Buffer {
    return createHmac('sha256', this.key).update(body).digest().subarray(0, TAG_BYTES);
  }
}

/** Elementwise maximum; a partition missing from one side takes the other's offset. */
export function maxPositions(a: Positions, b: Positions): number[] {
  const length = Math.max(a.length, b.length);
  const out = new Array<number>(length);
  for (let i = 0; i < length; i++) out[i] = Math.max(a[i] ?? 0, b[i] ?? 0);
  return out;
}

/** True when `a` is at or beyond `b` on every partition of `b`. */
export function covers(a: Positions, b: Positions): boolean {
  for (let i = 0; i < b.length; i++) if ((a[i] ?? 0) < (b[i] ?? 0)) return false;
  return true;
}
