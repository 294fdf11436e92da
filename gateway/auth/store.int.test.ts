/**
 * The gateway's sign-in store (store.ts) on real databases (SQLite, and PostgreSQL when
 * DATABASE_URL is set): two store instances on one database stand for two gateway instances,
 * reopening the database for a restart. The outbox publisher against the real broker.
 */
import type { KafkaMessage } from 'kafkajs';
import { UserEventFactory, type KafkaService } from '../../events';
import type { Database } from '../../lib/database';
import {
  deleteTopicsWithPrefix,
  randomDatabaseName,
  randomName,
  readTopic,
  testDatabases,
  testKafka,
  topicPrefix,
  waitFor,
} from '../../test/helpers';
import { dropSchema, TEST_INTERNAL_TOKEN_SECRET } from '../../test/subgraph-helpers';
import type { OidcTokens } from './oidc';
import { sessionRef } from './sessions';
import {
  createDatabaseSessionStore,
  createDatabaseSignInState,
  createGatewayRelay,
  createOutboxPublisher,
  openGatewayDatabase,
  StoredSession,
} from './store';

jest.setTimeout(60_000);

const tokens = (refreshToken: string): OidcTokens => ({
  accessToken: `access-${refreshToken}`,
  refreshToken,
  idToken: undefined,
  expiresAt: Date.now() + 60_000,
});

describe.each(testDatabases())('the gateway store on $label', ({ config }) => {
  const name = randomDatabaseName('gateway');
  const open: Database[] = [];
  const openDb = async () => {
    const db = await openGatewayDatabase(config, { name });
    open.push(db);
    return db;
  };

  afterAll(async () => {
    for (const db of open) await db.close();
    if (config.url) await dropSchema(config.url, name);
  });

  it('shares sessions between instances and keeps them across a restart; logout ends them everywhere', async () => {
    const first = createDatabaseSessionStore({
      database: await openDb(),
      secret: TEST_INTERNAL_TOKEN_SECRET,
    });
    const second = createDatabaseSessionStore({
      database: await openDb(),
      secret: TEST_INTERNAL_TOKEN_SECRET,
    });
    const session = await first.create({
      userId: 'u1',
      email: 'u1@example.com',
      tokens: tokens('refresh-1'),
    });
    expect(session.ref).toBe(sessionRef(session.id));
    expect(await second.get(session.id)).toEqual(session);

    const refreshed = await second.updateTokens(session.id, tokens('refresh-2'));
    expect(refreshed?.tokens.refreshToken).toBe('refresh-2');
    expect((await first.get(session.id))?.tokens.refreshToken).toBe('refresh-2');

    // A restart: a new database connection, a new store.
    const restarted = createDatabaseSessionStore({
      database: await openDb(),
      secret: TEST_INTERNAL_TOKEN_SECRET,
    });
    expect((await restarted.get(session.id))?.userId).toBe('u1');

    // Logout on one instance: the others no longer know it, and only one reports the delete.
    const deletes = await Promise.all([first.delete(session.id), second.delete(session.id)]);
    expect(deletes.filter(Boolean)).toHaveLength(1);
    expect(await restarted.get(session.id)).toBeUndefined();
    expect(await second.updateTokens(session.id, tokens('refresh-3'))).toBeUndefined();
  });

  it('stores neither the cookie id nor the tokens in the clear', async () => {
    const db = await openDb();
    const store = createDatabaseSessionStore({ database: db, secret: TEST_INTERNAL_TOKEN_SECRET });
    const session = await store.create({
      userId: 'u2',
      email: 'u2@example.com',
      tokens: tokens('secret-refresh-token'),
    });
    const rows = await db.fork().find(StoredSession, { userId: 'u2' });
    expect(rows).toHaveLength(1);
    const raw = JSON.stringify(rows[0]);
    expect(raw).not.toContain(session.id);
    expect(raw).not.toContain('secret-refresh-token');
    // Another deployment's secret opens nothing.
    const other = createDatabaseSessionStore({ database: db, secret: 'x'.repeat(48) });
    await expect(other.get(session.id)).rejects.toThrow();
  });

  it('takes each expired session once, however many instances sweep', async () => {
    let now = Date.now();
    const clock = () => now;
    const stores = await Promise.all(
      [1, 2, 3].map(async () =>
        createDatabaseSessionStore({
          database: await openDb(),
          secret: TEST_INTERNAL_TOKEN_SECRET,
          ttlMs: 1_000,
          now: clock,
        }),
      ),
    );
    const created = await Promise.all(
      [1, 2, 3, 4].map((i) =>
        stores[0]!.create({ userId: `sweep-${i}`, email: 'x@example.com', tokens: tokens('r') }),
      ),
    );
    now += 2_000;
    const taken = (await Promise.all(stores.map((s) => s.takeExpired(now)))).flat();
    const mine = taken.filter((s) => s.userId.startsWith('sweep-'));
    expect(mine.map((s) => s.ref).sort()).toEqual(created.map((s) => s.ref).sort());
    expect(mine.every((s) => s.id === '')).toBe(true);
  });

  it('finishes a sign-in started on another instance once, and refuses a webhook replay on every instance', async () => {
    const [a, b] = await Promise.all(
      [1, 2].map(async () =>
        createDatabaseSignInState({ database: await openDb(), secret: TEST_INTERNAL_TOKEN_SECRET }),
      ),
    );
    const state = randomName('state');
    const login = {
      nonce: 'n',
      codeVerifier: 'verifier',
      returnTo: '/',
      expiresAt: Date.now() + 60_000,
    };
    await a!.putPendingLogin(state, login);
    const taken = await Promise.all([b!.takePendingLogin(state), a!.takePendingLogin(state)]);
    expect(taken.filter(Boolean)).toEqual([login]);

    const expired = randomName('expired');
    await a!.putPendingLogin(expired, { ...login, expiresAt: Date.now() - 1 });
    expect(await b!.takePendingLogin(expired)).toBeUndefined();

    const signature = randomName('sig');
    expect(await a!.firstDelivery(signature, Date.now() + 60_000)).toBe(true);
    expect(await b!.firstDelivery(signature, Date.now() + 60_000)).toBe(false);
    expect(await a!.firstDelivery(signature, Date.now() + 60_000)).toBe(false);
  });
});

