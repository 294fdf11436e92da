/**
 * Batch consumption end to end: `KafkaService.subscribeBatch` with `transactionalHandlers` on a
 * real broker and real databases (SQLite, and PostgreSQL when DATABASE_URL is set). Each test has
 * its own topic prefix, group and database, and closes what it opens.
 */
import { rmSync } from 'node:fs';
import { EntitySchema } from '@mikro-orm/core';
import type { Knex } from '@mikro-orm/knex';
import type { KafkaMessage } from 'kafkajs';
import { openDatabase, PortableMigration, type Database } from '../../lib/database';
import {
  deleteTopicsWithPrefix,
  groupCaughtUp,
  randomDatabaseName,
  randomName,
  rawKafka,
  readTopic,
  testBrokers,
  testDatabases,
  waitFor,
} from '../../test/helpers';
import type { EventOn } from '../catalog';
import { UserEventFactory } from '../factories';
import { DEAD_LETTER_HEADERS, readHeaders } from '../kafka/headers';
import {
  KafkaService,
  type BatchPosition,
  type BatchSubscribeOptions,
  type Subscription,
} from '../kafka/kafka-service';
import { handleBatch, transactionalHandlers, type BatchEffect } from './batch';
import { CreateProcessedEventTable, ProcessedEvent, ProcessedEventSchema } from './idempotent';

jest.setTimeout(90_000);

type UserEvent = EventOn<'user-events'>;

/** One row per applied effect: an event applied twice shows as two rows. */
class Applied {
  id!: number;
  eventId!: string;
  userId!: string;
  label!: string;
}

const AppliedSchema = new EntitySchema<Applied>({
  class: Applied,
  tableName: 'applied',
  properties: {
    id: { type: 'integer', primary: true, autoincrement: true },
    eventId: { type: 'string', fieldName: 'event_id' },
    userId: { type: 'string', fieldName: 'user_id' },
    label: { type: 'string' },
  },
});

class CreateAppliedTable extends PortableMigration {
  change(schema: Knex.SchemaBuilder): Knex.SchemaBuilder {
    return schema.createTable('applied', (t) => {
      t.increments('id').primary();
      t.string('event_id', 64).notNullable();
      t.string('user_id', 255).notNullable();
      t.string('label', 255).notNullable();
    });
  }
}

/** The label of a test event: the session id of a sign-out, the field of a profile update. */
function labelOf(event: UserEvent): string {
  if (event.eventType === 'user.logged_out') return event.payload.sessionId;
  if (event.eventType === 'user.profile_updated') return event.payload.updatedFields[0] ?? '';
  return event.eventType;
}

const databases = testDatabases();
afterAll(() => rmSync(databases[0]?.config.dataDir ?? '', { recursive: true, force: true }));

