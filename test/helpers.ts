/**
 * Helpers for integration tests against the real broker started by the global setup
 * (or the cluster in KAFKA_BROKERS). Each test gets topics and groups of its own.
 */
import { disconnectForGood } from '../events/kafka/kafkajs-fixes';
import { KafkaService, type KafkaServiceOptions, type Source } from '../events';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { loadConfig, type DatabaseConfig } from '../config';
import type { Identity } from '../contracts/identity';

export function testBrokers(): string[] {
  const brokers = loadConfig().kafka.brokers;
  if (!brokers) {
    throw new Error(
      'KAFKA_BROKERS is not set: run integration tests through jest, whose global setup starts a broker',
    );
  }
  return brokers;
}

/** A short random name part, so tests never share topics or groups. */
export function randomName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** A topic prefix no other test uses, e.g. `e2e-1a2b3c4d.`: delete its topics when done. */
export function topicPrefix(label: string): string {
  return `${randomName(label)}.`;
}

/**
 * A `KafkaService` of `source` on the test brokers and `prefix`, announcing no lifecycle events,
 * not started yet. `options` override (`topics` to create on start, retries, ...).
 */
export function testKafka(
  source: Source,
  prefix: string,
  options: Partial<KafkaServiceOptions> = {},
): KafkaService {
  return new KafkaService(source, {
    brokers: testBrokers(),
    topicPrefix: prefix,
    announce: false,
    ...options,
  });
}

/** A user no other test knows: id `<name>-…`, email `<name>@example.com`, no roles. */
export function testUser(name: string): Identity {
  return { userId: randomName(name), email: `${name}@example.com`, roles: [] };
}

/** An administrator no other test knows (`admin-…`, no email). */
export function testAdmin(): Identity {
  return { userId: randomName('admin'), roles: ['admin'] };
}

/** Polls `condition` until it holds; fails with `what` after `timeoutMs`. Never a fixed sleep. */
export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function rawKafka(brokers = testBrokers()): Kafka {
  return new Kafka({ clientId: randomName('test'), brokers, logLevel: logLevel.NOTHING });
}

/**
 * Reads a topic from its beginning with a throwaway group until `done(messages)` holds,
 * then closes the consumer and returns what it read.
 */
export async function readTopic(
  topic: string,
  done: (messages: KafkaMessage[]) => boolean,
  timeoutMs = 20_000,
  brokers = testBrokers(),
): Promise<KafkaMessage[]> {
  let reading = true;
  const consumer = rawKafka(brokers).consumer({
    groupId: randomName('reader'),
    maxWaitTimeInMs: 100,
    retry: { restartOnFailure: async () => reading },
  });
  const messages: KafkaMessage[] = [];
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void messages.push(message) });
    await waitFor(`messages on ${topic}`, () => done(messages), timeoutMs).catch((error: Error) => {
      throw new Error(`${error.message} (read ${messages.length})`);
    });
    return messages;
  } finally {
    reading = false;
    await disconnectForGood(consumer);
  }
}

/** The event envelope a message carries (the platform's messages are JSON envelopes). */
export function eventOf(message: KafkaMessage): {
  eventId: string;
  eventType: string;
  payload: Record<string, unknown>;
} {
  return JSON.parse(message.value?.toString() ?? '{}') as ReturnType<typeof eventOf>;
}

/** Deletes every topic whose name starts with `prefix`. */
export async function deleteTopicsWithPrefix(
  prefix: string,
  brokers = testBrokers(),
): Promise<void> {
  const admin = rawKafka(brokers).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
}

/**
 * Waits until consumer group `group` has committed, on every partition of `logicalTopic`, the
 * offsets the topic had when this was called: everything published before has been handled.
 */
export async function groupCaughtUp(
  prefix: string,
  group: string,
  logicalTopic: string,
  timeoutMs = 20_000,
): Promise<void> {
  const admin = rawKafka().admin();
  await admin.connect();
  try {
    const topic = `${prefix}${logicalTopic}`;
    const end = await admin.fetchTopicOffsets(topic);
    await waitFor(
      `${group} to catch up on ${topic}`,
      async () => {
        const [committed] = await admin.fetchOffsets({
          groupId: `${prefix}${group}`,
          topics: [topic],
        });
        // A partition the group never read has no commit (-1); it is done when it is empty.
        return end.every(({ partition, high }) => {
          const offset = committed?.partitions.find((p) => p.partition === partition)?.offset;
          return (offset === '-1' ? '0' : offset) === high;
        });
      },
      timeoutMs,
    );
  } finally {
    await admin.disconnect();
  }
}

export interface TestDatabase {
  label: 'sqlite' | 'postgresql';
  config: DatabaseConfig;
}

/**
 * The databases integration tests run against: SQLite always, PostgreSQL too when
 * DATABASE_URL is set (as in CI). Tests give each database a random name (file or schema).
 */
export function testDatabases(): TestDatabase[] {
  const url = loadConfig().database.url;
  const dataDir = mkdtempSync(join(tmpdir(), 'ig-test-db-'));
  return [
    { label: 'sqlite', config: { url: undefined, dataDir } },
    ...(url ? [{ label: 'postgresql' as const, config: { url, dataDir } }] : []),
  ];
}

/** A name usable as an SQLite file name and a PostgreSQL schema. */
export function randomDatabaseName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

/** A port that was free a moment ago, for servers whose URL must be known before they start. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port was assigned');
  return address.port;
}
