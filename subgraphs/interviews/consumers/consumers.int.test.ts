/**
 * The interviews consumers' batch effect against real databases (SQLite, and PostgreSQL when
 * DATABASE_URL is set): registrations and sign-ins of one batch, and the relay woken only once
 * the transaction that enqueued `interview.resumed` committed.
 */
import { rmSync } from 'node:fs';
import { UserEventFactory } from '../../../events';
import { handleBatch } from '../../../events/consumers';
import { OutboxMessage } from '../../../events/outbox';
import { openDatabase, type Database } from '../../../lib/database';
import { silentLogger } from '../../../lib/logger';
import { randomDatabaseName, testDatabases, waitFor } from '../../../test/helpers';
import { InterviewEntity, InterviewPreferencesEntity } from '../entities';
import { interviewsSubgraph } from '../server';
import { INTERVIEWS_GROUP, userEventsEffect } from './index';

const databases = testDatabases();
afterAll(() => rmSync(databases[0]?.config.dataDir ?? '', { recursive: true, force: true }));

describe.each(databases)('interviews consumers on $label', ({ config }) => {
  let db: Database;

  beforeEach(async () => {
    db = await openDatabase({
      name: randomDatabaseName('interviews'),
      config,
      entities: interviewsSubgraph.entities,
      migrations: interviewsSubgraph.migrations,
    });
  });

  afterEach(async () => {
    if (db.schema) await db.orm.em.getConnection().execute(`drop schema "${db.schema}" cascade`);
    await db.close();
  });

  it('sets up preferences and resumes paused interviews in one batch, waking the relay after the commit', async () => {
    const now = new Date();
    const paused = Object.assign(new InterviewEntity(), {
      id: 'i-1',
      candidateId: 'u-1',
      createdBy: 'u-9',
      title: 'Backend screen',
      position: 'Engineer',
      status: 'paused' as const,
      questionCount: 3,
      createdAt: now,
      updatedAt: now,
      pausedAt: now,
    });
    await db.fork().persistAndFlush(paused);

    let outboxAtWake: number | undefined;
    const wake = jest.fn(() => {
      // Called after the commit: another connection sees the row already.
      void db
        .fork()
        .count(OutboxMessage, {})
        .then((n) => (outboxAtWake = n));
    });
    const events = [
      UserEventFactory.createUserRegistered('u-2', 'u2@example.com'),
      UserEventFactory.createUserRegistered('u-3', 'u3@example.com'),
      UserEventFactory.createUserAuthenticated('u-1', 'u1@example.com', 's-1'),
      UserEventFactory.createUserRegistered('u-2', 'u2@example.com'),
    ];
    const fresh = await handleBatch(
      db,
      INTERVIEWS_GROUP,
      events,
      userEventsEffect(silentLogger, wake),
    );
    expect(fresh).toHaveLength(4);
    expect(wake).toHaveBeenCalledTimes(1);

    const em = db.fork();
    expect((await em.find(InterviewPreferencesEntity, {})).map((p) => p.userId).sort()).toEqual([
      'u-2',
      'u-3',
    ]);
    expect((await em.findOneOrFail(InterviewEntity, { id: 'i-1' })).status).toBe('in_progress');
    const rows = await em.find(OutboxMessage, {});
    expect(rows.map((r) => [r.eventType, r.aggregateId])).toEqual([['interview.resumed', 'i-1']]);
    await waitFor('the count seen at wake-up', () => outboxAtWake !== undefined);
    expect(outboxAtWake).toBe(1);

    // A batch that resumes nothing does not wake the relay.
    await handleBatch(
      db,
      INTERVIEWS_GROUP,
      [UserEventFactory.createUserAuthenticated('u-1', 'u1@example.com', 's-2')],
      userEventsEffect(silentLogger, wake),
    );
    expect(wake).toHaveBeenCalledTimes(1);
  });
});
