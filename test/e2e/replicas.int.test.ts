/**
 * The platform scaled out, with real processes: two gateways and two interviews replicas behind
 * HAProxy (Debian's), two notification replicas, one PostgreSQL database of their own, the
 * development IdP (oidc-provider). Sessions travel between gateways and survive their restarts;
 * 1,000 mutations spread over both interviews replicas publish each event once, in order per
 * interview; each email is written once; and a gateway stopped (SIGTERM) under 100 live
 * subscribers hands them all to the other, which resumes each from its cursor.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Client } from 'graphql-ws';
import type { KafkaMessage } from 'kafkajs';
import { Client as PgClient } from 'pg';
import { loadConfig } from '../../config';
import type { DevProvider } from '../../scripts/dev-idp';
import type { Identity } from '../../contracts/identity';
import { registerByWebhook, signInAsDevUser, startTestIdp } from '../browser';
import {
  deleteTopicsWithPrefix,
  eventOf,
  groupCaughtUp,
  randomName,
  readTopic,
  testUser,
  topicPrefix,
  waitFor,
} from '../helpers';
import { asIdentity, liveClient, metric, type LiveResult } from '../live';
import { startPlatformProcesses, type PlatformProcesses } from '../processes';
import { graphql, postGraphQL } from '../subgraph-helpers';

jest.setTimeout(600_000);

const DATABASE_URL = loadConfig().database.url;
const INTERVIEWS = 20;
/** Per interview: create, schedule, start, 46 answers, complete = 50; 20 interviews = 1,000. */
const QUESTIONS = 46;
const SUBSCRIBERS = 100;

/**
 * A live subscriber as a client app keeps one: when its socket closes (1012 from a gateway that
 * stops), it connects again through the load balancer and resubscribes from its last cursor.
 */
function resumableSubscriber(
  url: string,
  who: Identity,
  query: string,
  variables: Record<string, unknown>,
) {
  const results: LiveResult<unknown>[] = [];
  const closes: number[] = [];
  let cursor: string | undefined;
  let client: Client | undefined;
  let stopped = false;
  const open = () => {
    const connection = liveClient(url, asIdentity(who));
    client = connection.client;
    const reconnect = () => {
      closes.push(connection.closes.at(-1)?.code ?? 0);
      void connection.client.dispose();
      if (!stopped) setTimeout(open, 20);
    };
    connection.client.subscribe(
      { query, variables, ...(cursor === undefined ? {} : { extensions: { cursor } }) },
      {
        next: (result) => {
          results.push({ ...(result as LiveResult<unknown>), receivedAt: Date.now() });
          cursor = (result.extensions as { cursor?: string } | undefined)?.cursor ?? cursor;
        },
        error: reconnect,
        complete: reconnect,
      },
    );
  };
  open();
  return {
    results,
    closes,
    stop: async () => {
      stopped = true;
      await client?.dispose();
    },
  };
}

const describeOnPostgres = DATABASE_URL ? describe : describe.skip;

