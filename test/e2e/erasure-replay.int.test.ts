/**
 * A replay (`npm run rebuild`) may hand a consumer group the erasure commands before or after
 * the events they erase, since they travel on another topic: both orders must end with the
 * user's data erased. Against real databases (SQLite, and PostgreSQL when DATABASE_URL is set),
 * through the groups' own batch effects.
 */
import {
  createEvent,
  InterviewEventFactory,
  UserEventFactory,
  type DomainEvent,
} from '../../events';
import { transactionalHandlers } from '../../events/consumers';
import { openDatabase, type Database } from '../../lib/database';
import { silentLogger } from '../../lib/logger';
import { randomDatabaseName, testDatabases } from '../helpers';
import { projectBatch } from '../../subgraphs/reporting/consumers/interview-events';
import { AuditEntry } from '../../subgraphs/reporting/entities/audit-entry';
import { InterviewReport } from '../../subgraphs/reporting/entities/interview-report';
import { auditHandlers } from '../../subgraphs/reporting/consumers/audit';
import { ERASED, reportingErasureEffect } from '../../subgraphs/reporting/erasure';
import { reportingSubgraph } from '../../subgraphs/reporting/server';
import { usersConsumers } from '../../subgraphs/users/consumers';
import { User, UserActivity } from '../../subgraphs/users/entities';
import { usersSubgraph } from '../../subgraphs/users/server';

const command = (userId: string, step: 'erase-profile' | 'anonymize-reporting') =>
  createEvent('erasure.step_requested', 'user-service', {
    sagaId: 's-1',
    userId,
    step,
    attempt: 1,
  });

/** Feeds events one at a time, in order, to the group's handlers (as one partition would). */
async function feed(
  handlers: ReturnType<typeof transactionalHandlers>,
  events: { topic: 'user-events' | 'interview-events' | 'system-events'; event: DomainEvent }[],
) {
  for (const { topic, event } of events) await handlers[topic]!.each(event as never, {} as never);
}

describe.each(testDatabases())('erasure replayed in any order on $label', ({ config }) => {
  const open: Database[] = [];
  const database = async (definition: typeof usersSubgraph | typeof reportingSubgraph) => {
    const db = await openDatabase({
      name: randomDatabaseName(definition.name),
      config,
      entities: definition.entities,
      migrations: definition.migrations,
    });
    open.push(db);
    return db;
  };
  afterAll(async () => {
    for (const db of open) {
      if (db.schema) await db.orm.em.getConnection().execute(`drop schema "${db.schema}" cascade`);
      await db.close();
    }
  });

  const userEvents = (userId: string) => [
    {
      topic: 'user-events' as const,
      event: UserEventFactory.createUserRegistered(userId, `${userId}@example.com`, {
        firstName: 'Ada',
      }),
    },
    {
      topic: 'user-events' as const,
      event: UserEventFactory.createUserAuthenticated(userId, `${userId}@example.com`, 's-1', {
        authMethod: 'oauth2',
        ipAddress: '203.0.113.7',
      }),
    },
    {
      topic: 'interview-events' as const,
      event: InterviewEventFactory.create('interview.created', {
        interviewId: `${userId}-i`,
        candidateId: userId,
        title: 'Screen',
        position: 'Engineer',
        questionCount: 1,
        createdBy: userId,
      }),
    },
  ];

  it.each(['command first', 'command last'])('users: %s', async (order) => {
    const db = await database(usersSubgraph);
    const { handlers } = usersConsumers({
      database: db,
      logger: silentLogger,
      eventsCommitted: () => undefined,
    })[0]!;
    const userId = `u-${order.replace(' ', '-')}`;
    const erase = { topic: 'system-events' as const, event: command(userId, 'erase-profile') };
    await feed(
      handlers,
      order === 'command first' ? [erase, ...userEvents(userId)] : [...userEvents(userId), erase],
    );
    const em = db.fork();
    expect(await em.findOne(User, { id: userId })).toMatchObject({
      email: 'erased-s-1@erased.invalid',
      firstName: null,
      lastLoginAt: null,
    });
    expect(await em.count(UserActivity, { userId })).toBe(0);
  });

  it.each(['command first', 'command last'])('reporting: %s', async (order) => {
    const db = await database(reportingSubgraph);
    const reporting = transactionalHandlers(db, 'reporting-service-group', {
      'interview-events': projectBatch,
      'system-events': reportingErasureEffect({
        options: {},
        eventsCommitted: () => undefined,
        logger: silentLogger,
      }),
    });
    const audit = auditHandlers(db);
    const userId = `r-${order.replace(' ', '-')}`;
    const anonymize = {
      topic: 'system-events' as const,
      event: command(userId, 'anonymize-reporting'),
    };
    const events =
      order === 'command first'
        ? [anonymize, ...userEvents(userId)]
        : [...userEvents(userId), anonymize];
    await feed(
      reporting,
      events.filter((e) => e.topic !== 'user-events'),
    );
    await feed(audit, events);
    const em = db.fork();
    expect(await em.findOne(InterviewReport, { interviewId: `${userId}-i` })).toMatchObject({
      candidateId: ERASED,
    });
    expect(await em.count(AuditEntry, { actor: userId })).toBe(0);
    expect(await em.count(AuditEntry, { actor: ERASED })).toBeGreaterThanOrEqual(3);
  });
});
