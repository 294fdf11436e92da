import type { Message } from 'kafkajs';

export interface OutgoingMessage {
  topic: string;
  message: Message;
}

/**
 * Coalesces concurrent sends into one produce request. An idle producer sends at once (no
 * linger); under load, everything queued while one request is in flight goes out in the next,
 * so throughput grows with load while per-partition order is kept (one request at a time).
 */
export class SendBatcher {
  private queue: Array<{
    item: OutgoingMessage;
    resolve: () => void;
    reject: (e: unknown) => void;
  }> = [];
  private inFlight = false;
  private idle: Array<() => void> = [];

  constructor(
    private readonly send: (batch: OutgoingMessage[]) => Promise<void>,
    /** Most messages in one request. @default 1_000 */
    private readonly maxBatch = 1_000,
    /**
     * Most value bytes in one request. Kafka refuses a record batch above the broker's
     * `message.max.bytes` (1 MiB by default), so concurrent large events go out in several
     * requests; one message above the cap still goes alone. @default 512 KiB
     */
    private readonly maxBatchBytes = 512 * 1024,
  ) {}

  enqueue(item: OutgoingMessage): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.inFlight) queueMicrotask(() => void this.drain());
    });
  }

  /** Resolves once everything queued so far has been sent (or failed). */
  flushed(): Promise<void> {
    if (!this.inFlight && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** How many queued messages fit in the next request (at least one). */
  private batchLength(): number {
    const limit = Math.min(this.maxBatch, this.queue.length);
    let bytes = 0;
    for (let i = 0; i < limit; i++) {
      bytes += messageBytes(this.queue[i]!.item.message);
      if (bytes > this.maxBatchBytes) return Math.max(1, i);
    }
    return limit;
  }

  private async drain(): Promise<void> {
    if (this.inFlight) return;
    this.inFlight = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.batchLength());
        try {
          await this.send(batch.map((b) => b.item));
          for (const b of batch) b.resolve();
        } catch (error) {
          for (const b of batch) b.reject(error);
        }
      }
    } finally {
      this.inFlight = false;
      for (const resolve of this.idle.splice(0)) resolve();
    }
  }
}

function messageBytes(message: Message): number {
  const { value, key } = message;
  const size = (v: Message['value'] | Message['key']) =>
    v === null || v === undefined ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length;
  return size(value) + size(key ?? null) + 64;
}
