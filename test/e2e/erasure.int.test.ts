/**
 * The account erasure saga on the whole platform (the three subgraphs behind the gateway, and
 * the notification service, in-process), with failures injected through the explicit
 * `erasure` options: the happy path erases the user's data in every service; a failure before
 * the pivot restores the account and the interviews and ends the saga `failed`; a failure after
 * it is retried until done, with an alert on system-events; a duplicate (or concurrent) request
 * starts no second saga; admins follow it live. The restart of a killed process is in
 * `erasure-restart.int.test.ts`.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { simpleParser } from 'mailparser';
import type { Identity } from '../../contracts/identity';
import { Email, FORGOTTEN_ADDRESS, Recipient } from '../../notifications/entities';
import {
  createNotificationService,
  type NotificationService,
  type RunningNotificationService,
} from '../../notifications/service';
import { loadConfig } from '../../config';
import {
  randomDatabaseName,
  testAdmin,
  testBrokers,
  testDatabases,
  testUser,
  waitFor,
} from '../helpers';
import { asIdentity, liveClients, recordings, subscribersAtLeast } from '../live';
import { createInterview, gatewayCaller, startTestPlatform, type TestPlatform } from '../platform';

jest.setTimeout(120_000);

const ERASURE_TYPES = [
  'erasure.requested',
  'erasure.step_requested',
  'erasure.step_completed',
  'erasure.step_failed',
  'erasure.completed',
  'erasure.failed',
  'erasure.alert',
];

interface Saga {
  id: string;
  userId: string;
  requestedBy: string;
  status: string;
  reason: string | null;
  currentStep: string | null;
  steps: { name: string; status: string; attempts: number; compensation: boolean }[];
}

const SAGA_FIELDS = `id userId requestedBy status reason currentStep
  steps { name status attempts compensation irreversible lastError }`;

describe('account erasure, a saga across the services', () => {
  let platform: TestPlatform;
  let notifications: NotificationService;
  let notified: RunningNotificationService;
  let mailDir: string;
  const admin = testAdmin();
  const gql = gatewayCaller(() => platform.gatewayUrl, admin);
  const clients = liveClients();
  const { subscribe, disposeAll } = recordings();

  beforeAll(async () => {
    platform = await startTestPlatform({
      erasure: {
        users: {
          timing: {
            stepTimeoutMs: 10_000,
            retryBaseMs: 50,
            retryMaxMs: 200,
            alertEvery: 2,
            tickMs: 50,
          },
        },
        // The first cancellation half-succeeds (interviews cancelled, reply "failed"): the
        // saga before the pivot then has interviews to restore.
        interviews: { faults: [{ step: 'cancel-interviews', times: 1, afterWork: true }] },
        // The next anonymization of reporting fails twice, after the pivot.
        reporting: { faults: [{ step: 'anonymize-reporting', times: 2 }] },
      },
    });
    mailDir = mkdtempSync(path.join(tmpdir(), 'ig-erasure-mail-'));
    notifications = createNotificationService({
      host: '127.0.0.1',
      port: 0,
      database: testDatabases()[0]!.config,
      databaseName: randomDatabaseName('notifications'),
      kafka: {
        ...loadConfig().kafka,
        brokers: testBrokers(),
        topicPrefix: platform.topicPrefix,
        handlerRetryMs: 10,
      },
      mail: {
        smtpUrl: undefined,
        from: 'Interview Graph <no-reply@interview-graph.test>',
        dir: mailDir,
      },
    });
    notified = await notifications.start();
  });

  afterAll(async () => {
    await disposeAll();
    await clients.disposeAll();
    await notifications?.stop();
    await platform?.stop();
    if (mailDir) rmSync(mailDir, { recursive: true, force: true });
  });

  /** A registered user (profile in users, recipient in notifications) with two interviews: one
   *  scheduled, one in progress with an answer. */
  async function candidate(name: string) {
    const who = testUser(name);
    await platform.register(who, { firstName: 'Ada', lastName: 'Lovelace', company: 'Engines' });
    await waitFor(`${who.userId}'s profile`, async () => {
      const r = await gql<{ user: { id: string } | null }>(
        `query ($id: ID!) { user(id: $id) { id } }`,
        { id: who.userId },
      );
      return Boolean(r.data?.user);
    });
    await waitFor(`${who.userId} as a recipient`, async () =>
      Boolean(await notified.database.fork().findOne(Recipient, { userId: who.userId })),
    );
    const scheduled = await createInterview(
      gql,
      { title: 'Screen', position: 'Engineer', questions: ['Why?'] },
      who,
    );
    expect(
      (
        await gql(
          `mutation ($id: ID!) { scheduleInterview(id: $id, scheduledFor: "2031-01-01T09:00:00.000Z") { status } }`,
          { id: scheduled.id },
          who,
        )
      ).errors,
    ).toBeUndefined();
    const started = await createInterview(
      gql,
      { title: 'Deep dive', position: 'Engineer', questions: ['What?', 'How?'] },
      who,
    );
    expect(
      (
        await gql(
          `mutation ($id: ID!) { startInterview(id: $id) { status } }`,
          { id: started.id },
          who,
        )
      ).errors,
    ).toBeUndefined();
    const answered = await gql(
      `mutation ($i: ID!, $q: ID!) { submitAnswer(interviewId: $i, questionId: $q, content: "My secret answer") { status } }`,
      { i: started.id, q: started.questions[0] },
      who,
    );
    expect(answered.errors).toBeUndefined();
    // Reporting has the report, naming the candidate.
    await waitFor('the report', async () => {
      const r = await gql<{
        interview: { report: { candidateId: string; answers: number } | null };
      }>(`query ($id: ID!) { interview(id: $id) { report { candidateId answers } } }`, {
        id: started.id,
      });
      return r.data?.interview.report?.answers === 1;
    });
    return { who, scheduled: scheduled.id, started: started.id };
  }

  const request = (userId: string, who: Identity = admin) =>
    gql<{ requestAccountErasure: Saga }>(
      `mutation ($userId: ID!) { requestAccountErasure(userId: $userId) { ${SAGA_FIELDS} } }`,
      { userId },
      who,
    );

  const sagaOf = async (id: string, who: Identity = admin) => {
    const r = await gql<{ accountErasure: Saga | null }>(
      `query ($id: ID!) { accountErasure(id: $id) { ${SAGA_FIELDS} } }`,
      { id },
      who,
    );
    expect(r.errors).toBeUndefined();
    return r.data!.accountErasure;
  };

  async function ended(id: string): Promise<Saga> {
    let saga: Saga | null = null;
    await waitFor(
      `saga ${id} to end`,
      async () => {
        saga = await sagaOf(id);
        return saga?.status === 'COMPLETED' || saga?.status === 'FAILED';
      },
      60_000,
    );
    return saga!;
  }

  const interviews = async (who: Identity) => {
    const r = await gql<{
      interviews: {
        edges: { node: { id: string; status: string; answers: { content: string }[] } }[];
      };
    }>(
      `query ($c: ID) { interviews(filter: { candidateId: $c }, first: 20) { edges { node { id status answers { content } } } } }`,
      { c: who.userId },
    );
    expect(r.errors).toBeUndefined();
    return new Map(r.data!.interviews.edges.map((e) => [e.node.id, e.node]));
  };

  const profile = async (userId: string) => {
    const r = await gql<{
      user: {
        email: string;
        firstName: string | null;
        lastName: string | null;
        company: string | null;
        suspended: boolean;
        erasedAt: string | null;
        recentActivity: { id: string }[];
      } | null;
    }>(
      `query ($id: ID!) { user(id: $id) { email firstName lastName company suspended erasedAt recentActivity(first: 50) { id } } }`,
      { id: userId },
    );
    expect(r.errors).toBeUndefined();
    return r.data!.user!;
  };

  it('a failure before the pivot restores the account and the interviews, and the saga fails with the reason', async () => {
    const { who, scheduled, started } = await candidate('before-pivot');
    const before = await profile(who.userId);
    const asked = await request(who.userId, who);
    expect(asked.errors).toBeUndefined();
    expect(asked.data!.requestAccountErasure).toMatchObject({
      userId: who.userId,
      requestedBy: who.userId,
      status: 'RUNNING',
    });
    const saga = await ended(asked.data!.requestAccountErasure.id);
    expect(saga.status).toBe('FAILED');
    expect(saga.reason).toMatch(/^cancel-interviews: interview-service: fault injected/);
    expect(saga.steps.map((s) => [s.name, s.status])).toEqual([
      ['suspend-account', 'COMPLETED'],
      ['cancel-interviews', 'FAILED'],
      ['anonymize-interviews', 'SKIPPED'],
      ['anonymize-reporting', 'SKIPPED'],
      ['erase-profile', 'SKIPPED'],
      ['forget-recipient', 'SKIPPED'],
      ['restore-interviews', 'COMPLETED'],
      ['restore-account', 'COMPLETED'],
    ]);
    // Everything as it was: the account active, the interviews back, the answer intact.
    const { recentActivity: _activity, ...restored } = await profile(who.userId);
    const { recentActivity: _before, ...was } = before;
    expect(restored).toEqual({ ...was, suspended: false });
    const now = await interviews(who);
    expect(now.get(scheduled)?.status).toBe('SCHEDULED');
    expect(now.get(started)?.status).toBe('IN_PROGRESS');
    expect(now.get(started)?.answers).toEqual([{ content: 'My secret answer' }]);
    // The compensation went through the interviews' own events, to reporting too.
    await waitFor('the report restored', async () => {
      const r = await gql<{ interview: { report: { status: string; candidateId: string } } }>(
        `query ($id: ID!) { interview(id: $id) { report { status candidateId } } }`,
        { id: started },
      );
      return (
        r.data?.interview.report.status === 'in_progress' &&
        r.data.interview.report.candidateId === who.userId
      );
    });
  });

  it('erases the data in every service; a failure after the pivot is retried to completion with an alert; admins follow it live', async () => {
    const { who, scheduled, started } = await candidate('after-pivot');
    const address = who.email ?? `${who.userId}@example.com`;
    const live = clients.connect(platform.gatewayUrl, asIdentity(admin));
    const stream = subscribe<{
      systemEvents: {
        __typename: string;
        eventType: string;
        sagaId?: string;
        step?: string | null;
      };
    }>(live.client, {
      query: `subscription ($types: [String!]) { systemEvents(types: $types) { __typename eventType ... on AccountErasureEvent { sagaId step attempt reason } } }`,
      variables: { types: ERASURE_TYPES },
    });
    await subscribersAtLeast(platform.gatewayUrl, 1);

    const asked = await request(who.userId);
    expect(asked.errors).toBeUndefined();
    expect(asked.data!.requestAccountErasure.requestedBy).toBe(admin.userId);
    const saga = await ended(asked.data!.requestAccountErasure.id);
    expect(saga.status).toBe('COMPLETED');
    expect(saga.reason).toBeNull();
    const reporting = saga.steps.find((s) => s.name === 'anonymize-reporting');
    expect(reporting).toMatchObject({ status: 'COMPLETED', attempts: 3 });
    expect(saga.steps.every((s) => s.status === 'COMPLETED' && !s.compensation)).toBe(true);

    // Live: the saga's events, its alert included, in order.
    const mine = () =>
      stream.results
        .map((r) => r.data?.systemEvents)
        .filter((e) => e?.sagaId === saga.id)
        .map((e) => `${e!.eventType}${e!.step ? ` ${e!.step}` : ''}`);
    await waitFor('the live saga events', () => mine().includes('erasure.completed'));
    expect(mine()[0]).toBe('erasure.requested');
    expect(mine()).toContain('erasure.step_failed anonymize-reporting');
    expect(mine()).toContain('erasure.alert anonymize-reporting');
    expect(mine().at(-1)).toBe('erasure.completed');
    expect(
      stream.results.every((r) => r.data?.systemEvents.__typename === 'AccountErasureEvent'),
    ).toBe(true);

    // users: no email, names, company, sign-in or activity; suspended for good.
    const erased = await profile(who.userId);
    expect(erased).toMatchObject({
      email: `erased-${saga.id}@erased.invalid`,
      firstName: null,
      lastName: null,
      company: null,
      suspended: true,
      recentActivity: [],
    });
    expect(erased.erasedAt).not.toBeNull();
    // interviews: open ones cancelled, answers erased.
    const now = await interviews(who);
    expect(now.get(scheduled)?.status).toBe('CANCELLED');
    expect(now.get(started)?.status).toBe('CANCELLED');
    expect(now.get(started)?.answers.map((a) => a.content)).not.toContain('My secret answer');
    // reporting: the reports and the audit trail name no one.
    await waitFor('the audit trail to name no one', async () => {
      const r = await gql<{
        auditTrail: unknown[];
        interview: { report: { candidateId: string } };
      }>(
        `query ($actor: ID!, $id: ID!) { auditTrail(actor: $actor, first: 1000) { eventId } interview(id: $id) { report { candidateId } } }`,
        { actor: who.userId, id: started },
      );
      return r.data?.auditTrail.length === 0 && r.data.interview.report.candidateId === 'erased';
    });
    const audited = await gql<{ auditTrail: { eventType: string; actor: string | null }[] }>(
      `query { auditTrail(actor: "erased", first: 1000) { eventType actor } }`,
    );
    expect(audited.data!.auditTrail.map((e) => e.eventType)).toContain('user.registered');
    // notifications: the confirmation went to the address, then the address was forgotten.
    await waitFor('the confirmation email', () =>
      readdirSync(mailDir).some((f) => f.includes('erasure.step_requested')),
    );
    const file = readdirSync(mailDir).find((f) => f.includes('erasure.step_requested'))!;
    const mail = await simpleParser(readFileSync(path.join(mailDir, file)));
    expect(mail.subject).toBe('Your account has been erased');
    expect(mail.to).toMatchObject({ text: address });
    const em = notified.database.fork();
    expect(await em.findOne(Recipient, { userId: who.userId })).toMatchObject({
      email: FORGOTTEN_ADDRESS,
      firstName: null,
      lastName: null,
    });
    await waitFor('no email keeping the address', async () => {
      const emails = await notified.database.fork().find(Email, { userId: who.userId });
      return emails.length > 1 && emails.every((e) => e.to === FORGOTTEN_ADDRESS);
    });
    // The saga's cancellations wrote no email of their own: the confirmation tells of them.
    const sent = await notified.database.fork().find(Email, { userId: who.userId });
    expect(sent.map((e) => e.eventType)).toContain('interview.scheduled');
    expect(sent.map((e) => e.eventType)).not.toContain('interview.cancelled');

    // The audit trail has the saga's events, the alert included, with the saga as subject.
    await waitFor('the alert in the audit trail', async () => {
      const r = await gql<{ auditTrail: { subject: string | null; source: string }[] }>(
        `query { auditTrail(eventTypes: ["erasure.alert", "erasure.completed"], first: 1000) { subject source } }`,
      );
      return (r.data?.auditTrail.filter((e) => e.subject === saga.id).length ?? 0) === 2;
    });
    // The erased profile refuses changes.
    const edit = await gql(
      `mutation { updateProfile(input: { company: "Back" }) { id } }`,
      {},
      who,
    );
    expect(edit.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    // Erased is erased: asking again is a conflict, and starts nothing.
    const again = await request(who.userId);
    expect(again.errors?.[0]?.extensions?.code).toBe('CONFLICT');
  });

  it('a duplicate request, even concurrent, starts no second saga', async () => {
    const { who } = await candidate('duplicate');
    const answers = await Promise.all([
      request(who.userId, who),
      request(who.userId),
      request(who.userId, who),
      request(who.userId),
      request(who.userId, who),
    ]);
    for (const answer of answers) expect(answer.errors).toBeUndefined();
    const ids = new Set(answers.map((a) => a.data!.requestAccountErasure.id));
    expect(ids.size).toBe(1);
    const [id] = [...ids];
    const saga = await ended(id!);
    expect(saga.status).toBe('COMPLETED');
    // No alert, no retry: the faults were used up by the tests before.
    expect(saga.steps.every((s) => s.attempts === 1)).toBe(true);
    const listed = await gql<{
      accountErasures: { totalCount: number; edges: { node: { id: string; userId: string } }[] };
    }>(
      `query { accountErasures(status: COMPLETED, first: 100) { totalCount edges { node { id userId } } } }`,
    );
    expect(listed.errors).toBeUndefined();
    expect(listed.data!.accountErasures.edges.filter((e) => e.node.userId === who.userId)).toEqual([
      { node: { id, userId: who.userId } },
    ]);
    // The user sees their own saga.
    expect((await sagaOf(id!, who))?.id).toBe(id);
  });

  it('refuses bad requests with clear codes', async () => {
    const alice = testUser('alice');
    const bob = testUser('bob');
    await platform.register(alice);
    const unknown = await request('nobody-at-all');
    expect(unknown.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const others = await request(alice.userId, bob);
    expect(others.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const list = await gql(`query { accountErasures { totalCount } }`, {}, bob);
    expect(list.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
