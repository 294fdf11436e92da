/**
 * The outbox and the idempotent handler runtime against real databases (SQLite, and
 * PostgreSQL when DATABASE_URL is set) and the real broker.
 */
import type { KafkaMessage } from 'kafkajs';
import { openDatabase, type Database } from '../../lib/database';
import {
  deleteTopicsWithPrefix,
  randomDatabaseName,
  readTopic,
  testDatabases,
  testKafka,
  topicPrefix,
  waitFor,
} from '../../test/helpers';
import { CreateProcessedEventTable, ProcessedEventSchema, handleOnce } from '../consumers';
import { UserEventFactory } from '../factories';
import { EVENT_HEADERS, readHeaders } from '../kafka/headers';
import { EventValidationError } from '../validate';
import {
  CreateOutboxTable,
  CreateRelayLeaseTable,
  OutboxMessage,
  createLease,
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
        { name: '0003-relay-lease', class: CreateRelayLeaseTable },
      ],
    });
  });

  afterEach(() => dropDatabase(db));

  it('opens one database from several replicas at once: one migrates, the others find it done', async () => {
    const name = randomDatabaseName('replicas');
    const replicas = await Promise.all(
      Array.from({ length: 3 }, () =>
        openDatabase({
          name,
          config,
          entities: [OutboxMessageSchema],
          migrations: [{ name: '0001-outbox', class: CreateOutboxTable }],
        }),
      ),
    );
    try {
      for (const replica of replicas) {
        expect(
          await replica
            .fork()
            .getConnection()
            .execute(
              `select count(*) as n from ${replica.schema ? `"${replica.schema}".` : ''}outbox`,
            ),
        ).toEqual([{ n: expect.anything() }]);
      }
    } finally {
      for (const replica of replicas.slice(1)) await replica.close();
      await dropDatabase(replicas[0]!);
    }
  });

  it('lets one replica hold the relay lease: renewed while held, taken over when released or expired', async () => {
    let now = 1_000_000;
    const clock = () => now;
    const a = createLease({
      database: db,
      name: 'outbox-relay',
      holder: 'a',
      ttlMs: 3_000,
      now: clock,
    });
    const b = createLease({
      database: db,
      name: 'outbox-relay',
      holder: 'b',
      ttlMs: 3_000,
      now: clock,
    });
    expect(await a.hold()).toBe(true);
    expect(a.shared()).toBe(false); // alone so far
    expect(await b.hold()).toBe(false); // b stands by
    now += 2_500; // renewed by a before it runs out; a now knows b stands by
    expect(await a.hold()).toBe(true);
    expect(a.shared()).toBe(true);
    now += 2_500;
    expect(await b.hold()).toBe(false);
    // a dies: nobody renews; once it expires, b takes it, and a learns it lost it.
    now += 3_001;
    expect(await b.hold()).toBe(true);
    expect(await a.hold()).toBe(false);
    // b stops cleanly: a takes it at once, and is alone again.
    await b.release();
    expect(await a.hold()).toBe(true);
    expect(a.shared()).toBe(false);
  });

  it('publishes each row once and in order per aggregate with two relay replicas, and fails over when the holder stops', async () => {
    const published: { eventId: string; aggregate: string }[] = [];
    // A recording publisher behind the relays' explicit `kafka` parameter: what is asserted is
    // which relay publishes what, in which order (the broker path is tested below).
    const kafka = {
      publishSerialized: async (_topic: string, event: { eventId: string; key: string }) => {
        published.push({ eventId: event.eventId, aggregate: event.key });
      },
    };
    // A clean stop releases the lease at once; the TTL only has to outlast a loaded machine's
    // pauses, or the holder's lease would lapse mid-round and both would send (expiry is tested
    // with a clock of its own above).
    const leases = ['a', 'b'].map((holder) =>
      createLease({ database: db, name: 'outbox-relay', holder, ttlMs: 10_000 }),
    );
    const replicas = leases.map((lease) =>
      createOutboxRelay({ database: db, kafka, pollIntervalMs: 20, lease }),
    );
    for (const relay of replicas) relay.start();
    // Traffic once the holder knows the other replica stands by (within a second of its start).
    await waitFor('the holder to see the other replica', () => leases.some((l) => l.shared()));
    /** Four writers at once, one per aggregate (its mutations one after another, as a client's). */
    const enqueue = (from: number, to: number, on = replicas) =>
      Promise.all(
        [0, 1, 2, 3].map(async (aggregate) => {
          for (let i = from + aggregate; i < to; i += 4) {
            const rows = await db
              .fork()
              .transactional(async (em) => [
                enqueueEvent(
                  em,
                  'user-events',
                  UserEventFactory.createUserLoggedOut(`u-${aggregate}`, `s-${i}`),
                ),
              ]);
            // Each mutation is made on one replica or the other, which hands its rows to its
            // relay, while the other writers commit on both.
            on[Math.floor(i / 4) % on.length]!.committed(rows);
          }
        }),
      );
    try {
      await enqueue(0, 200);
      await waitFor('every row sent', async () => (await replicas[0]!.pending()) === 0);
      // One replica stops cleanly (the holder or not): the other relays everything after.
      await replicas[0]!.stop();
      // A stopped replica serves nothing: mutations go to the one left.
      await enqueue(200, 240, [replicas[1]!]);
      await waitFor(
        'the rows made after the stop sent',
        async () => (await replicas[1]!.pending()) === 0,
      );
    } finally {
      for (const relay of replicas) await relay.stop();
    }
    const rows = await db.fork().find(OutboxMessage, {}, { orderBy: { id: 'asc' } });
    expect(rows).toHaveLength(240);
    expect(published.map((p) => p.eventId).sort()).toEqual(rows.map((r) => r.eventId).sort());
    for (const aggregate of ['u-0', 'u-1', 'u-2', 'u-3']) {
      expect(published.filter((p) => p.aggregate === aggregate).map((p) => p.eventId)).toEqual(
        rows.filter((r) => r.aggregateId === aggregate).map((r) => r.eventId),
      );
    }
  });

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
    const prefix = topicPrefix('t');
    const kafka = testKafka('user-service', prefix, { topics: ['user-events'] });
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

  /** A relay with a recording publisher behind its explicit `kafka` parameter. */
  function recordingRelay(fail?: (eventId: string) => boolean) {
    const published: { eventId: string; at: number }[] = [];
    const relay = createOutboxRelay({
      database: db,
      pollIntervalMs: 20,
      kafka: {
        publishSerialized: async (_topic, event) => {
          if (fail?.(event.eventId)) throw new Error('broker unavailable');
          published.push({ eventId: event.eventId, at: Date.now() });
        },
      },
    });
    return { relay, published, ids: () => published.map((p) => p.eventId) };
  }

  /** Commits one event; returns its event and the row `enqueueEvent` gave back. */
  async function commit(userId: string) {
    const event = UserEventFactory.createUserProfileUpdated(userId, ['name']);
    const row = await db.fork().transactional(async (em) => enqueueEvent(em, 'user-events', event));
    return { event, row };
  }

  it('publishes rows handed over after their commit while the database is busy', async () => {
    const { relay, published } = recordingRelay();
    relay.start();
    try {
      // Caught up: a first row through the table.
      const first = await commit('u-1');
      relay.notify();
      await waitFor('the first row', async () => published.length === 1);
      await waitFor('the relay to find the table empty', async () => (await relay.pending()) === 0);
      await new Promise((resolve) => setTimeout(resolve, 100));

      const second = await commit('u-1');
      // Another request holds the database now (SQLite: its one connection) for a second.
      const busy = db.fork().transactional(() => new Promise((r) => setTimeout(r, 1_000)));
      const handedAt = Date.now();
      relay.committed([second.row]);
      await waitFor('the handed row', async () => published.length === 2, 800);
      expect(published[1]!.eventId).toBe(second.event.eventId);
      expect(published[1]!.at - handedAt).toBeLessThan(500);
      await busy;
      await waitFor('both marked sent', async () => (await relay.pending()) === 0);
      expect(published.map((p) => p.eventId)).toEqual([first.event.eventId, second.event.eventId]);
    } finally {
      await relay.stop();
    }
  });

  it('keeps commit order and publishes once when rows come handed over and unseen', async () => {
    const { relay, ids } = recordingRelay();
    relay.start();
    const expected: string[] = [];
    try {
      for (let i = 0; i < 30; i++) {
        const { event, row } = await commit('same-user');
        expected.push(event.eventId);
        // Some commits hand their rows over, others only wake the relay (rows not at hand).
        if (i % 7 === 3) relay.notify();
        else relay.committed([row]);
        if (i % 5 === 0) await new Promise((resolve) => setTimeout(resolve, 30));
      }
      await waitFor('every row', async () => ids().length >= 30 && (await relay.pending()) === 0);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(ids()).toEqual(expected);
    } finally {
      await relay.stop();
    }
  });

  it('publishes once a row handed over late, after table reads already sent it and others', async () => {
    // A request commits, and before it hands its row over (a loaded process: its continuation
    // waits), the relay's polling has read the row from the table and sent it, then read and
    // sent another. The late hand-over must not send it again.
    const { relay, ids } = recordingRelay();
    relay.start();
    try {
      await waitFor('the relay to find the table empty', async () => (await relay.pending()) === 0);
      await new Promise((resolve) => setTimeout(resolve, 60));
      const late = await commit('u-1');
      await waitFor('the late row sent from the table', async () => ids().length === 1);
      const other = await commit('u-2');
      await waitFor('another row sent from the table', async () => ids().length === 2);
      await waitFor('both marked sent', async () => (await relay.pending()) === 0);
      relay.committed([late.row]);
      const next = await commit('u-1');
      relay.committed([next.row]);
      await waitFor('the next row', async () => ids().length >= 3);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(ids()).toEqual([late.event.eventId, other.event.eventId, next.event.eventId]);
    } finally {
      await relay.stop();
    }
  });

  it('after a failed publish of a handed-over row, goes on from the table in order', async () => {
    let failures = 0;
    const { relay, ids } = recordingRelay(() => failures++ === 1);
    relay.start();
    const expected: string[] = [];
    try {
      const first = await commit('same-user');
      expected.push(first.event.eventId);
      relay.notify();
      await waitFor('caught up', async () => ids().length === 1 && (await relay.pending()) === 0);
      await new Promise((resolve) => setTimeout(resolve, 60));
      for (let i = 0; i < 5; i++) {
        const { event, row } = await commit('same-user');
        expected.push(event.eventId);
        relay.committed([row]);
      }
      await waitFor('every row', async () => (await relay.pending()) === 0 && ids().length >= 6);
      // The failed row and those after it came from the table, in order; nothing is lost.
      const seen = ids();
      expect([...new Set(seen)]).toEqual(expected);
      expect(seen.filter((id) => id === expected[1])).toHaveLength(1);
    } finally {
      await relay.stop();
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
