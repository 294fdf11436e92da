import { covers, CursorCodec, InvalidCursorError, maxPositions, type Cursor } from './cursor';

const SECRET = 'a-shared-secret-of-at-least-32-characters';
const OTHER_SECRET = 'another-deployment-secret-32-chars-long';
const TOPIC = 'dev.interview-events';

const ALTERED = 'The cursor was altered or issued by another deployment';
const MALFORMED = 'The cursor is malformed: pass back a cursor you received';

/** The error `decode` throws, asserting it is an InvalidCursorError. */
function refusal(codec: CursorCodec, text: unknown, topic = TOPIC): InvalidCursorError {
  let thrown: unknown;
  try {
    codec.decode(text, topic);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(InvalidCursorError);
  return thrown as InvalidCursorError;
}

/** The three dot-separated parts of an encoded cursor. */
function parts(text: string): [string, string, string] {
  const [version, body, tag, ...rest] = text.split('.');
  expect(rest).toEqual([]);
  if (version === undefined || body === undefined || tag === undefined) {
    throw new Error(`Not a cursor: ${text}`);
  }
  return [version, body, tag];
}

/** A base64url character other than `c`. */
const otherChar = (c: string) => (c === 'A' ? 'B' : 'A');

describe('CursorCodec', () => {
  const codec = new CursorCodec(SECRET);
  const cursor: Cursor = { topic: TOPIC, positions: [3, 0, 17] };

  it('round-trips a cursor in the documented c1.<body>.<tag> format', () => {
    const text = codec.encode(cursor);
    expect(text).toMatch(/^c1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    const [, body] = parts(text);
    expect(Buffer.from(body, 'base64url').toString('utf8')).toBe(`${TOPIC}|3,0,17`);
    expect(codec.decode(text, TOPIC)).toEqual(cursor);
  });

  it('is deterministic and accepted by another codec with the same secret (another instance)', () => {
    const text = codec.encode(cursor);
    expect(codec.encode(cursor)).toBe(text);
    expect(new CursorCodec(SECRET).decode(text, TOPIC)).toEqual(cursor);
  });

  it('round-trips a cursor of no partitions', () => {
    expect(codec.decode(codec.encode({ topic: TOPIC, positions: [] }), TOPIC)).toEqual({
      topic: TOPIC,
      positions: [],
    });
  });

  it('round-trips large offsets, a single partition, and topics containing | and .', () => {
    const cases: Cursor[] = [
      { topic: TOPIC, positions: [Number.MAX_SAFE_INTEGER, 0] },
      { topic: TOPIC, positions: [42] },
      { topic: 'prefix.a|b', positions: [1, 2] },
    ];
    for (const c of cases) expect(codec.decode(codec.encode(c), c.topic)).toEqual(c);
  });

  it('gives different cursors for different positions', () => {
    expect(codec.encode({ topic: TOPIC, positions: [1, 2] })).not.toBe(
      codec.encode({ topic: TOPIC, positions: [2, 1] }),
    );
  });

  describe('refuses tampering with InvalidCursorError', () => {
    it('a changed body (other positions, original tag)', () => {
      const [version, , tag] = parts(codec.encode(cursor));
      const forged = Buffer.from(`${TOPIC}|0,0,0`).toString('base64url');
      const error = refusal(codec, `${version}.${forged}.${tag}`);
      expect(error.message).toBe(ALTERED);
      expect(error.name).toBe('InvalidCursorError');
    });

    it('one character of the body changed', () => {
      const [version, body, tag] = parts(codec.encode(cursor));
      const changed = otherChar(body[0] ?? '') + body.slice(1);
      expect(refusal(codec, `${version}.${changed}.${tag}`).message).toBe(ALTERED);
    });

    it('a changed tag', () => {
      const [version, body, tag] = parts(codec.encode(cursor));
      const changed = otherChar(tag[0] ?? '') + tag.slice(1);
      expect(refusal(codec, `${version}.${body}.${changed}`).message).toBe(ALTERED);
    });

    it('the tag of another cursor', () => {
      const [version, body] = parts(codec.encode(cursor));
      const [, , otherTag] = parts(codec.encode({ topic: TOPIC, positions: [4, 0, 17] }));
      expect(refusal(codec, `${version}.${body}.${otherTag}`).message).toBe(ALTERED);
    });

    it('a cursor issued under another secret', () => {
      const foreign = new CursorCodec(OTHER_SECRET).encode(cursor);
      expect(refusal(codec, foreign).message).toBe(ALTERED);
    });

    it('a truncated tag or body', () => {
      const text = codec.encode(cursor);
      expect(refusal(codec, text.slice(0, -4)).message).toBe(ALTERED);
      const [version, body, tag] = parts(text);
      expect(refusal(codec, `${version}.${body.slice(0, -4)}.${tag}`).message).toBe(ALTERED);
    });

    it.each(['=', '==', '!', ' '])('a valid tag with %j appended', (extra) => {
      expect(refusal(codec, `${codec.encode(cursor)}${extra}`).message).toBe(ALTERED);
    });

    it.each([
      ['without its tag', (t: string) => t.slice(0, t.lastIndexOf('.'))],
      ['ending after the last dot', (t: string) => t.slice(0, t.lastIndexOf('.') + 1)],
      ['with only the version', () => 'c1'],
      ['empty', () => ''],
      ['with an extra part', (t: string) => `${t}.extra`],
      ['with an empty body', (t: string) => `c1..${parts(t)[2]}`],
    ])('a cursor %s', (_name, mangle) => {
      expect(refusal(codec, mangle(codec.encode(cursor))).message).toBe(MALFORMED);
    });

    it.each(['c2', 'C1', 'c0', ''])('a wrong version prefix (%j)', (version) => {
      const [, body, tag] = parts(codec.encode(cursor));
      expect(refusal(codec, `${version}.${body}.${tag}`).message).toBe(MALFORMED);
    });

    it.each([
      ['a number', 42],
      ['null', null],
      ['undefined', undefined],
      ['an object', { topic: TOPIC, positions: [1] }],
      ['an array', ['c1', 'x', 'y']],
    ])('a non-string cursor (%s)', (_name, value) => {
      expect(refusal(codec, value).message).toBe('The cursor must be a string');
    });

    // `encode` signs whatever it is given, so a correctly tagged cursor with bad offsets can be
    // built honestly with a codec of the same secret; `decode` must still refuse it.
    it.each([
      ['a negative offset', [1, -1]],
      ['a fractional offset', [1.5]],
      ['NaN', [Number.NaN]],
      ['Infinity', [Number.POSITIVE_INFINITY]],
      ['an offset beyond the safe integers', [2 ** 60]],
    ])('a validly tagged cursor with %s', (_name, positions) => {
      const signed = new CursorCodec(SECRET).encode({ topic: TOPIC, positions });
      expect(refusal(codec, signed).message).toBe(MALFORMED);
    });
  });

  it('refuses the cursor of another topic with a message naming both topics', () => {
    const other = 'dev.user-events';
    const text = codec.encode({ topic: other, positions: [5] });
    const error = refusal(codec, text, TOPIC);
    expect(error.message).toBe(
      `The cursor is for another subscription's topic (${other}), not ${TOPIC}`,
    );
    // ...and the same cursor is fine for its own topic.
    expect(codec.decode(text, other)).toEqual({ topic: other, positions: [5] });
  });

  it('refuses the cursor of a topic that only extends the expected name', () => {
    const text = codec.encode({ topic: `${TOPIC}-v2`, positions: [5] });
    expect(refusal(codec, text).message).toContain(`(${TOPIC}-v2), not ${TOPIC}`);
  });

  it('refuses secrets shorter than 32 characters and accepts 32', () => {
    expect(() => new CursorCodec('x'.repeat(31))).toThrow(
      'The cursor secret must have at least 32 characters',
    );
    expect(() => new CursorCodec('')).toThrow(/at least 32 characters/);
    const codec32 = new CursorCodec('x'.repeat(32));
    expect(codec32.decode(codec32.encode(cursor), TOPIC)).toEqual(cursor);
  });

  it('derives different keys from secrets that share a prefix', () => {
    const a = new CursorCodec('y'.repeat(32));
    const b = new CursorCodec('y'.repeat(33));
    expect(refusal(b, a.encode(cursor)).message).toBe(ALTERED);
  });
});

describe('maxPositions', () => {
  it('takes the elementwise maximum', () => {
    expect(maxPositions([1, 5, 3], [4, 2, 3])).toEqual([4, 5, 3]);
  });

  it('takes the other side for partitions missing from one side, whichever is longer', () => {
    expect(maxPositions([1, 2], [0, 0, 7, 9])).toEqual([1, 2, 7, 9]);
    expect(maxPositions([0, 0, 7, 9], [1, 2])).toEqual([1, 2, 7, 9]);
    expect(maxPositions([], [3])).toEqual([3]);
    expect(maxPositions([], [])).toEqual([]);
  });

  it('returns a new array and leaves its inputs alone', () => {
    const a = [1, 2];
    const b = [3];
    const out = maxPositions(a, b);
    expect(out).not.toBe(a);
    expect(out).not.toBe(b);
    out[0] = 99;
    expect(a).toEqual([1, 2]);
    expect(b).toEqual([3]);
  });
});

describe('covers', () => {
  it('is true when at or beyond on every partition', () => {
    expect(covers([3, 4], [3, 4])).toBe(true);
    expect(covers([5, 4], [3, 4])).toBe(true);
  });

  it('is false when behind on any partition', () => {
    expect(covers([3, 3], [3, 4])).toBe(false);
    expect(covers([2, 9], [3, 4])).toBe(false);
  });

  it('only considers the partitions of b', () => {
    expect(covers([3, 4, 0], [3, 4])).toBe(true);
    expect(covers([3, 4, 100], [3, 4])).toBe(true);
    expect(covers([1], [])).toBe(true);
    expect(covers([], [])).toBe(true);
  });

  it('reads a partition missing from a as offset 0', () => {
    expect(covers([3], [3, 0])).toBe(true);
    expect(covers([3], [3, 1])).toBe(false);
    expect(covers([], [1])).toBe(false);
  });

  it('is not symmetric', () => {
    expect(covers([5, 5], [1, 1])).toBe(true);
    expect(covers([1, 1], [5, 5])).toBe(false);
  });
});
