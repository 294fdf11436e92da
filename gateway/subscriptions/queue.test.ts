import type { ExecutionResult } from 'graphql';
import { SubscriberQueue, type DrainListener, type QueueOwner, type ResultSink } from './queue';
import { PreparedResult } from './result';

/** A transport whose room the test controls; it records what it was sent. */
function transport(room = true) {
  const sent: ExecutionResult[] = [];
  let listeners: DrainListener[] = [];
  const state = { room };
  const sink: ResultSink = {
    send: (result, cursor, dropped) =>
      void sent.push(JSON.parse(result.payload(cursor, dropped)) as ExecutionResult),
    writable: () => state.room,
    onDrain: (listener) => void listeners.push(listener),
  };
  return {
    sink,
    sent,
    /** The data numbers sent so far. */
    numbers: () => sent.map((r) => (r.data as { n: number }).n),
    drainListeners: () => listeners.length,
    /** Room again, but the drain has not been announced yet. */
    open: () => void (state.room = true),
    /** Gives the transport room and runs the drain listeners, as a socket's `drain` does. */
    drain() {
      state.room = true;
      const waiting = listeners;
      listeners = [];
      for (const listener of waiting) listener.drained();
    },
  };
}

const prepared = (n: number, extensions?: Record<string, unknown>) =>
  new PreparedResult({ data: { n }, ...(extensions ? { extensions } : {}) }, `e-${n}`);

function counters() {
  const calls = { close: 0, drop: 0 };
  const owner: QueueOwner = {
    queueClosed: () => void calls.close++,
    resultDropped: () => void calls.drop++,
  };
  return { calls, owner };
}