// Replicas share a database, as in production: PostgreSQL (DATABASE_URL, set by .ci/run). SQLite
// is one process's file; without DATABASE_URL this file has nothing to run against.
describeOnPostgres('the platform as replicas behind HAProxy', () => {
  const prefix = topicPrefix('replicas');
  const dataDir = mkdtempSync(path.join(tmpdir(), 'ig-replicas-'));
  const mailDir = path.join(dataDir, 'mail');
  const databaseName = randomName('replicas').replace('-', '_');
  let provider: DevProvider | undefined;
  let platform: PlatformProcesses | undefined;
  let publicUrl: string;
  let webhookSecret: string;
  const alice = testUser('alice');

  const admin = async (sql: string) => {
    const client = new PgClient({ connectionString: DATABASE_URL });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    await admin(`CREATE DATABASE ${databaseName}`);
    const databaseUrl = new URL(DATABASE_URL!);
    databaseUrl.pathname = `/${databaseName}`;
    mkdirSync(mailDir);
    const idp = await startTestIdp();
    ({ provider, publicUrl, webhookSecret } = idp);
    platform = await startPlatformProcesses({
      prefix,
      dataDir,
      signIn: idp,
      replicas: { gateway: 2, interviews: 2, notifications: 2 },
      env: {
        DATABASE_URL: databaseUrl.href,
        SIGN_IN_STORE: 'database',
        MAIL_DIR: mailDir,
        SUBSCRIPTION_QUEUE_LIMIT: '1000',
      },
    });
    const registered = await registerByWebhook(publicUrl, webhookSecret, {
      userId: alice.userId,
      email: alice.email!,
      firstName: 'Alice',
    });
    expect(registered.status).toBe(202);
  });

  afterAll(async () => {
    await platform?.stop();
    await provider?.stop();
    await deleteTopicsWithPrefix(prefix);
    if (DATABASE_URL) await admin(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`);
    rmSync(dataDir, { recursive: true, force: true });
  });

  const gql = <T = Record<string, unknown>>(
    query: string,
    variables: Record<string, unknown> = {},
  ) => graphql<T>(`${publicUrl}/graphql`, query, variables, alice);

  const mutate = async (field: string, id: string, extra = '') => {
    const response = await gql(`mutation ($id: ID!) { ${field}(id: $id${extra}) { status } }`, {
      id,
    });
    if (response.errors) throw new Error(`${field}: ${JSON.stringify(response.errors)}`);
  };

  async function createInterview(title: string, questions: number) {
    const created = await gql<{ createInterview: { id: string; questions: { id: string }[] } }>(
      `mutation ($input: CreateInterviewInput!) { createInterview(input: $input) { id questions { id } } }`,
      {
        input: {
          title,
          position: 'SRE',
          questions: Array.from({ length: questions }, (_, q) => `Question ${q + 1}`),
        },
      },
    );
    if (created.errors) throw new Error(JSON.stringify(created.errors));
    const { id, questions: asked } = created.data!.createInterview;
    return { id, questions: asked.map((q) => q.id) };
  }

  /**
   * Submits an answer. A connection the load balancer closed without an answer while a gateway
   * drains (a keep-alive connection reused just as it closed) is sent again once, as an HTTP
   * client does for a request it cannot know the fate of; a retry told the question was already
   * answered proves the first one landed. No answer is thereby lost or sent twice: the test then
   * checks every answer event is on the topic and at each subscriber exactly once.
   */
  const answer = async (interviewId: string, questionId: string) => {
    const submit = () =>
      gql(
        `mutation ($i: ID!, $q: ID!) { submitAnswer(interviewId: $i, questionId: $q, content: "an answer") { status } }`,
        { i: interviewId, q: questionId },
      );
    let answered: Awaited<ReturnType<typeof submit>>;
    try {
      answered = await submit();
    } catch (error) {
      // Node's fetch throws its own realm's TypeError, not the test's: its cause tells.
      const cause = (error as { cause?: { code?: string } }).cause;
      if (cause?.code !== 'UND_ERR_SOCKET') throw error;
      cutAndRetried++;
      answered = await submit();
      if (answered.errors?.every((e) => /already answered/.test(e.message))) return;
    }
    if (answered.errors) throw new Error(JSON.stringify(answered.errors));
  };
  let cutAndRetried = 0;

  it('keeps a session on both gateways and across their restarts; a logout on one ends it on both', async () => {
    // Through HAProxy: login, the IdP and the callback may each land on either gateway.
    const session = await signInAsDevUser(publicUrl, webhookSecret);
    const me = async (origin: string) =>
      postGraphQL<{ me: { email: string } | null }>(
        new URL('/graphql', origin).href,
        '{ me { email } }',
        {},
        { cookie: session },
      );
    const [first, second] = platform!.replicas.gateway;
    await waitFor(
      'the profile',
      async () => (await me(first!.baseUrl)).data?.me?.email === 'dev@example.com',
    );
    expect((await me(second!.baseUrl)).data?.me).toEqual({ email: 'dev@example.com' });

    // Both restarted: the session is in the database, not in either process.
    const restarted = [await first!.restart(), await second!.restart()];
    for (const gateway of restarted) {
      expect((await me(gateway.baseUrl)).data?.me).toEqual({ email: 'dev@example.com' });
    }

    // Logout on one; neither knows the session any more.
    const loggedOut = await fetch(new URL('/auth/logout', restarted[0]!.baseUrl), {
      method: 'POST',
      headers: { cookie: session },
    });
    expect(loggedOut.status).toBe(200);
    for (const gateway of restarted) {
      const after = await me(gateway.baseUrl);
      expect(after.status).toBe(401);
      expect(after.errors?.[0]?.message).toMatch(/signed out/);
    }
  });

  it('publishes each event of 1,000 mutations on two interviews replicas once, in order per interview; each email once', async () => {
    await waitFor(
      'alice',
      async () => (await gql<{ me: unknown }>('{ me { id } }')).data?.me != null,
    );
    const soon = new Date(Date.now() + 7 * 24 * 3600_000).toISOString();
    const expected = new Map<string, string[]>(); // interview -> event types, in order
    const questionsOf = new Map<string, string[]>();
    await Promise.all(
      Array.from({ length: INTERVIEWS }, async (_, i) => {
        const { id, questions } = await createInterview(`Replicas ${i}`, QUESTIONS);
        questionsOf.set(id, questions);
        await mutate('scheduleInterview', id, `, scheduledFor: "${soon}"`);
        await mutate('startInterview', id);
        for (const question of questions) await answer(id, question);
        await mutate('completeInterview', id);
        expected.set(id, [
          'interview.created',
          'interview.scheduled',
          'interview.started',
          ...questions.map(() => 'interview.answer_submitted'),
          'interview.completed',
        ]);
      }),
    );
    const mutations = [...expected.values()].reduce((sum, types) => sum + types.length, 0);
    expect(mutations).toBe(1_000);

    const ours = (m: KafkaMessage) => expected.has(String(eventOf(m).payload.interviewId));
    const messages = (
      await readTopic(
        `${prefix}interview-events`,
        (all) => all.filter(ours).length >= mutations,
        60_000,
      )
    ).filter(ours);
    const events = messages.map(eventOf);
    expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length);
    const seen = new Map<string, string[]>();
    for (const event of events) {
      const id = String(event.payload.interviewId);
      seen.set(id, [...(seen.get(id) ?? []), event.eventType]);
    }
    expect(seen).toEqual(expected);
    // Answers in the order they were given.
    const answered = events.filter((e) => e.eventType === 'interview.answer_submitted');
    for (const [id, questions] of questionsOf) {
      const order = answered
        .filter((e) => e.payload.interviewId === id)
        .map((e) => e.payload.questionId);
      expect(order).toEqual(questions);
    }

    // Emails: a welcome per user, and per interview one for its schedule and one for its end.
    await groupCaughtUp(prefix, 'notification-service-group', 'interview-events', 60_000);
    const emails = () => readdirSync(mailDir).filter((f) => f.endsWith('.eml'));
    await waitFor('every email', () => emails().length >= 2 + INTERVIEWS * 2, 60_000);
    // Delivery is asynchronous: give a duplicate the time to show up before counting.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(emails()).toHaveLength(2 + INTERVIEWS * 2);
  });

  it(`hands ${SUBSCRIBERS} subscribers of a gateway stopped with SIGTERM to the other, missing and repeating nothing`, async () => {
    const interviews = await Promise.all(
      Array.from({ length: 5 }, (_, i) => createInterview(`Drain ${i}`, 40)),
    );
    for (const { id } of interviews) await mutate('startInterview', id);
    const query = `subscription ($id: ID!) { interviewUpdated(id: $id) { status } }`;
    const subscribers = Array.from({ length: SUBSCRIBERS }, (_, i) => {
      const interview = interviews[i % interviews.length]!;
      return {
        interview,
        live: resumableSubscriber(`${publicUrl}/graphql`, alice, query, { id: interview.id }),
      };
    });
    const [first, second] = platform!.replicas.gateway;
    const live = async () =>
      (await metric(first!.baseUrl, 'gateway_subscriptions')) +
      (await metric(second!.baseUrl, 'gateway_subscriptions'));
    await waitFor(`${SUBSCRIBERS} subscribers`, async () => (await live()) >= SUBSCRIBERS);
    const onFirst = await metric(first!.baseUrl, 'gateway_subscriptions');
    expect(onFirst).toBeGreaterThan(0);
    expect(onFirst).toBeLessThan(SUBSCRIBERS);

    try {
      // Answers go on while the first gateway stops halfway through.
      let given = 0;
      let stopping: Promise<void> | undefined;
      await Promise.all(
        interviews.map(async ({ id, questions }) => {
          for (const question of questions) {
            await answer(id, question);
            if (++given === 100) stopping = first!.stop();
          }
        }),
      );
      await stopping;
      expect(first!.child.exitCode).toBe(0);
      // Cut connections are the odd race at the moment of the stop, not the rule.
      expect(cutAndRetried).toBeLessThan(10);

      // Every subscriber has every answer of its interview, once, in order.
      const answersOf = new Map<string, string[]>();
      const messages = await readTopic(`${prefix}interview-events`, (all) => {
        const drained = all
          .map(eventOf)
          .filter((e) => e.eventType === 'interview.answer_submitted')
          .filter((e) => interviews.some((i) => i.id === e.payload.interviewId));
        return drained.length >= interviews.length * 40;
      });
      // Events from before the subscriptions (an interview's creation and start, read from Kafka
      // by the gateway just after a subscriber began) may come first, and are left out. Every
      // answer, all published after the subscriptions began, must come exactly once, in order,
      // and nothing twice.
      const before = new Set<string>();
      for (const event of messages.map(eventOf)) {
        if (!interviews.some((i) => i.id === event.payload.interviewId)) continue;
        if (event.eventType !== 'interview.answer_submitted') {
          before.add(event.eventId);
          continue;
        }
        const id = String(event.payload.interviewId);
        // Publishing is at least once: a repeat on the topic is one event.
        if (!answersOf.get(id)?.includes(event.eventId))
          answersOf.set(id, [...(answersOf.get(id) ?? []), event.eventId]);
      }
      for (const { interview, live: subscriber } of subscribers) {
        const wanted = answersOf.get(interview.id)!;
        const answers = () =>
          subscriber.results
            .map((r) => String(r.extensions?.eventId))
            .filter((eventId) => !before.has(eventId));
        await waitFor(
          `subscriber of ${interview.id} to have ${wanted.length} answers`,
          () => answers().length >= wanted.length,
          60_000,
        );
        expect(answers()).toEqual(wanted);
        const all = subscriber.results.map((r) => r.extensions?.eventId);
        expect(new Set(all).size).toBe(all.length);
      }
      // The first gateway's subscribers were told to go elsewhere (1012), and did.
      const moved = subscribers.filter((s) => s.live.closes.includes(1012)).length;
      expect(moved).toBe(onFirst);
      expect(await metric(second!.baseUrl, 'gateway_subscriptions')).toBe(SUBSCRIBERS);
    } finally {
      await Promise.all(subscribers.map((s) => s.live.stop()));
    }
  });
});
