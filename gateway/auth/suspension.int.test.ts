/**
 * Ending the sessions of an account the erasure saga suspends, on both session stores (memory,
 * and the gateway's database: two instances on one database). The publisher is a recording
 * stand-in passed explicitly: what is published is the subject here, not Kafka.
 */
import { createEvent, type EventOn } from '../../events';
import { silentLogger } from '../../lib/logger';
import type { Database } from '../../lib/database';
import { randomDatabaseName, testDatabases } from '../../test/helpers';
import { dropSchema, TEST_INTERNAL_TOKEN_SECRET } from '../../test/subgraph-helpers';
import type { EventPublisher } from './routes';
import { createMemorySessionStore, type SessionStore } from './sessions';
import { createDatabaseSessionStore, openGatewayDatabase } from './store';
import { endSessionsOnSuspension } from './suspension';

const tokens = { accessToken: 'a', refreshToken: 'r', idToken: undefined, expiresAt: 0 };

const command = (
  step: 'suspend-account' | 'cancel-interviews' | 'restore-account',
  userId: string,
) =>
  createEvent('erasure.step_requested', 'user-service', {
    sagaId: 's-1',
    userId,
    step,
    attempt: 1,
  }) as EventOn<'system-events'>;

function recorder() {
  const published: { topic: string; event: { eventType: string; payload: object } }[] = [];
  const kafka: EventPublisher = {
    publishEvent: async (topic, event) => {
      published.push({ topic, event });
    },
  };
  return { kafka, published };
}

describe.each([
  { label: 'memory', database: undefined },
  ...testDatabases().map((d) => ({ label: d.label, database: d.config })),
])('ending the sessions of a suspended account ($label store)', ({ database }) => {
  const name = randomDatabaseName('gateway');
  const open: Database[] = [];
  let stores: SessionStore[];

  beforeAll(async () => {
    if (!database) {
      const store = createMemorySessionStore();
      stores = [store, store];
      return;
    }
    stores = [];
    for (let i = 0; i < 2; i++) {
      const db = await openGatewayDatabase(database, { name });
      open.push(db);
      stores.push(createDatabaseSessionStore({ database: db, secret: TEST_INTERNAL_TOKEN_SECRET }));
    }
  });
  afterAll(async () => {
    for (const db of open) await db.close();
    if (database?.url) await dropSchema(database.url, name);
  });

  it('ends every session of the user, announces each as a security logout, and only once', async () => {
    const [first, second] = stores as [SessionStore, SessionStore];
    const a = await first.create({ userId: 'u-1', email: 'u1@example.com', tokens });
    const b = await second.create({ userId: 'u-1', email: 'u1@example.com', tokens });
    const other = await first.create({ userId: 'u-2', email: 'u2@example.com', tokens });
    const { kafka, published } = recorder();
    const handle = endSessionsOnSuspension({ sessions: second, kafka, logger: silentLogger });

    await handle(command('cancel-interviews', 'u-1'));
    expect(await first.get(a.id)).toBeDefined();

    await handle(command('suspend-account', 'u-1'));
    expect(await first.get(a.id)).toBeUndefined();
    expect(await second.get(b.id)).toBeUndefined();
    expect(await first.get(other.id)).toBeDefined();
    expect(published.map((p) => [p.topic, p.event.eventType, p.event.payload])).toEqual(
      expect.arrayContaining([
        ['user-events', 'user.logged_out', { userId: 'u-1', sessionId: a.ref, reason: 'security' }],
        ['user-events', 'user.logged_out', { userId: 'u-1', sessionId: b.ref, reason: 'security' }],
      ]),
    );
    expect(published).toHaveLength(2);

    // Redelivered: nothing left to end, nothing announced.
    await handle(command('suspend-account', 'u-1'));
    expect(published).toHaveLength(2);
    // Suspended on every instance until the saga restores the account.
    expect(await first.isSuspended('u-1')).toBe(true);
    expect(await first.isSuspended('u-2')).toBe(false);
    await handle(command('restore-account', 'u-1'));
    expect(await first.isSuspended('u-1')).toBe(false);
  });
});
