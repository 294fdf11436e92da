/**
 * The designed event flows end to end, through the real processes: the three subgraphs, the
 * notification service and the gateway, each its own `main.ts` in a child process (as `npm start`
 * runs them), the shared test broker, a real OpenID provider (oidc-provider) for sign-in, and
 * SQLite files and `.eml` files in a folder of this run.
 *
 * The tests run in order and build on each other: registration, then authentication, then
 * duplicate delivery, a failing handler, and the audit trail of all of it.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { KafkaMessage } from 'kafkajs';
import { simpleParser } from 'mailparser';
import { DEAD_LETTER_HEADERS, readHeaders, type DomainEvent } from '../../events';
import type { DevProvider } from '../../scripts/dev-idp';
import { registerByWebhook, signInAtGateway, startTestIdp } from '../browser';
import {
  deleteTopicsWithPrefix,
  groupCaughtUp,
  rawKafka,
  readTopic,
  topicPrefix,
  waitFor,
} from '../helpers';
import { startPlatformProcesses, type PlatformProcesses } from '../processes';
import { postGraphQL, type GraphQLResponse } from '../subgraph-helpers';

jest.setTimeout(180_000);

/** Each service's consumer group and the topics it reads. */
const GROUPS = {
  'user-service-group': ['user-events', 'interview-events'],
  'interview-service-group': ['user-events'],
  'notification-service-group': ['user-events', 'interview-events'],
  'reporting-service-group': ['interview-events'],
  'audit-service-group': ['user-events', 'interview-events', 'system-events'],
} as const;

const json = (m: KafkaMessage) => JSON.parse(m.value?.toString() ?? 'null') as DomainEvent;
/** The user a user event is about. */
const userOf = (m: KafkaMessage) => (json(m).payload as { userId?: string }).userId;

