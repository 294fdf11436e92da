/**
 * The notification service against the real broker, its own database (SQLite, and PostgreSQL
 * when DATABASE_URL is set), and real mail: `.eml` files read back with mailparser, and a real
 * SMTP server (smtp-server) on a free port.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { KafkaMessage } from 'kafkajs';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import type { DatabaseConfig, MailConfig } from '../config';
import {
  DEAD_LETTER_HEADERS,
  InterviewEventFactory,
  KafkaService,
  UserEventFactory,
  readHeaders,
  type DomainEvent,
  type Topic,
} from '../events';
import { ProcessedEvent } from '../events/consumers';
import {
  deleteTopicsWithPrefix,
  freePort,
  randomDatabaseName,
  randomName,
  readTopic,
  testBrokers,
  testDatabases,
  testKafka,
  topicPrefix,
  waitFor,
} from '../test/helpers';
import { dropSchema } from '../test/subgraph-helpers';
import { Email } from './entities';
import { formatWhen } from './templates';
import { createNotificationService, type RunningNotificationService } from './service';

jest.setTimeout(90_000);

const FROM = 'Interview Graph <no-reply@interview-graph.test>';
const filePrefix = topicPrefix('notify');
afterAll(() => deleteTopicsWithPrefix(filePrefix));

interface Harness {
  service: RunningNotificationService;
  publisher: KafkaService;
  prefix: string;
  stop(): Promise<void>;
}

async function startHarness(
  label: string,
  database: DatabaseConfig,
  mail: Partial<MailConfig>,
): Promise<Harness> {
  const prefix = `${filePrefix}${label}.`;
  const databaseName = randomDatabaseName('notifications');
  const notifications = createNotificationService({
    host: '127.0.0.1',
    port: 0,
    database,
    databaseName,
    kafka: {
      brokers: testBrokers(),
      topicPrefix: prefix,
      topicPartitions: 3,
      replicationFactor: 1,
      minInsyncReplicas: 1,
      // One quick retry: the dead-letter test need not wait for the default backoff.
      handlerRetries: 1,
      handlerRetryMs: 50,
    },
    mail: { smtpUrl: undefined, from: FROM, dir: tmpdir(), ...mail },
  });
  const service = await notifications.start();
  const publisher = testKafka('api-gateway', prefix);
  await publisher.start();
  return {
    service,
    publisher,
    prefix,
    async stop() {
      await publisher.stop();
      await notifications.stop();
      if (database.url) await dropSchema(database.url, databaseName);
    },
  };
}

const registered = (userId = randomName('u'), firstName = 'Ada') =>
  UserEventFactory.createUserRegistered(userId, `${userId}@example.com`, {
    firstName,
    lastName: 'Lovelace',
  });

/** Resolves once the service's group has handled the event (its processed-event record). */
async function handled(service: RunningNotificationService, event: DomainEvent): Promise<void> {
  await waitFor(`${event.eventType} ${event.eventId} to be handled`, async () =>
    Boolean(await service.database.fork().findOne(ProcessedEvent, { eventId: event.eventId })),
  );
}

const emailOf = (service: RunningNotificationService, eventId: string) =>
  service.database.fork().findOne(Email, { eventId });

