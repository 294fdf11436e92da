import { SendBatcher, type OutgoingMessage } from './batcher';

const msg = (n: number): OutgoingMessage => ({ topic: 't', message: { value: String(n) } });

describe('SendBatcher', () => {
  it('sends an isolated message alone and at once', async () => {
    const sent: OutgoingMessage[][] = [];
    const batcher = new SendBatcher(async (batch) => void sent.push(batch));
    await batcher.enqueue(msg(1));
    expect(sent).toEqual([[msg(1)]]);
  });

  it('coalesces messages queued while a request is in flight, in order', async () => {
    const sent: string[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const batcher = new SendBatcher(async (batch) => {
      sent.push(batch.map((b) => String(b.message.value)));
      if (sent.length === 1) await gate;
    });
    const first = batcher.enqueue(msg(1));
    await new Promise((r) => setImmediate(r));
    const rest = [2, 3, 4].map((n) => batcher.enqueue(msg(n)));
    release();
    await Promise.all([first, ...rest]);
    expect(sent).toEqual([['1'], ['2', '3', '4']]);
  });

  it('caps a request at maxBatch messages', async () => {
    const sizes: number[] = [];
    const batcher = new SendBatcher(async (batch) => void sizes.push(batch.length), 2);
    await Promise.all([1, 2, 3, 4, 5].map((n) => batcher.enqueue(msg(n))));
    expect(sizes).toEqual([2, 2, 1]);
  });

  it('caps a request at maxBatchBytes, and sends a larger message alone', async () => {
    const sizes: number[] = [];
    const batcher = new SendBatcher(async (batch) => void sizes.push(batch.length), 1000, 1000);
    const big = (n: number): OutgoingMessage => ({ topic: 't', message: { value: 'x'.repeat(n) } });
    await Promise.all([400, 400, 400, 5000, 100].map((n) => batcher.enqueue(big(n))));
    // 64 bytes of overhead are counted per message: 464 + 464 fit in 1000, a third does not.
    expect(sizes).toEqual([2, 1, 1, 1]);
  });

  it('rejects the callers of a failed request and keeps going', async () => {
    let calls = 0;
    const batcher = new SendBatcher(async () => {
      calls++;
      if (calls === 1) throw new Error('broker down');
    });
    await expect(batcher.enqueue(msg(1))).rejects.toThrow('broker down');
    await expect(batcher.enqueue(msg(2))).resolves.toBeUndefined();
  });

  it('flushed() waits for everything queued', async () => {
    const done: number[] = [];
    const batcher = new SendBatcher(async (batch) => {
      await new Promise((r) => setTimeout(r, 5));
      for (const b of batch) done.push(Number(b.message.value));
    });
    void batcher.enqueue(msg(1));
    void batcher.enqueue(msg(2));
    await batcher.flushed();
    expect(done).toEqual([1, 2]);
  });
});
