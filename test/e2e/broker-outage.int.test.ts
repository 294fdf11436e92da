/**
 * The transactional outbox under a real broker outage: with the broker stopped, mutations
 * still succeed; once it is back, each of their events is published exactly once and the read
 * model counts each once. A sign-in made during the outage succeeds, and its `user.authenticated`
 * goes out, once, when the broker is back (the gateway's outbox). The test runs a broker of its
 * own, so it can stop it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { loadConfig } from '../../config';
import { UserEventFactory } from '../../events';
import { startLocalKafka, type LocalKafka } from '../../scripts/kafka/local-kafka';
import type { Identity } from '../../contracts/identity';
import { eventOf, randomName, readTopic, testDatabases, waitFor } from '../helpers';
import { signInAtGateway, startTestIdp } from '../browser';
import { startTestPlatform, type TestPlatform } from '../platform';
import { graphql } from '../subgraph-helpers';

jest.setTimeout(240_000);

const N = 5;

describe.each(testDatabases())('a broker outage on $label', ({ config }) => {
  let broker: LocalKafka | undefined;
  let platform: TestPlatform | undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'ig-outage-kafka-'));

  const startBroker = (port: number) =>
    startLocalKafka({ ...loadConfig().localKafka, port, dataDir, heapMb: 384 });

  let idp: Awaited<ReturnType<typeof startTestIdp>> | undefined;
  const webhookSecret = randomBytes(24).toString('hex');

  afterAll(async () => {
    await platform?.stop();
    await idp?.provider.stop();
    await broker?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(`loses none of ${N} mutations or a sign-in made while the broker is down, and duplicates none`, async () => {
    broker = await startBroker(0);
    const port = Number(broker.brokers[0]?.split(':')[1]);
    const prefix = `${randomName('outage')}.`;
    idp = await startTestIdp();
    platform = await startTestPlatform({
      brokers: broker.brokers,
      database: config,
      topicPrefix: prefix,
      signIn: { ...idp, webhookSecret },
    });
    const alice: Identity = { userId: randomName('alice'), email: 'alice@example.com', roles: [] };
    const gql = <T = Record<string, unknown>>(
      query: string,
      variables: Record<string, unknown> = {},
    ) => graphql<T>(platform!.gatewayUrl, query, variables, alice);

    await platform.gatewayEvents.publishEvent(
      'user-events',
      UserEventFactory.createUserRegistered(alice.userId, 'alice@example.com'),
    );
    await waitFor(
      'the profile',
      async () => (await gql<{ me: unknown }>('{ me { email } }')).data?.me != null,
    );
    const questions = Array.from({ length: N }, (_, i) => `Question ${i + 1}`);
    const created = await gql<{ createInterview: { id: string; questions: { id: string }[] } }>(
      `mutation ($input: CreateInterviewInput!) { createInterview(input: $input) { id questions { id } } }`,
      { input: { title: 'Outage', position: 'SRE', questions } },
    );
    const interview = created.data!.createInterview;
    await gql(`mutation ($id: ID!) { startInterview(id: $id) { status } }`, { id: interview.id });
    const reported = `query ($id: ID!) { interview(id: $id) { report { status answers } } me { stats { answersSubmitted } } }`;
    type Reported = {
      interview: { report: { status: string; answers: number } | null };
      me: { stats: { answersSubmitted: number } };
    };
    await waitFor('the start to reach the read model', async () => {
      const r = await gql<Reported>(reported, { id: interview.id });
      return r.data?.interview.report?.status === 'in_progress';
    });

    await broker.stop();
    for (const question of interview.questions) {
      const answered = await gql(
        `mutation ($i: ID!, $q: ID!) { submitAnswer(interviewId: $i, questionId: $q, content: "an answer") { status } }`,
        { i: interview.id, q: question.id },
      );
      expect(answered.errors).toBeUndefined();
    }
    expect(await platform.subgraphs.interviews.relay.pending()).toBe(N);
    // A sign-in does not need the broker: its user.authenticated waits in the gateway's outbox.
    const { callback, session } = await signInAtGateway(idp.publicUrl, 'dev@example.com', 'dev');
    expect(callback.status).toBe(302);
    expect(session).toMatch(/^ig_session=/);

    broker = await startBroker(port);
    await waitFor(
      'the outbox to drain',
      async () => (await platform!.subgraphs.interviews.relay.pending()) === 0,
      120_000,
    );
    await waitFor(
      'the read model to count the answers',
      async () =>
        (await gql<Reported>(reported, { id: interview.id })).data?.interview.report?.answers === N,
      120_000,
    );

    // Exactly N answer events on the topic: read it to the end with a fresh group.
    const kafka = new Kafka({
      clientId: randomName('reader'),
      brokers: broker.brokers,
      logLevel: logLevel.NOTHING,
    });
    const consumer = kafka.consumer({ groupId: randomName('reader'), maxWaitTimeInMs: 100 });
    const messages: KafkaMessage[] = [];
    const admin = kafka.admin();
    await admin.connect();
    const topic = `${prefix}interview-events`;
    const ends = await admin.fetchTopicOffsets(topic);
    const total = ends.reduce((sum, p) => sum + Number(p.high), 0);
    await admin.disconnect();
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void messages.push(message) });
    try {
      await waitFor('the whole topic', () => messages.length >= total);
    } finally {
      await consumer.disconnect();
    }
    const answers = messages
      .map((m) => JSON.parse(m.value?.toString() ?? '{}') as { eventId: string; eventType: string })
      .filter((e) => e.eventType === 'interview.answer_submitted');
    expect(answers).toHaveLength(N);
    expect(new Set(answers.map((e) => e.eventId)).size).toBe(N);
    const stats = await gql<Reported>(reported, { id: interview.id });
    expect(stats.data?.me.stats.answersSubmitted).toBe(N);

    // The sign-in made during the outage: its event went out once the broker was back, once.
    const isSignIn = (m: KafkaMessage) => eventOf(m).eventType === 'user.authenticated';
    const userEvents = `${prefix}user-events`;
    await readTopic(userEvents, (all) => all.some(isSignIn), 60_000, broker.brokers);
    const offsets = kafka.admin();
    await offsets.connect();
    const written = (await offsets.fetchTopicOffsets(userEvents)).reduce(
      (sum, p) => sum + Number(p.high),
      0,
    );
    await offsets.disconnect();
    const everything = await readTopic(
      userEvents,
      (all) => all.length >= written,
      20_000,
      broker.brokers,
    );
    expect(everything.filter(isSignIn)).toHaveLength(1);
  });
});