describe('the designed event flows, through the real processes', () => {
  const prefix = topicPrefix('flows');
  const dataDir = mkdtempSync(path.join(tmpdir(), 'ig-flows-'));
  const mailDir = path.join(dataDir, 'mail');
  let provider: DevProvider;
  let platform: PlatformProcesses;
  let publicUrl: string;
  let webhookSecret: string;
  /** The session cookies of the development accounts, once signed in. */
  let user: string;
  let admin: string;
  /** The interview the authentication flow resumes. */
  let interviewId: string;

  beforeAll(async () => {
    const idp = await startTestIdp();
    ({ provider, publicUrl, webhookSecret } = idp);
    platform = await startPlatformProcesses({
      prefix,
      dataDir,
      signIn: idp,
      env: {
        // One quick retry before dead-lettering, so the failing-handler test is quick.
        KAFKA_HANDLER_RETRIES: '1',
        KAFKA_HANDLER_RETRY_MS: '50',
      },
    });
  });

  afterAll(async () => {
    await platform?.stop();
    await provider?.stop();
    await deleteTopicsWithPrefix(prefix);
    rmSync(dataDir, { recursive: true, force: true });
  });

  const gql = <T>(query: string, session: string, variables: Record<string, unknown> = {}) =>
    postGraphQL<T>(`${publicUrl}/graphql`, query, variables, { cookie: session });

  const data = <T>(response: GraphQLResponse<T>): T => {
    if (response.errors) throw new Error(JSON.stringify(response.errors));
    return response.data as T;
  };

  /** Waits until every service's group has handled everything published so far. */
  async function everyoneCaughtUp(): Promise<void> {
    for (const [group, topics] of Object.entries(GROUPS)) {
      for (const topic of topics) await groupCaughtUp(prefix, group, topic, 30_000);
    }
  }

  const mailFiles = (eventId?: string) =>
    readdirSync(mailDir, { withFileTypes: true })
      .filter((f) => f.isFile() && f.name.endsWith('.eml'))
      .map((f) => f.name)
      .filter((name) => !eventId || name.includes(eventId));

  async function events(topic: string, until: (events: DomainEvent[]) => boolean) {
    return (await readTopic(`${prefix}${topic}`, (m) => until(m.map(json)))).map(json);
  }

  /** Every message on the topic now: read until as many as its offsets say it holds. */
  async function everything(topic: string): Promise<KafkaMessage[]> {
    const admin = rawKafka().admin();
    await admin.connect();
    let total = 0;
    try {
      const offsets = await admin.fetchTopicOffsets(`${prefix}${topic}`);
      total = offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0);
    } finally {
      await admin.disconnect();
    }
    return readTopic(`${prefix}${topic}`, (m) => m.length >= total);
  }

  interface Me {
    me: {
      id: string;
      email: string;
      firstName: string | null;
      lastLoginAt: string | null;
      recentActivity: {
        kind: string;
        eventType: string;
        eventId: string;
        details: { name: string; value: string | null }[];
      }[];
      interviewPreferences: {
        timezone: string;
        reminderMinutesBefore: number;
        autoResume: boolean;
      } | null;
    } | null;
  }
  const ME = `{ me { id email firstName lastLoginAt
    recentActivity(first: 50) { kind eventType eventId details { name value } }
    interviewPreferences { timezone reminderMinutesBefore autoResume } } }`;

  it('registration: the signed webhook leads to a profile, default preferences and a welcome email', async () => {
    const response = await registerByWebhook(publicUrl, webhookSecret, {
      userId: 'dev-user',
      email: 'dev@example.com',
      firstName: 'Dev',
    });
    expect(response.status).toBe(202);

    await waitFor('the welcome email file', () => mailFiles().length === 1, 30_000);
    const [file] = mailFiles();
    expect(file).toMatch(/^\d{8}T\d{6}Z-user\.registered-[\w-]+\.eml$/);
    const mail = await simpleParser(readFileSync(path.join(mailDir, file!)));
    expect(mail.subject).toBe('Welcome to Interview Graph');
    expect(mail.to).toMatchObject({ text: 'dev@example.com' });
    expect(mail.text).toContain('Hello Dev,');

    ({ session: user } = await signInAtGateway(publicUrl, 'dev@example.com', 'dev'));
    await waitFor('the profile and preferences', async () => {
      const me = (await gql<Me>(ME, user)).data?.me;
      return me?.interviewPreferences != null;
    });
    const { me } = data(await gql<Me>(ME, user));
    expect(me).toMatchObject({
      id: 'dev-user',
      email: 'dev@example.com',
      firstName: 'Dev',
      interviewPreferences: { timezone: 'UTC', reminderMinutesBefore: 30, autoResume: true },
    });
    expect(me?.recentActivity.map((a) => a.kind)).toContain('REGISTRATION');
  });

  it('authentication: a login updates the last login, records the activity, and resumes the paused interview', async () => {
    type Status = Record<string, { id: string; status: string }>;
    const created = data(
      await gql<Status>(
        `mutation { createInterview(input: { title: "Backend screen", position: "Engineer", questions: ["Why us?"] }) { id status } }`,
        user,
      ),
    );
    interviewId = created.createInterview!.id;
    for (const [action, extra] of [
      // A day ahead of now: scheduling refuses a time in the past, so no fixed date may expire.
      ['scheduleInterview', `, scheduledFor: "${new Date(Date.now() + 86_400_000).toISOString()}"`],
      ['startInterview', ''],
      ['pauseInterview', ''],
    ] as const) {
      data(
        await gql<Status>(
          `mutation ($id: ID!) { ${action}(id: $id${extra}) { id status } }`,
          user,
          { id: interviewId },
        ),
      );
    }
    // Scheduling emails the candidate, naming the interview.
    await waitFor('the scheduled email', async () =>
      mailFiles().some((f) => f.includes('-interview.scheduled-')),
    );
    const scheduledFile = mailFiles().find((f) => f.includes('-interview.scheduled-'))!;
    const scheduledMail = await simpleParser(readFileSync(path.join(mailDir, scheduledFile)));
    expect(scheduledMail.subject).toBe('Interview scheduled: Backend screen');
    await everyoneCaughtUp();
    const before = data(await gql<Me>(ME, user)).me!;

    const signedInAt = Date.now();
    ({ session: user } = await signInAtGateway(publicUrl, 'dev@example.com', 'dev', {
      'user-agent': 'flows-e2e/1.0',
    }));
    const authenticated = (
      await events('user-events', (all) =>
        all.some(
          (e) => e.eventType === 'user.authenticated' && e.payload.userAgent === 'flows-e2e/1.0',
        ),
      )
    ).find((e) => e.eventType === 'user.authenticated' && e.payload.userAgent === 'flows-e2e/1.0')!;
    expect(authenticated.payload).toMatchObject({
      userId: 'dev-user',
      email: 'dev@example.com',
      authMethod: 'oauth2',
      ipAddress: expect.any(String),
    });

    const interview = `query ($id: ID!) { interview(id: $id) { status } }`;
    await waitFor('the interview to be resumed', async () => {
      const read = await gql<{ interview: { status: string } }>(interview, user, {
        id: interviewId,
      });
      return read.data?.interview.status === 'IN_PROGRESS';
    });
    const resumed = await events('interview-events', (all) =>
      all.some((e) => e.eventType === 'interview.resumed'),
    );
    expect(resumed.filter((e) => e.eventType === 'interview.resumed')).toEqual([
      expect.objectContaining({
        source: 'interview-service',
        payload: expect.objectContaining({
          interviewId,
          candidateId: 'dev-user',
          trigger: 'user_authenticated',
        }),
      }),
    ]);

    await waitFor('the login to be recorded', async () => {
      const me = (await gql<Me>(ME, user)).data?.me;
      return me?.recentActivity.some((a) => a.eventId === authenticated.eventId) ?? false;
    });
    const after = data(await gql<Me>(ME, user)).me!;
    expect(after.lastLoginAt).toBe(authenticated.timestamp);
    expect(Date.parse(after.lastLoginAt!)).toBeGreaterThanOrEqual(signedInAt - 1000);
    expect(Date.parse(after.lastLoginAt!)).toBeGreaterThan(Date.parse(before.lastLoginAt!));
    // The activity carries the event's payload.
    const login = after.recentActivity.find((a) => a.eventId === authenticated.eventId);
    expect(login).toMatchObject({ kind: 'LOGIN', eventType: 'user.authenticated' });
    expect(Object.fromEntries(login!.details.map((d) => [d.name, d.value]))).toEqual(
      authenticated.payload,
    );
  });

  it('delivering the same events twice creates no second email, activity or resumption', async () => {
    // Paused again, so a second handling of the sign-in would resume it again.
    data(
      await gql(`mutation ($id: ID!) { pauseInterview(id: $id) { status } }`, user, {
        id: interviewId,
      }),
    );
    await everyoneCaughtUp();
    const userEvents = await everything('user-events');
    const registered = userEvents.find((m) => json(m).eventType === 'user.registered')!;
    const lastLogin = userEvents.filter((m) => json(m).eventType === 'user.authenticated').at(-1)!;
    const before = data(await gql<Me>(ME, user)).me!;
    const resumedBefore = (await everything('interview-events'))
      .map(json)
      .filter((e) => e.eventType === 'interview.resumed');
    expect(resumedBefore).toHaveLength(1);

    // The very same messages again (same event ids), as a producer retry or a replay would.
    const producer = rawKafka().producer();
    await producer.connect();
    try {
      await producer.send({
        topic: `${prefix}user-events`,
        messages: [registered, lastLogin].map(({ key, value, headers }) => ({
          key,
          value,
          headers: headers ?? {},
        })),
      });
    } finally {
      await producer.disconnect();
    }
    await everyoneCaughtUp();

    expect(mailFiles(json(registered).eventId)).toHaveLength(1);
    expect(mailFiles().filter((f) => f.includes('-user.registered-'))).toHaveLength(1);
    const after = data(await gql<Me>(ME, user)).me!;
    expect(after.recentActivity).toEqual(before.recentActivity);
    expect(after.lastLoginAt).toBe(before.lastLoginAt);
    const status = await gql<{ interview: { status: string } }>(
      `query ($id: ID!) { interview(id: $id) { status } }`,
      user,
      { id: interviewId },
    );
    expect(status.data?.interview.status).toBe('PAUSED');
    const resumedAfter = (await everything('interview-events'))
      .map(json)
      .filter((e) => e.eventType === 'interview.resumed');
    expect(resumedAfter).toEqual(resumedBefore);
  });

  it('a handler that throws sends its event to the dead-letter topic, publishes handler.failed, and the next events are processed', async () => {
    // A second account claiming dev@example.com: the users service refuses it (EmailTakenError).
    const taken = await registerByWebhook(publicUrl, webhookSecret, {
      userId: 'impostor',
      email: 'dev@example.com',
    });
    expect(taken.status).toBe(202);
    const next = await registerByWebhook(publicUrl, webhookSecret, {
      userId: 'dev-admin',
      email: 'admin@example.com',
      firstName: 'Admin',
    });
    expect(next.status).toBe(202);

    const dead = await readTopic(`${prefix}user-events.dlq`, (m) =>
      m.some((x) => userOf(x) === 'impostor'),
    );
    const letter = dead.find((x) => userOf(x) === 'impostor')!;
    const headers = readHeaders(letter.headers);
    expect(headers[DEAD_LETTER_HEADERS.groupId]).toBe(`${prefix}user-service-group`);
    expect(headers[DEAD_LETTER_HEADERS.reason]).toContain(
      'cannot register user impostor: email dev@example.com already belongs to user dev-user',
    );
    const failures = await events('system-events', (all) =>
      all.some(
        (e) => e.eventType === 'handler.failed' && e.payload.eventId === json(letter).eventId,
      ),
    );
    expect(
      failures.find(
        (e) => e.eventType === 'handler.failed' && e.payload.eventId === json(letter).eventId,
      ),
    ).toMatchObject({
      source: 'user-service',
      payload: {
        groupId: `${prefix}user-service-group`,
        error: expect.stringContaining('cannot register user impostor'),
      },
    });

    // The next registration went through every service.
    await waitFor('the admin welcome email', () =>
      mailFiles().some((f) =>
        readFileSync(path.join(mailDir, f), 'utf8').includes('To: admin@example.com'),
      ),
    );
    ({ session: admin } = await signInAtGateway(publicUrl, 'admin@example.com', 'admin'));
    await waitFor('the admin profile', async () => (await gql<Me>(ME, admin)).data?.me != null);
    expect(data(await gql<Me>(ME, admin)).me?.interviewPreferences).not.toBeNull();
  });

  it('admins read the audit trail of these flows, in order; others are refused', async () => {
    await everyoneCaughtUp();
    type Trail = {
      auditTrail: { eventId: string; eventType: string; source: string; actor: string | null }[];
    };
    const AUDIT = `query ($actor: ID, $types: [String!]) {
      auditTrail(actor: $actor, eventTypes: $types, first: 500) { eventId eventType source actor } }`;
    const trail = data(await gql<Trail>(AUDIT, admin, { actor: 'dev-user' })).auditTrail;
    const types = trail.map((e) => e.eventType);
    // The flows above, in the order they happened (other events interleave).
    const flow = [
      'user.registered',
      'user.authenticated',
      'interview.created',
      'interview.scheduled',
      'interview.started',
      'interview.paused',
      'user.authenticated',
      'interview.resumed',
      'interview.paused',
    ];
    let at = -1;
    for (const type of flow) {
      at = types.indexOf(type, at + 1);
      expect({ type, found: at >= 0 }).toEqual({ type, found: true });
    }
    // Redelivered events are recorded once.
    expect(new Set(trail.map((e) => e.eventId)).size).toBe(trail.length);
    expect(trail.find((e) => e.eventType === 'interview.resumed')).toMatchObject({
      source: 'interview-service',
      actor: 'dev-user',
    });

    const failed = data(await gql<Trail>(AUDIT, admin, { types: ['handler.failed'] })).auditTrail;
    expect(failed.map((e) => e.source)).toContain('user-service');
    // Every process announced itself on system-events.
    const started = data(await gql<Trail>(AUDIT, admin, { types: ['service.started'] })).auditTrail;
    expect(new Set(started.map((e) => e.source))).toEqual(
      new Set([
        'user-service',
        'interview-service',
        'reporting-service',
        'notification-service',
        'api-gateway',
      ]),
    );

    const refused = await gql<Trail>(AUDIT, user, { actor: 'dev-user' });
    expect(refused.data?.auditTrail ?? null).toBeNull();
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