describe.each(testDatabases())('the notification service on $label', ({ label, config }) => {
  let harness: Harness;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ig-mail-'));
    harness = await startHarness(label, config, { dir });
  });
  afterAll(async () => {
    await harness?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const publish = <T extends Topic>(topic: T, event: Parameters<KafkaService['publishEvent']>[1]) =>
    harness.publisher.publishEvent(topic, event as never);

  const filesOf = (eventId: string) => readdirSync(dir).filter((f) => f.includes(eventId));

  async function message(eventId: string): Promise<ParsedMail> {
    await waitFor(`the email of ${eventId}`, () => filesOf(eventId).length > 0);
    const [file] = filesOf(eventId);
    return simpleParser(readFileSync(path.join(dir, file!)));
  }

  it('writes a welcome email as an .eml file, once even when the event is delivered twice', async () => {
    const event = registered();
    await publish('user-events', event);
    const mail = await message(event.eventId);
    expect(mail.subject).toBe('Welcome to Interview Graph');
    expect(mail.to).toMatchObject({ text: event.payload.email });
    expect(mail.from).toMatchObject({ text: FROM.replace('Interview Graph', '"Interview Graph"') });
    expect(mail.messageId).toBe(`<${event.eventId}@interview-graph.test>`);
    expect(mail.text).toContain('Hello Ada,');
    expect(mail.text).toContain(`Your account (${event.payload.email}) is ready.`);
    expect(mail.html).toContain('<p>Hello Ada,</p>');
    expect(mail.headers.get('x-interview-graph-event')).toBe(`user.registered ${event.eventId}`);

    // The same event again, then a marker behind it on the same partition (same user key).
    await publish('user-events', event);
    const marker = UserEventFactory.createUserLoggedOut(event.payload.userId, 's-1');
    await publish('user-events', marker);
    await handled(harness.service, marker);
    await waitFor(
      'delivery to drain',
      async () => (await harness.service.delivery.pending()) === 0,
    );
    expect(filesOf(event.eventId)).toHaveLength(1);
    expect(
      await harness.service.database.fork().count(Email, { userId: event.payload.userId }),
    ).toBe(1);

    // A second registration of the same user (a new event, e.g. a re-sent webhook): no second welcome.
    const again = UserEventFactory.createUserRegistered(event.payload.userId, event.payload.email);
    await publish('user-events', again);
    await handled(harness.service, again);
    expect(await emailOf(harness.service, again.eventId)).toBeNull();
  });

  it('welcomes a user.registered 1.0 like its 2.0 upcast, and writes times in each zone', async () => {
    // A 1.0 registration as an older gateway wrote it, beside a 2.0 one with its own zone.
    const oldId = randomName('u');
    const v1 = {
      eventId: randomUUID(),
      eventType: 'user.registered',
      timestamp: new Date().toISOString(),
      version: '1.0',
      source: 'api-gateway',
      payload: {
        userId: oldId,
        email: `${oldId}@example.com`,
        registrationMethod: 'authentik',
        firstName: 'Ada',
      },
    };
    await harness.publisher.publishSerialized('user-events', {
      key: oldId,
      value: JSON.stringify(v1),
      eventId: v1.eventId,
      eventType: v1.eventType,
      version: v1.version,
      source: v1.source,
    });
    const paris = UserEventFactory.createUserRegistered(randomName('u'), 'amelie@example.com', {
      firstName: 'Ada',
      timeZone: 'Europe/Paris',
    });
    await publish('user-events', paris);
    const [oldWelcome, parisWelcome] = [await message(v1.eventId), await message(paris.eventId)];
    expect(oldWelcome.subject).toBe('Welcome to Interview Graph');
    expect(oldWelcome.text?.replace(`${oldId}@example.com`, 'X')).toBe(
      parisWelcome.text?.replace('amelie@example.com', 'X'),
    );

    // Times relative to now, so the test never depends on today's date.
    const scheduledFor = new Date(Date.now() + 86_400_000).toISOString();
    const schedule = (candidateId: string) =>
      InterviewEventFactory.create('interview.scheduled', {
        interviewId: randomName('i'),
        candidateId,
        scheduledFor,
      });
    const [oldSchedule, parisSchedule] = [schedule(oldId), schedule(paris.payload.userId)];
    for (const event of [oldSchedule, parisSchedule]) await publish('interview-events', event);
    expect((await message(oldSchedule.eventId)).text).toContain(
      `is scheduled for ${formatWhen(scheduledFor)}.`,
    );
    expect((await message(parisSchedule.eventId)).text).toContain(
      `is scheduled for ${formatWhen(scheduledFor, 'Europe/Paris')}.`,
    );
    expect(formatWhen(scheduledFor, 'Europe/Paris')).toMatch(/\(Europe\/Paris\)$/);
  });

  it('writes to the candidate when an interview is scheduled, completed and cancelled, naming it', async () => {
    const user = registered(undefined, 'Grace');
    await publish('user-events', user);
    await message(user.eventId);
    // The address changes: later emails go to the new one.
    const newEmail = `${user.payload.userId}@new.example.com`;
    const updated = UserEventFactory.createUserProfileUpdated(user.payload.userId, ['email'], {
      newValues: { email: newEmail },
    });
    await publish('user-events', updated);
    await handled(harness.service, updated);

    const ids = { interviewId: randomName('i'), candidateId: user.payload.userId };
    const created = InterviewEventFactory.create('interview.created', {
      ...ids,
      title: 'Backend <screen>',
      position: 'Engineer',
      questionCount: 3,
      createdBy: 'admin-1',
    });
    // Times relative to now (a day ahead), so the test never depends on today's date.
    const scheduledFor = new Date(Date.now() + 86_400_000).toISOString();
    const scheduled = InterviewEventFactory.create('interview.scheduled', {
      ...ids,
      scheduledFor,
    });
    const completed = InterviewEventFactory.create('interview.completed', {
      ...ids,
      completedAt: new Date(Date.parse(scheduledFor) + 40 * 60_000).toISOString(),
      answeredQuestions: 2,
      totalQuestions: 3,
      durationSeconds: 2340,
    });
    const other = { interviewId: randomName('i'), candidateId: user.payload.userId };
    const cancelled = InterviewEventFactory.create('interview.cancelled', {
      ...other,
      cancelledAt: new Date(Date.parse(scheduledFor) + 86_400_000).toISOString(),
      previousStatus: 'scheduled',
      reason: 'the position is filled',
    });
    for (const event of [created, scheduled, completed, cancelled]) {
      await publish('interview-events', event);
    }

    const onSchedule = await message(scheduled.eventId);
    expect(onSchedule.subject).toBe('Interview scheduled: Backend <screen>');
    expect(onSchedule.to).toMatchObject({ text: newEmail });
    expect(onSchedule.text).toContain(
      // formatWhen's wording is pinned on fixed dates in templates.test.ts.
      `Your interview "Backend <screen>" (Engineer) is scheduled for ${formatWhen(scheduledFor)}.`,
    );
    // Values from events are escaped in the HTML body.
    expect(onSchedule.html).toContain('&quot;Backend &lt;screen&gt;&quot;');
    expect(onSchedule.html).not.toContain('<screen>');

    const onComplete = await message(completed.eventId);
    expect(onComplete.subject).toBe('Interview completed: Backend <screen>');
    expect(onComplete.text).toContain('You answered 2 of 3 questions in 39 minutes.');

    // An interview the service never saw created is still announced, without a name.
    const onCancel = await message(cancelled.eventId);
    expect(onCancel.subject).toBe('Your interview is cancelled');
    expect(onCancel.text).toContain('Your interview has been cancelled: the position is filled');
    expect(await emailOf(harness.service, created.eventId)).toBeNull();
  });

  it('dead-letters an event for a candidate it never heard of, reports handler.failed, and goes on', async () => {
    const stranger = randomName('stranger');
    const orphan = InterviewEventFactory.create('interview.scheduled', {
      interviewId: randomName('i'),
      candidateId: stranger,
      scheduledFor: new Date(Date.now() + 2 * 86_400_000).toISOString(),
    });
    const user = registered();
    await publish('interview-events', orphan);
    await publish('user-events', user);
    const next = InterviewEventFactory.create('interview.scheduled', {
      interviewId: orphan.payload.interviewId,
      candidateId: user.payload.userId,
      scheduledFor: new Date(Date.now() + 2 * 86_400_000).toISOString(),
    });
    await message(user.eventId);
    await publish('interview-events', next);
    expect((await message(next.eventId)).to).toMatchObject({ text: user.payload.email });

    const json = (m: KafkaMessage) => JSON.parse(m.value?.toString() ?? 'null') as DomainEvent;
    const dlq = harness.service.kafka.deadLetterTopicName('interview-events');
    const dead = await readTopic(dlq, (messages) =>
      messages.some((m) => json(m).eventId === orphan.eventId),
    );
    const letter = dead.find((m) => json(m).eventId === orphan.eventId)!;
    const headers = readHeaders(letter.headers);
    const group = `${harness.prefix}notification-service-group`;
    expect(headers[DEAD_LETTER_HEADERS.groupId]).toBe(group);
    expect(headers[DEAD_LETTER_HEADERS.reason]).toContain(
      `no email address for user ${stranger} (interview.scheduled ${orphan.eventId})`,
    );
    const system = await readTopic(`${harness.prefix}system-events`, (messages) =>
      messages.some((m) => JSON.stringify(json(m)).includes(orphan.eventId)),
    );
    const failed = system.map(json).find((e) => JSON.stringify(e).includes(orphan.eventId));
    expect(failed).toMatchObject({
      eventType: 'handler.failed',
      source: 'notification-service',
      payload: { eventId: orphan.eventId, groupId: group },
    });
    expect(await emailOf(harness.service, orphan.eventId)).toBeNull();
  });
});

