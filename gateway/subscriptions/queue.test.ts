import type { ExecutionResult } from 'graphql';
import { SubscriberQueue } from './queue';

/** A result numbered `n`, optionally with extensions. */
function result(n: number, extensions?: Record<string, unknown>): ExecutionResult {
  return { data: { n }, ...(extensions ? { extensions } : {}) };
}

/** Lets pending promise callbacks run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Whether `promise` has settled after pending callbacks ran. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(
    () => (done = true),
    () => (done = true),
  );
  await flush();
  return done;
}

/** The values of the next `count` results; fails if the queue ends first. */
async function take(queue: SubscriberQueue, count: number): Promise<ExecutionResult[]> {
  const out: ExecutionResult[] = [];
  for (let i = 0; i < count; i++) {
    const next = await queue.next();
    if (next.done) throw new Error(`The queue ended after ${i} results`);
    out.push(next.value);
  }
  return out;
}

function counters() {
  const calls = { close: 0, drop: 0 };
  return {
    calls,
    onClose: () => void calls.close++,
    onDrop: () => void calls.drop++,
  };
}

describe('SubscriberQueue', () => {
  it.each([0, -1, 1.5, Number.NaN])('refuses the limit %p', (limit) => {
    expect(() => new SubscriberQueue(limit)).toThrow('The queue limit must be >= 1');
  });

  it('delivers results in order, unchanged when nothing was dropped', async () => {
    const queue = new SubscriberQueue(10);
    const pushed = [result(1), result(2, { cursor: 'c2' }), result(3)];
    for (const r of pushed) queue.push(r);
    expect(queue.size).toBe(3);
    const got = await take(queue, 3);
    expect(got).toEqual(pushed);
    expect(got[0]).not.toHaveProperty('extensions');
    expect(got[1]?.extensions).toEqual({ cursor: 'c2' });
    expect(queue.size).toBe(0);
    expect(queue.dropped).toBe(0);
  });

  it('resolves a pending next() with a later push, without queueing it', async () => {
    const queue = new SubscriberQueue(10);
    const pending = queue.next();
    expect(await settled(pending)).toBe(false);
    queue.push(result(1));
    await expect(pending).resolves.toEqual({ value: result(1), done: false });
    expect(queue.size).toBe(0);
    queue.push(result(2));
    expect(queue.size).toBe(1);
    await expect(queue.next()).resolves.toEqual({ value: result(2), done: false });
  });

  it('beyond its limit drops the oldest, counts them, and tells the next result once', async () => {
    const { calls, onClose, onDrop } = counters();
    const queue = new SubscriberQueue(3, onClose, onDrop);
    for (let n = 1; n <= 5; n++) queue.push(result(n, { cursor: `c${n}` }));
    expect(queue.size).toBe(3);
    expect(queue.dropped).toBe(2);
    expect(calls.drop).toBe(2);

    const [first, second, third] = await take(queue, 3);
    expect(first).toEqual({ data: { n: 3 }, extensions: { cursor: 'c3', dropped: 2 } });
    expect(second).toEqual({ data: { n: 4 }, extensions: { cursor: 'c4' } });
    expect(third).toEqual({ data: { n: 5 }, extensions: { cursor: 'c5' } });

    // A second overflow is counted from the previous delivery, the total keeps growing.
    for (let n = 6; n <= 9; n++) queue.push(result(n));
    expect(queue.dropped).toBe(3);
    expect(calls.drop).toBe(3);
    const [after] = await take(queue, 1);
    expect(after).toEqual({ data: { n: 7 }, extensions: { dropped: 1 } });
    expect(calls.close).toBe(0);
  });

  it('does not mutate the pushed result when annotating it', async () => {
    const queue = new SubscriberQueue(1);
    const kept = result(2, { cursor: 'c2' });
    queue.push(result(1));
    queue.push(kept);
    const [got] = await take(queue, 1);
    expect(got?.extensions).toEqual({ cursor: 'c2', dropped: 1 });
    expect(kept.extensions).toEqual({ cursor: 'c2' });
  });

  it('tells a pending next() of results counted as lost before they reached the queue', async () => {
    const { calls, onClose, onDrop } = counters();
    const queue = new SubscriberQueue(5, onClose, onDrop);
    queue.countDrop();
    queue.countDrop();
    expect(queue.dropped).toBe(2);
    expect(calls.drop).toBe(2);
    const pending = queue.next();
    queue.push(result(1));
    await expect(pending).resolves.toEqual({
      value: { data: { n: 1 }, extensions: { dropped: 2 } },
      done: false,
    });
    queue.push(result(2));
    await expect(queue.next()).resolves.toEqual({ value: result(2), done: false });
  });

  it('return() ends the iteration, runs onClose exactly once and ignores later pushes', async () => {
    const { calls, onClose } = counters();
    const queue = new SubscriberQueue(5, onClose);
    const pending = queue.next();
    await expect(queue.return()).resolves.toEqual({ value: undefined, done: true });
    await expect(pending).resolves.toEqual({ value: undefined, done: true });
    expect(queue.isClosed).toBe(true);
    expect(calls.close).toBe(1);

    queue.push(result(1));
    expect(queue.size).toBe(0);
    await expect(queue.next()).resolves.toEqual({ value: undefined, done: true });

    await queue.return();
    queue.close();
    queue.clear();
    expect(calls.close).toBe(1);
  });

  // graphql-ws's for-await loop may pull again after the client's `complete` arrived while a send
  // was in flight: nothing queued may go out for a completed operation.
  it('return() discards what is queued: nothing more is delivered', async () => {
    const queue = new SubscriberQueue(5);
    queue.push(result(1));
    queue.push(result(2));
    await queue.return();
    await expect(queue.next()).resolves.toEqual({ value: undefined, done: true });
    expect(queue.size).toBe(0);
  });

  it('close() lets queued results be read, then ends; pushes after it are ignored', async () => {
    const { calls, onClose } = counters();
    const queue = new SubscriberQueue(5, onClose);
    queue.push(result(1));
    queue.push(result(2));
    queue.close();
    expect(calls.close).toBe(1);
    expect(queue.isClosed).toBe(true);
    queue.push(result(3));
    expect(queue.size).toBe(2);
    expect(await take(queue, 2)).toEqual([result(1), result(2)]);
    await expect(queue.next()).resolves.toEqual({ value: undefined, done: true });
    await expect(queue.next()).resolves.toEqual({ value: undefined, done: true });
    queue.close();
    expect(calls.close).toBe(1);
  });

  it('close() ends a pending next()', async () => {
    const queue = new SubscriberQueue(5);
    const pending = queue.next();
    queue.close();
    await expect(pending).resolves.toEqual({ value: undefined, done: true });
  });

  it('clear() drops what is queued and ends the stream now', async () => {
    const { calls, onClose, onDrop } = counters();
    const queue = new SubscriberQueue(5, onClose, onDrop);
    queue.push(result(1));
    queue.push(result(2));
    queue.clear();
    expect(queue.size).toBe(0);
    expect(queue.isClosed).toBe(true);
    expect(calls.close).toBe(1);
    await expect(queue.next()).resolves.toEqual({ value: undefined, done: true });
    queue.push(result(3));
    expect(queue.size).toBe(0);
  });

  it('throw() closes the queue and rejects with the error', async () => {
    const { calls, onClose } = counters();
    const queue = new SubscriberQueue(5, onClose);
    queue.push(result(1));
    const error = new Error('socket failed');
    await expect(queue.throw(error)).rejects.toBe(error);
    await expect(new SubscriberQueue(1).throw('text')).rejects.toThrow('text');
    expect(queue.isClosed).toBe(true);
    expect(calls.close).toBe(1);
  });

  describe('roomFor()', () => {
    it('resolves at once while the queue is below its limit', async () => {
      const queue = new SubscriberQueue(2);
      expect(await settled(queue.roomFor())).toBe(true);
      queue.push(result(1));
      expect(await settled(queue.roomFor())).toBe(true);
    });

    it('waits while the queue is full, until a read makes room', async () => {
      const queue = new SubscriberQueue(2);
      queue.push(result(1));
      queue.push(result(2));
      const first = queue.roomFor();
      const second = queue.roomFor();
      expect(await settled(first)).toBe(false);
      queue.push(result(3)); // still full: the oldest is dropped, no room is made
      expect(await settled(first)).toBe(false);
      await queue.next();
      expect(queue.size).toBe(1);
      expect(await settled(first)).toBe(true);
      expect(await settled(second)).toBe(true);
    });

    it('resolves when the queue closes, and at once on a closed queue', async () => {
      const queue = new SubscriberQueue(1);
      queue.push(result(1));
      const waiting = queue.roomFor();
      expect(await settled(waiting)).toBe(false);
      queue.close();
      expect(await settled(waiting)).toBe(true);
      expect(queue.size).toBe(1);
      expect(await settled(queue.roomFor())).toBe(true);
    });

    it('resolves on clear() and on return()', async () => {
      const cleared = new SubscriberQueue(1);
      cleared.push(result(1));
      const a = cleared.roomFor();
      cleared.clear();
      expect(await settled(a)).toBe(true);

      const returned = new SubscriberQueue(1);
      returned.push(result(1));
      const b = returned.roomFor();
      expect(await settled(b)).toBe(false);
      await returned.return();
      expect(await settled(b)).toBe(true);
    });
  });

  describe('for await', () => {
    it('reads what is pushed, also later, until the queue closes', async () => {
      const queue = new SubscriberQueue(10);
      expect(queue[Symbol.asyncIterator]()).toBe(queue);
      queue.push(result(1));
      setImmediate(() => {
        queue.push(result(2));
        setImmediate(() => {
          queue.push(result(3));
          queue.close();
        });
      });
      const seen: unknown[] = [];
      for await (const r of queue) seen.push(r.data);
      expect(seen).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    });

    it('calls return() on break: onClose runs once and the queue is closed', async () => {
      const { calls, onClose } = counters();
      const queue = new SubscriberQueue(10, onClose);
      for (let n = 1; n <= 3; n++) queue.push(result(n));
      const seen: unknown[] = [];
      for await (const r of queue) {
        seen.push(r.data);
        if (seen.length === 2) break;
      }
      expect(seen).toEqual([{ n: 1 }, { n: 2 }]);
      expect(queue.isClosed).toBe(true);
      expect(calls.close).toBe(1);
    });
  });

  it('stays bounded after 100k pushes with no reads, and keeps the newest in order', async () => {
    const limit = 10;
    const total = 100_000;
    const { calls, onClose, onDrop } = counters();
    const queue = new SubscriberQueue(limit, onClose, onDrop);
    let largest = 0;
    for (let n = 1; n <= total; n++) {
      queue.push(result(n));
      largest = Math.max(largest, queue.size);
    }
    expect(largest).toBe(limit);
    expect(queue.size).toBe(limit);
    expect(queue.dropped).toBe(total - limit);
    expect(calls.drop).toBe(total - limit);
    // The backing array is compacted too (a private detail, but it is what "bounded" means
    // for memory): it never holds far more than the results still queued.
    const backing = (queue as unknown as { items: unknown[] }).items;
    expect(backing.length).toBeLessThanOrEqual(2 * 1024 + limit);

    const got = await take(queue, limit);
    expect(got.map((r) => (r.data as { n: number }).n)).toEqual(
      Array.from({ length: limit }, (_, i) => total - limit + 1 + i),
    );
    expect(got[0]?.extensions).toEqual({ dropped: total - limit });
    expect(got.slice(1).every((r) => r.extensions === undefined)).toBe(true);
    expect(calls.close).toBe(0);
  });
});