describe.each(databases)('batch consumers on $label', ({ config }) => {
  let db: Database;
  let prefix: string;
  let kafka: KafkaService;
  const subscriptions: Subscription[] = [];
  /** The events handed to the effect, per call: shows what was batched. */
  let calls: string[][];

  beforeEach(async () => {
    prefix = `${randomName('t')}.`;
    calls = [];
    db = await openDatabase({
      name: randomDatabaseName('batch'),
      config,
      entities: [AppliedSchema, ProcessedEventSchema],
      migrations: [
        { name: '0001-processed-event', class: CreateProcessedEventTable },
        { name: '0002-applied', class: CreateAppliedTable },
      ],
    });
    kafka = new KafkaService('api-gateway', {
      brokers: testBrokers(),
      topicPrefix: prefix,
      topics: ['user-events', 'system-events'],
      handlerRetries: 2,
      handlerRetryMs: 10,
    });
    await kafka.start();
  });

  afterEach(async () => {
    await Promise.all(subscriptions.splice(0).map((s) => s.stop()));
    await kafka.stop();
    await deleteTopicsWithPrefix(prefix);
    if (db.schema) await db.orm.em.getConnection().execute(`drop schema "${db.schema}" cascade`);
    await db.close();
  });

  /** Records each event as a row; throws for the events `poison` names. */
  function recording(poison: (event: UserEvent) => boolean = () => false): BatchEffect<UserEvent> {
    return async (events, { em }) => {
      calls.push(events.map((e) => e.eventId));
      for (const event of events) {
        if (poison(event)) throw new Error(`cannot apply ${labelOf(event)}`);
        const row = new Applied();
        row.eventId = event.eventId;
        row.userId = event.payload.userId;
        row.label = labelOf(event);
        em.persist(row);
      }
    };
  }

  async function subscribe(
    group: string,
    effect: BatchEffect<UserEvent>,
    options: BatchSubscribeOptions = {},
    onDuplicates?: (events: { eventId: string }[]) => void,
  ): Promise<Subscription> {
    const subscription = await kafka.subscribeBatch(
      group,
      transactionalHandlers(db, group, { 'user-events': effect }, onDuplicates),
      options,
    );
    subscriptions.push(subscription);
    return subscription;
  }

  const rows = () => db.fork().find(Applied, {}, { orderBy: { id: 'asc' } });

  /** Per eventId, how many times its effect was applied. */
  async function applications(): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const row of await rows()) counts.set(row.eventId, (counts.get(row.eventId) ?? 0) + 1);
    return counts;
  }

  /** Events of one user (one key, one partition), published before anyone consumes. */
  async function publishSessions(userId: string, count: number): Promise<UserEvent[]> {
    const events = Array.from({ length: count }, (_, i) =>
      UserEventFactory.createUserLoggedOut(userId, `s-${i}`),
    );
    await Promise.all(events.map((e) => kafka.publishEvent('user-events', e)));
    return events;
  }

  it('handleBatch: applies fresh events once in one transaction, skipping processed and repeated ids', async () => {
    const [a, b, c] = Array.from({ length: 3 }, (_, i) =>
      UserEventFactory.createUserLoggedOut('u-0', `s-${i}`),
    ) as [UserEvent, UserEvent, UserEvent];
    const committed: string[] = [];
    const effect: BatchEffect<UserEvent> = async (events, tx) => {
      await recording()(events, tx);
      tx.afterCommit(() => committed.push(...events.map((e) => e.eventId)));
    };
    expect(await handleBatch(db, 'g', [a], effect)).toEqual([a]);
    // a was processed; b repeated in the batch counts once; order kept.
    expect(await handleBatch(db, 'g', [b, a, c, b], effect)).toEqual([b, c]);
    expect(await handleBatch(db, 'g', [a, b, c], effect)).toEqual([]);
    expect((await rows()).map((r) => r.label)).toEqual(['s-0', 's-1', 's-2']);
    expect(committed).toEqual([a.eventId, b.eventId, c.eventId]);
    // Another group has its own records.
    expect(await handleBatch(db, 'other', [c], effect)).toEqual([c]);
  });

  it('handleBatch: a failing effect rolls back the whole batch, records included, and runs no afterCommit', async () => {
    const events = Array.from({ length: 3 }, (_, i) =>
      UserEventFactory.createUserLoggedOut('u-0', `s-${i}`),
    );
    let woken = 0;
    const failing: BatchEffect<UserEvent> = async (batch, tx) => {
      tx.afterCommit(() => woken++);
      await recording((e) => e === events[2])(batch, tx);
    };
    await expect(handleBatch(db, 'g', events, failing)).rejects.toThrow('cannot apply s-2');
    expect(await rows()).toEqual([]);
    expect(await db.fork().count(ProcessedEvent, {})).toBe(0);
    expect(woken).toBe(0);
    expect(await handleBatch(db, 'g', events, recording())).toHaveLength(3);
  });

  it('dead-letters a poison event of a batch alone, with its reason, and applies the rest once', async () => {
    const events = await publishSessions('u-1', 20);
    const poison = events[7] as UserEvent;
    const group = randomName('g');
    await subscribe(
      group,
      recording((e) => e.eventId === poison.eventId),
    );
    await groupCaughtUp(prefix, group, 'user-events');

    const counts = await applications();
    const others = events.filter((e) => e !== poison).map((e) => e.eventId);
    expect([...counts.keys()].sort()).toEqual([...others].sort());
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    // The batch was tried whole first (and rolled back), then one event at a time.
    expect(calls[0]?.length).toBeGreaterThan(1);
    expect(calls.slice(1).every((c) => c.length === 1)).toBe(true);
    // Order kept through the fallback.
    expect((await rows()).map((r) => r.eventId)).toEqual(others);
    const processed = await db.fork().count(ProcessedEvent, { groupId: group });
    expect(processed).toBe(19);

    const dead = await readTopic(kafka.deadLetterTopicName('user-events'), (m) => m.length >= 1);
    expect(dead).toHaveLength(1);
    const json = (m: KafkaMessage) => JSON.parse(m.value?.toString() ?? '{}') as UserEvent;
    expect(json(dead[0] as KafkaMessage).eventId).toBe(poison.eventId);
    expect(readHeaders(dead[0]?.headers)).toMatchObject({
      [DEAD_LETTER_HEADERS.reason]: 'handler failed: cannot apply s-7',
      [DEAD_LETTER_HEADERS.attempts]: '3',
      [DEAD_LETTER_HEADERS.groupId]: kafka.groupName(group),
    });
    const system = await readTopic(kafka.topicName('system-events'), (m) =>
      m.some((x) => x.value?.toString().includes('handler.failed')),
    );
    const failed = system
      .map((m) => JSON.parse(m.value?.toString() ?? '{}') as { eventType: string })
      .find((e) => e.eventType === 'handler.failed');
    expect(failed).toMatchObject({
      payload: { eventId: poison.eventId, error: 'handler failed: cannot apply s-7', attempts: 3 },
    });
  });

  it('dead-letters an invalid message of a batch and applies the others in the same batch', async () => {
    const before = await publishSessions('u-2', 5);
    const producer = rawKafka().producer();
    await producer.connect();
    try {
      await producer.send({
        topic: kafka.topicName('user-events'),
        messages: [{ key: 'u-2', value: '{not json' }],
      });
    } finally {
      await producer.disconnect();
    }
    const after = await publishSessions('u-2', 5);
    const group = randomName('g');
    await subscribe(group, recording());
    await groupCaughtUp(prefix, group, 'user-events');

    const ids = [...before, ...after].map((e) => e.eventId);
    expect((await rows()).map((r) => r.eventId)).toEqual(ids);
    // One fetch, one transaction: no fallback was needed for an invalid message.
    expect(calls).toEqual([ids]);
    const dead = await readTopic(kafka.deadLetterTopicName('user-events'), (m) => m.length >= 1);
    expect(dead).toHaveLength(1);
    expect(readHeaders(dead[0]?.headers)[DEAD_LETTER_HEADERS.reason]).toMatch(/not JSON/);
  });

  it('redelivers a whole batch after a crash between its commit and its offsets, and applies every effect once', async () => {
    const events = await publishSessions('u-3', 30);
    const group = randomName('g');
    const crashedAt: BatchPosition[] = [];
    const first = await subscribe(group, recording(), {
      beforeOffsetCommit: (position) => {
        crashedAt.push(position);
        throw new Error('killed before committing offsets');
      },
    });
    await waitFor('the crash', () => crashedAt.length > 0);
    expect(first.ready()).toBe(false);
    // The batch's transaction committed before the crash.
    const committed = crashedAt[0] as BatchPosition;
    expect(committed.size).toBeGreaterThan(1);
    expect((await rows()).length).toBe(committed.size);
    await first.stop();

    // A new member of the group re-reads from the last committed offset: the crashed batch again.
    const duplicates: string[] = [];
    await subscribe(group, recording(), {}, (dups) =>
      duplicates.push(...dups.map((e) => e.eventId)),
    );
    await groupCaughtUp(prefix, group, 'user-events');

    const counts = await applications();
    expect(counts.size).toBe(30);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect((await rows()).map((r) => r.eventId)).toEqual(events.map((e) => e.eventId));
    expect(duplicates).toEqual(events.slice(0, committed.size).map((e) => e.eventId));
  });

  it('commits nothing unfinished when stopped mid-batch, and the next member handles the rest once', async () => {
    const events = await publishSessions('u-4', 50);
    const group = randomName('g');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const effect = recording();
    const first = await subscribe(
      group,
      async (batch, tx) => {
        await effect(batch, tx);
        await gate;
      },
      { maxBatchSize: 10 },
    );
    await waitFor('the first batch in its transaction', () => calls.length === 1);
    const stopped = first.stop();
    release();
    await stopped;
    // The batch in hand finished and committed; the rest of the fetch was left alone.
    expect(calls).toHaveLength(1);
    expect((await rows()).length).toBe(10);

    await subscribe(group, recording(), { maxBatchSize: 10 });
    await groupCaughtUp(prefix, group, 'user-events');
    const counts = await applications();
    expect(counts.size).toBe(50);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect((await rows()).map((r) => r.eventId)).toEqual(events.map((e) => e.eventId));
  });

  it('batch: false handles one event per transaction, the old path, with the same effects', async () => {
    const events = await publishSessions('u-5', 10);
    const group = randomName('g');
    await subscribe(group, recording(), { batch: false });
    await groupCaughtUp(prefix, group, 'user-events');
    expect(calls).toEqual(events.map((e) => [e.eventId]));
    expect((await rows()).map((r) => r.eventId)).toEqual(events.map((e) => e.eventId));
  });

  it('keeps the order of each key within batches, with partitions consumed concurrently', async () => {
    const users = ['u-a', 'u-b', 'u-c', 'u-d', 'u-e', 'u-f'];
    const fields = Array.from({ length: 100 }, (_, i) => `field${i}`);
    // Concurrent publishes: the batcher keeps call order per partition.
    await Promise.all(
      fields.flatMap((field) =>
        users.map((user) =>
          kafka.publishEvent(
            'user-events',
            UserEventFactory.createUserProfileUpdated(user, [field]),
          ),
        ),
      ),
    );
    const group = randomName('g');
    await subscribe(group, recording(), { partitionsConsumedConcurrently: 3 });
    await groupCaughtUp(prefix, group, 'user-events');

    const all = await rows();
    expect(all).toHaveLength(600);
    for (const user of users) {
      expect(all.filter((r) => r.userId === user).map((r) => r.label)).toEqual(fields);
    }
    // Batched indeed: far fewer transactions than events.
    expect(calls.length).toBeLessThan(60);
  });
});