/** Lets pending promise callbacks run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(
    () => (done = true),
    () => (done = true),
  );
  await flush();
  return done;
}

describe('PreparedResult', () => {
  it.each<[string, ExecutionResult]>([
    ['data', { data: { a: 1, b: 'é"\n' } }],
    ['data and errors', { data: null, errors: [{ message: 'boom' } as never] }],
    ['its own extensions', { data: { a: 1 }, extensions: { cost: 3 } }],
    ['nothing', {}],
  ])('splices eventId, cursor and dropped into the result (%s)', (_name, result) => {
    const payload = new PreparedResult(result, 'ev-1').payload('c-1', 2);
    expect(JSON.parse(payload)).toEqual({
      ...result,
      extensions: { ...result.extensions, eventId: 'ev-1', cursor: 'c-1', dropped: 2 },
    });
  });

  it('encodes once for every subscriber with the shared cursor, apart for others', () => {
    const result = new PreparedResult({ data: { a: 'é' } }, 'ev-1');
    const first = result.encoded('shared', 0, '}');
    expect(result.encoded('shared', 0, '}')).toBe(first);
    const json = (bytes: Buffer) => JSON.parse(bytes.toString().slice(0, -1));
    expect(json(first)).toEqual({
      data: { a: 'é' },
      extensions: { eventId: 'ev-1', cursor: 'shared' },
    });
    // After the shared bytes exist, other cursors are still spliced in correctly.
    expect(json(result.encoded('own', 0, '}'))).toEqual({
      data: { a: 'é' },
      extensions: { eventId: 'ev-1', cursor: 'own' },
    });
    expect(json(result.encoded('shared', 1, '}')).extensions).toEqual({
      eventId: 'ev-1',
      cursor: 'shared',
      dropped: 1,
    });
    expect(result.encoded('own', 0, '}')).not.toBe(result.encoded('own', 0, '}'));
    expect(JSON.parse(result.payload('shared', 0))).toEqual(json(first));
    // Another transport's suffix gets bytes of its own.
    expect(result.encoded('shared', 0, '\n\n').toString()).toBe(
      `${first.toString().slice(0, -1)}\n\n`,
    );
  });
});

describe('SubscriberQueue', () => {
  it.each([0, -1, 1.5, Number.NaN])('refuses the limit %p', (limit) => {
    expect(() => new SubscriberQueue(limit, transport().sink)).toThrow(
      'The queue limit must be >= 1',
    );
  });

  it('writes straight to a transport with room, in order, with each cursor', () => {
    const t = transport();
    const queue = new SubscriberQueue(10, t.sink);
    queue.push(prepared(1), 'c1');
    queue.push(prepared(2, { cost: 1 }), 'c2');
    expect(queue.size).toBe(0);
    expect(t.sent).toEqual([
      { data: { n: 1 }, extensions: { eventId: 'e-1', cursor: 'c1' } },
      { data: { n: 2 }, extensions: { cost: 1, eventId: 'e-2', cursor: 'c2' } },
    ]);
    expect(queue.sent).toBe(2);
  });

  it('holds results while the transport is full and writes them in order on drain', () => {
    const t = transport(false);
    const queue = new SubscriberQueue(10, t.sink);
    for (const n of [1, 2, 3]) queue.push(prepared(n), `c${n}`);
    expect(t.sent).toHaveLength(0);
    expect(queue.size).toBe(3);
    expect(t.drainListeners()).toBe(1); // one listener, however many results wait
    t.drain();
    expect(t.numbers()).toEqual([1, 2, 3]);
    expect(queue.size).toBe(0);
    // Once drained, results go straight out again.
    queue.push(prepared(4), 'c4');
    expect(t.numbers()).toEqual([1, 2, 3, 4]);
  });

  it('keeps order behind queued results even when the transport has room again', () => {
    const t = transport(false);
    const queue = new SubscriberQueue(10, t.sink);
    queue.push(prepared(1), 'c1');
    // The transport has room, but its drain has not run yet: 2 must not overtake 1.
    t.open();
    queue.push(prepared(2), 'c2');
    expect(t.sent).toHaveLength(0);
    t.drain();
    expect(t.numbers()).toEqual([1, 2]);
  });

  it('drains only as far as the transport has room, then waits again', () => {
    const t = transport(false);
    let budget = 2;
    const sink: ResultSink = {
      ...t.sink,
      writable: () => budget > 0,
      send: (...args) => {
        budget--;
        t.sink.send(...args);
      },
    };
    const queue = new SubscriberQueue(10, sink);
    budget = 0;
    for (const n of [1, 2, 3, 4, 5]) queue.push(prepared(n), `c${n}`);
    budget = 2;
    t.drain();
    expect(t.numbers()).toEqual([1, 2]);
    expect(t.drainListeners()).toBe(1);
    budget = 10;
    t.drain();
    expect(t.numbers()).toEqual([1, 2, 3, 4, 5]);
  });

  it('beyond its limit drops the oldest, counts them, and tells the next result once', () => {
    const t = transport(false);
    const { calls, owner } = counters();
    const queue = new SubscriberQueue(3, t.sink, owner);
    for (let n = 1; n <= 7; n++) queue.push(prepared(n), `c${n}`);
    expect(queue.size).toBe(3);
    expect(queue.dropped).toBe(4);
    expect(calls.drop).toBe(4);
    t.drain();
    expect(t.numbers()).toEqual([5, 6, 7]);
    expect(t.sent[0]?.extensions).toEqual({ eventId: 'e-5', cursor: 'c5', dropped: 4 });
    expect(t.sent[1]?.extensions).toEqual({ eventId: 'e-6', cursor: 'c6' });
    expect(calls.close).toBe(0);
  });

  it('tells the next result of results counted as lost before they reached the queue', () => {
    const t = transport();
    const queue = new SubscriberQueue(3, t.sink);
    queue.countDrop();
    queue.countDrop();
    queue.push(prepared(1), 'c1');
    queue.push(prepared(2), 'c2');
    expect(t.sent.map((r) => r.extensions?.['dropped'])).toEqual([2, undefined]);
  });

  it('next() yields nothing and ends with the subscription', async () => {
    const queue = new SubscriberQueue(3, transport().sink);
    const next = queue.next();
    expect(await settled(next)).toBe(false);
    queue.close();
    await expect(next).resolves.toEqual({ value: undefined, done: true });
    await expect(queue.next()).resolves.toEqual({ value: undefined, done: true });
  });

  it('return() discards what is queued, ends, tells its owner once and ignores later pushes', async () => {
    const t = transport(false);
    const { calls, owner } = counters();
    const queue = new SubscriberQueue(3, t.sink, owner);
    queue.push(prepared(1), 'c1');
    const pending = queue.next();
    await expect(queue.return()).resolves.toEqual({ value: undefined, done: true });
    await expect(pending).resolves.toEqual({ value: undefined, done: true });
    queue.push(prepared(2), 'c2');
    t.drain();
    expect(t.sent).toHaveLength(0);
    expect(queue.size).toBe(0);
    expect(queue.isClosed).toBe(true);
    await queue.return();
    queue.clear();
    queue.close();
    expect(calls.close).toBe(1);
  });

  it('close() writes what is queued, then ends; pushes after it are ignored', () => {
    const t = transport(false);
    const { calls, owner } = counters();
    const queue = new SubscriberQueue(5, t.sink, owner);
    queue.push(prepared(1), 'c1');
    queue.push(prepared(2), 'c2');
    queue.close();
    expect(t.numbers()).toEqual([1, 2]);
    queue.push(prepared(3), 'c3');
    t.drain();
    expect(t.numbers()).toEqual([1, 2]);
    expect(calls.close).toBe(1);
  });

  it('throw() ends the queue and rejects with the error', async () => {
    const { calls, owner } = counters();
    const queue = new SubscriberQueue(3, transport().sink, owner);
    await expect(queue.throw(new Error('boom'))).rejects.toThrow('boom');
    expect(queue.isClosed).toBe(true);
    expect(calls.close).toBe(1);
  });

  describe('roomFor()', () => {
    it('resolves at once while the queue is below its limit', async () => {
      const queue = new SubscriberQueue(2, transport(false).sink);
      queue.push(prepared(1), 'c1');
      expect(await settled(queue.roomFor())).toBe(true);
    });

    it('waits while the queue is full, until a drain makes room', async () => {
      const t = transport(false);
      const queue = new SubscriberQueue(2, t.sink);
      queue.push(prepared(1), 'c1');
      queue.push(prepared(2), 'c2');
      const room = queue.roomFor();
      expect(await settled(room)).toBe(false);
      t.drain();
      expect(await settled(room)).toBe(true);
    });

    it('resolves when the queue ends, and at once on an ended queue', async () => {
      const queue = new SubscriberQueue(1, transport(false).sink);
      queue.push(prepared(1), 'c1');
      const room = queue.roomFor();
      queue.clear();
      expect(await settled(room)).toBe(true);
      expect(await settled(queue.roomFor())).toBe(true);
    });
  });

  it('stays bounded after 100k pushes while blocked, and keeps the newest in order', () => {
    const t = transport(false);
    const queue = new SubscriberQueue(100, t.sink);
    for (let n = 0; n < 100_000; n++) queue.push(prepared(n), `c${n}`);
    expect(queue.size).toBe(100);
    expect(queue.dropped).toBe(99_900);
    t.drain();
    expect(t.numbers()).toEqual(Array.from({ length: 100 }, (_, i) => 99_900 + i));
    expect(t.sent[0]?.extensions?.['dropped']).toBe(99_900);
  });
});
