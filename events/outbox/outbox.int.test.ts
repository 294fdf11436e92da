/**
 * The outbox and the idempotent handler runtime against real databases (SQLite, and
 * PostgreSQL when DATABASE_URL is set) and the real broker.
 */
import type { KafkaMessage } from 'kafkajs';
import { openDatabase, type Database } from '../../lib/database';
import {
  deleteTopicsWithPrefix,
  randomDatabaseName,
  randomName,
  readTopic,
  testBrokers,
  testDatabases,
  waitFor,
} from '../../test/helpers';
import { CreateProcessedEventTable, ProcessedEventSchema, handleOnce } from '../consumers';
import { UserEventFactory } from '../factories';
import { EVENT_HEADERS, readHeaders } from '../kafka/headers';
import { KafkaService } from '../kafka/kafka-service';
import { EventValidationError } from '../validate';
import {
  CreateOutboxTable,
  OutboxMessage,
  OutboxMessageSchema,
  createOutboxRelay,
  enqueueEvent,
} from './index';

jest.setTimeout(60_000);

async function dropDatabase(db: Database): Promise<void> {
  if (db.schema) await db.orm.em.getConnection().execute(`drop schema "${db.schema}" cascade`);
  await db.close();
}

describe.each(testDatabases())('outbox on $label', ({ config }) => {
  let db: Database;

  beforeEach(async () => {
    db = await openDatabase({
      name: randomDatabaseName('outbox'),
      config,
      entities: [OutboxMessageSchema, ProcessedEventSchema],
      migrations: [
        { name: '0001-outbox', class: CreateOutboxTable },
        { name: '0002-processed-event', class: CreateProcessedEventTable },
      ],
    });
  });

  afterEach(() => dropDatabase(db));

  it('commits events with the transaction, and not at all when it rolls back', async () => {
    const kept = UserEventFactory.createUserLoggedOut('u-1', 's-1');
    await db.fork().transactional(async (em) => enqueueEvent(em, 'user-events', kept));
    await expect(
      db.fork().transactional(async (em) => {
        enqueueEvent(em, 'user-events', UserEventFactory.createUserLoggedOut('u-2', 's-2'));
        throw new Error('the state change failed');
      }),
    ).rejects.toThrow('the state change failed');

    const rows = await db.fork().find(OutboxMessage, {});
    expect(rows.map((r) => [r.eventId, r.aggregateId, r.topic, r.sentAt])).toEqual([
      [kept.eventId, 'u-1', 'user-events', null],
    ]);
  });

  it('refuses an invalid event, so the mutation fails instead of storing it', async () => {
    const bad = { ...UserEventFactory.createUserLoggedOut('u-1', 's'), source: 'nobody' };
    await expect(
      db
        .fork()
        .transactional(async (em) =>
          enqueueEvent(em, 'user-events', bad as unknown as Parameters<typeof enqueueEvent>[2]),
        ),
    ).rejects.toBeInstanceOf(EventValidationError);
    expect(await db.fork().count(OutboxMessage, {})).toBe(0);
  });

  it('keeps publish order and retries from the first failure', async () => {
    const published: string[] = [];
    let failNext = 2; // the third publish of the first round fails
    const relay = createOutboxRelay({
      database: db,
      pollIntervalMs: 10,
      kafka: {
        // A fake publisher behind the relay's explicit `kafka` parameter: the retry rule is
        // pure logic; the real broker is exercised in the test below.
        publishSerialized: async (_topic, event) => {
          if (failNext-- === 0) throw new Error('broker unavailable');
          published.push(event.eventId);
        },
      },
    });
    const events = Array.from({ length: 5 }, (_, i) =>
      UserEventFactory.createUserLoggedOut(`u-${i}`, 's'),
    );
    await db
      .fork()
      .transactional(async (em) => events.forEach((e) => enqueueEvent(em, 'user-events', e)));
    relay.start();
    try {
      await waitFor('all rows sent', async () => (await relay.pending()) === 0);
    } finally {
      await relay.stop();
    }
    const ids = events.map((e) => e.eventId);
    // Rows after the failed one may have gone out in the failed round: at-least-once, in order.
    expect(published.slice(0, 2)).toEqual(ids.slice(0, 2));
    expect(published.slice(-3)).toEqual(ids.slice(2));
    const failed = await db.fork().findOneOrFail(OutboxMessage, { eventId: ids[2] as string });
    expect(failed.lastError).toBe('broker unavailable');
  });

  it('relays committed events to the real broker, in order, and marks them sent', async () => {
    const prefix = `${randomName('t')}.`;
    const kafka = new KafkaService('user-service', {
      brokers: testBrokers(),
      topicPrefix: prefix,
      topics: ['user-events'],
      announce: false,
    });
    await kafka.start();
    const relay = createOutboxRelay({ database: db, kafka });
    try {
      relay.start();
      const events = Array.from({ length: 20 }, (_, i) =>
        UserEventFactory.createUserProfileUpdated('same-user', [`field${i}`]),
      );
      for (const event of events) {
        await db.fork().transactional(async (em) => enqueueEvent(em, 'user-events', event));
        relay.notify();
      }
      await waitFor('the outbox to drain', async () => (await relay.pending()) === 0);
      const ids = (m: KafkaMessage[]) =>
        m.map((x) => (JSON.parse(x.value?.toString() ?? '{}') as { eventId: string }).eventId);
      const onTopic = await readTopic(kafka.topicName('user-events'), (m) => m.length >= 20);
      expect(ids(onTopic)).toEqual(events.map((e) => e.eventId));
      // As stored, with the key and headers publishEvent would have set.
      expect(onTopic.map((m) => m.key?.toString())).toEqual(events.map(() => 'same-user'));
      expect(readHeaders(onTopic[0]?.headers)).toMatchObject({
        [EVENT_HEADERS.eventId]: events[0]?.eventId,
        [EVENT_HEADERS.eventType]: 'user.profile_updated',
        [EVENT_HEADERS.version]: '1.0',
        [EVENT_HEADERS.source]: events[0]?.source,
        [EVENT_HEADERS.contentType]: 'application/json',
      });
      expect(JSON.parse(onTopic[0]?.value?.toString() ?? '{}')).toEqual(events[0]);
      expect(relay.ready()).toBe(true);
    } finally {
      await relay.stop();
      await kafka.stop();
      await deleteTopicsWithPrefix(prefix);
    }
  });

  it('handles an event once per group, however often it is delivered', async () => {
    const event = UserEventFactory.createUserLoggedOut('u-1', 's');
    let effects = 0;
    const effect = async () => void effects++;
    expect(await handleOnce(db, 'group-a', event, effect)).toBe(true);
    expect(await handleOnce(db, 'group-a', event, effect)).toBe(false);
    expect(await handleOnce(db, 'group-b', event, effect)).toBe(true);
    expect(effects).toBe(2);
  });

  it('records nothing when the effect fails, so a retry runs it again', async () => {
    const event = UserEventFactory.createUserLoggedOut('u-1', 's');
    await expect(
      handleOnce(db, 'g', event, async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    let ran = false;
    expect(await handleOnce(db, 'g', event, async () => void (ran = true))).toBe(true);
    expect(ran).toBe(true);
  });
});