describe('the notification service over SMTP', () => {
  const received: ParsedMail[] = [];
  let port: number;
  let smtp: SMTPServer | undefined;
  let harness: Harness;

  /** A real SMTP server; it refuses recipients whose address starts with `bounce`. */
  async function startSmtp(): Promise<void> {
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onRcptTo(address, _session, callback) {
        if (!address.address.startsWith('bounce')) return callback();
        const refusal = Object.assign(new Error('No such mailbox here'), { responseCode: 550 });
        callback(refusal);
      },
      onData(stream, _session, callback) {
        simpleParser(stream).then(
          (mail) => {
            received.push(mail);
            callback();
          },
          (error: Error) => callback(error),
        );
      },
    });
    await new Promise<void>((resolve) => smtp!.listen(port, '127.0.0.1', resolve));
  }
  const stopSmtp = () => new Promise<void>((resolve) => smtp!.close(() => resolve()));

  beforeAll(async () => {
    port = await freePort();
    await startSmtp();
    const [sqlite] = testDatabases();
    harness = await startHarness('smtp', sqlite!.config, {
      smtpUrl: `smtp://127.0.0.1:${port}`,
    });
  });
  afterAll(async () => {
    await harness?.stop();
    if (smtp) await stopSmtp();
  });

  it('sends through the server; a refused recipient fails alone; an unreachable server is retried', async () => {
    const bounced = registered(`bounce-${randomName('u')}`);
    const welcome = registered();
    await harness.publisher.publishEvent('user-events', bounced);
    await harness.publisher.publishEvent('user-events', welcome);

    await waitFor('the welcome email at the SMTP server', () =>
      received.some((m) => m.messageId === `<${welcome.eventId}@interview-graph.test>`),
    );
    const mail = received.find((m) => m.messageId === `<${welcome.eventId}@interview-graph.test>`)!;
    expect(mail.subject).toBe('Welcome to Interview Graph');
    expect(mail.to).toMatchObject({ text: welcome.payload.email });

    await waitFor('the refused email to be marked failed', async () =>
      Boolean((await emailOf(harness.service, bounced.eventId))?.failedAt),
    );
    const refused = await emailOf(harness.service, bounced.eventId);
    expect(refused?.sentAt).toBeNull();
    expect(refused?.lastError).toMatch(/refused the message to bounce-.*550/);
    expect(received.some((m) => m.messageId?.includes(bounced.eventId))).toBe(false);

    // The server goes away: the email waits, readiness says so, and it leaves once it is back.
    await stopSmtp();
    const later = registered();
    await harness.publisher.publishEvent('user-events', later);
    await waitFor('a failed attempt', async () => {
      const email = await emailOf(harness.service, later.eventId);
      return (email?.attempts ?? 0) >= 1 && email?.sentAt === null;
    });
    const ready = await fetch(`${harness.service.url}/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({
      checks: { mail: expect.stringMatching(/^retrying/) },
    });

    await startSmtp();
    await waitFor(
      'the email to leave once the server is back',
      () => received.some((m) => m.messageId === `<${later.eventId}@interview-graph.test>`),
      40_000,
    );
    // The server has the message a moment before the delivery loop records it as sent.
    await waitFor('the email to be recorded as sent', async () =>
      Boolean((await emailOf(harness.service, later.eventId))?.sentAt),
    );
    expect((await emailOf(harness.service, later.eventId))?.sentAt).toBeInstanceOf(Date);
    expect((await fetch(`${harness.service.url}/ready`)).status).toBe(200);

    const metrics = await (await fetch(`${harness.service.url}/metrics`)).text();
    expect(metrics).toContain('notification_emails{state="sent"} 2\n');
    expect(metrics).toContain('notification_emails{state="failed"} 1\n');
    expect(metrics).toContain('notification_emails{state="pending"} 0\n');
  });
});
