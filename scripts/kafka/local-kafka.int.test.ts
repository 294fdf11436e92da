/**
 * The local broker itself, end to end: a broker of its own (not the global one), real clients,
 * a restart on the same data dir and port, and no process left behind.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Kafka, logLevel, type Admin, type Consumer, type Producer } from 'kafkajs';
import { loadConfig } from '../../config';
import { startLocalKafka, type LocalKafka } from './local-kafka';

jest.setTimeout(120_000);

const TOPIC = 'local-kafka-test';
const GROUP = 'local-kafka-test-group';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids whose command line mentions `needle` (Linux /proc): catches the watchdog shell too. */
function processesMentioning(needle: string): number[] {
  if (!fs.existsSync('/proc/self/cmdline')) return [];
  return fs
    .readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle);
      } catch {
        return false; // it exited while we looked
      }
    })
    .map(Number);
}

async function waitUntil(
  what: string,
  condition: () => boolean,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('local Kafka broker', () => {
  const { version } = loadConfig().localKafka;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-kafka-int-'));
  // Whatever is open when a test fails is closed in afterAll, so a failure never leaks a broker.
  const open: { kafka?: LocalKafka; clients: { disconnect(): Promise<void> }[] } = { clients: [] };

  function client(brokers: string[]): Kafka {
    return new Kafka({ clientId: 'local-kafka-int-test', brokers, logLevel: logLevel.NOTHING });
  }
  async function connected<T extends Admin | Producer | Consumer>(c: T): Promise<T> {
    open.clients.push(c);
    await c.connect();
    return c;
  }
  async function closeClients(): Promise<void> {
    await Promise.all(open.clients.splice(0).map((c) => c.disconnect()));
  }
  async function stopBroker(kafka: LocalKafka): Promise<void> {
    await kafka.stop();
    delete open.kafka;
  }

  afterAll(async () => {
    await closeClients();
    await open.kafka?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves clients, keeps topics and committed offsets across a restart, and stops cleanly', async () => {
    // --- first run: fresh data dir, any free port
    const first = await startLocalKafka({ version, port: 0, dataDir, heapMb: 512 });
    open.kafka = first;
    expect(first.brokers).toHaveLength(1);
    expect(first.brokers[0]).toMatch(/^127\.0\.0\.1:\d+$/);
    const port = Number(first.brokers[0]?.split(':')[1]);
    const kafka = client(first.brokers);

    const admin = await connected(kafka.admin());
    expect(await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1 }] })).toBe(true);

    const producer = await connected(kafka.producer());
    await producer.send({ topic: TOPIC, messages: [{ key: 'k', value: 'hello' }] });

    const consumer = await connected(kafka.consumer({ groupId: GROUP, maxWaitTimeInMs: 100 }));
    await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
    const received: string[] = [];
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        received.push(message.value?.toString() ?? '');
        await consumer.commitOffsets([
          { topic, partition, offset: (BigInt(message.offset) + 1n).toString() },
        ]);
      },
    });
    await waitUntil('the message to be consumed', () => received.length > 0, 30_000);
    expect(received).toEqual(['hello']);
    await closeClients();

    await stopBroker(first);
    expect(isAlive(first.pid)).toBe(false);
    expect(await first.exited).toEqual(expect.objectContaining({ signal: null }));

    // --- second run: same data dir and port; storage is not reformatted
    const second = await startLocalKafka({ version, port, dataDir, heapMb: 512 });
    open.kafka = second;
    expect(second.brokers).toEqual(first.brokers);
    expect(second.pid).not.toBe(first.pid);

    const admin2 = await connected(client(second.brokers).admin());
    expect(await admin2.listTopics()).toContain(TOPIC);
    const offsets = await admin2.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
    expect(offsets).toEqual([
      { topic: TOPIC, partitions: [{ partition: 0, offset: '1', metadata: null }] },
    ]);
    await closeClients();

    // --- stop leaves nothing behind: not java, not the watchdog shell
    await stopBroker(second);
    await second.stop(); // idempotent
    expect(isAlive(second.pid)).toBe(false);
    await waitUntil('the watchdog to exit', () => processesMentioning(dataDir).length === 0);
    expect(fs.existsSync(path.join(dataDir, 'local-kafka.pid'))).toBe(false);
  });
});