describe('sign-in events through the gateway outbox', () => {
  const [{ config }] = testDatabases() as [ReturnType<typeof testDatabases>[number]];
  const prefix = topicPrefix('gw-outbox');
  let db: Database | undefined;
  let kafka: KafkaService | undefined;

  afterAll(async () => {
    await kafka?.stop();
    await db?.close();
    await deleteTopicsWithPrefix(prefix);
  });

  it('stores an event while Kafka cannot take it (the service not started), and publishes it once, after', async () => {
    db = await openGatewayDatabase(config, { name: randomDatabaseName('gateway') });
    kafka = testKafka('api-gateway', prefix);
    const relay = createGatewayRelay(db, kafka);
    relay.start();
    const publisher = createOutboxPublisher(db, relay);
    const event = UserEventFactory.createUserAuthenticated('u9', 'u9@example.com', 'ref', {
      authMethod: 'oauth2',
    });
    // Resolves although nothing can reach Kafka: the sign-in goes on.
    await publisher.publishEvent('user-events', event);
    await waitFor('the relay to fail a round', () => !relay.ready());
    expect(await relay.pending()).toBe(1);

    await kafka.start();
    await waitFor('the outbox to drain', async () => (await relay.pending()) === 0, 30_000);
    const messages = await readTopic(kafka.topicName('user-events'), (ms: KafkaMessage[]) =>
      ms.some((m) => m.value?.toString().includes(event.eventId)),
    );
    expect(messages.filter((m) => m.value?.toString().includes(event.eventId))).toHaveLength(1);
    await relay.stop();
  });
});
