/**
 * The platform on a three-broker KRaft cluster of its own (`npm run kafka -- --brokers 3`), and
 * one broker killed (SIGKILL) while 1,000 mutations run: every acknowledged mutation's event is on
 * its topic exactly once, the consumers (the read model) go on and count each once, and live
 * subscribers on two gateways (this process's and a separate one) get every event once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'graphql-ws';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { loadConfig } from '../../config';
import { UserEventFactory } from '../../events';
import { fetchTopicMetadata } from '../../events/kafka/admin';
import { startLocalKafkaCluster, type LocalKafkaCluster } from '../../scripts/kafka/local-cluster';
import type { Identity } from '../../contracts/identity';
import { eventOf, randomName, readTopic, testDatabases, waitFor } from '../helpers';
import { asIdentity, liveClient, recordings, subscribersAtLeast } from '../live';
import { startTestPlatform, type TestPlatform } from '../platform';
import { spawnGatewayProcess } from '../processes';
import { graphql } from '../subgraph-helpers';

jest.setTimeout(600_000);

const INTERVIEWS = 20;
const QUESTIONS = 50; // the most an interview may have: 20 x 50 = 1,000 answers
const ANSWERS = INTERVIEWS * QUESTIONS;
/** The broker dies once this many answers are acknowledged. */
const KILL_AFTER = 300;

type InterviewEvent = { myInterviewEvents: { eventId: string; eventType: string } };

describe('the platform on a three-broker Kafka cluster', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ig-cluster-'));
  const prefix = `${randomName('cluster')}.`;
  const alice: Identity = { userId: randomName('alice'), email: 'alice@example.com', roles: [] };
  const clients: Client[] = [];
  const { subscribe, disposeAll } = recordings();
  let cluster: LocalKafkaCluster | undefined;
  let platform: TestPlatform | undefined;
  let second: { url: string; stop(): Promise<void> } | undefined;

  const gql = <T = Record<string, unknown>>(
    query: string,
    variables: Record<string, unknown> = {},
  ) => graphql<T>(platform!.gatewayUrl, query, variables, alice);

  beforeAll(async () => {
    cluster = await startLocalKafkaCluster({
      ...loadConfig().localKafka,
      nodes: 3,
      port: 0,
      dataDir: join(dir, 'kafka'),
      heapMb: 256,
    });
    platform = await startTestPlatform({
      brokers: cluster.brokers,
      database: testDatabases()[0]!.config,
      topicPrefix: prefix,
      subscriptions: { queueLimit: 5_000 },
    });
    second = await spawnGatewayProcess(platform.supergraphSdl, prefix, dir, {
      KAFKA_BROKERS: cluster.brokers.join(','),
      SUBSCRIPTION_QUEUE_LIMIT: '5000',
    });
  });

  afterAll(async () => {
    disposeAll();
    await Promise.all(clients.map((c) => c.dispose()));
    await second?.stop();
    await platform?.stop();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the topics with three replicas, of which two must have every write', async () => {
    const kafka = new Kafka({ brokers: cluster!.brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const topic = `${prefix}interview-events`;
      // On a loaded machine, a broker of the new cluster may learn of the topics a while late.
      const metadata = await fetchTopicMetadata(admin, topic, 60_000);
      expect(metadata!.partitions).toHaveLength(3);
      for (const partition of metadata!.partitions) {
        expect(new Set(partition.replicas)).toEqual(new Set([1, 2, 3]));
      }
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: 2 /* TOPIC */, name: topic, configNames: ['min.insync.replicas'] }],
      });
      expect(resources[0]!.configEntries[0]).toMatchObject({
        configName: 'min.insync.replicas',
        configValue: '2',
      });
    } finally {
      await admin.disconnect();
    }
  });

  it(`loses and repeats nothing when a broker is killed during ${ANSWERS} mutations`, async () => {
    await platform!.gatewayEvents.publishEvent(
      'user-events',
      UserEventFactory.createUserRegistered(alice.userId, 'alice@example.com'),
    );
    await waitFor(
      'the profile',
      async () => (await gql<{ me: unknown }>('{ me { email } }')).data?.me != null,
    );
    const query = `subscription { myInterviewEvents { eventId eventType } }`;
    const watchers = [platform!.gatewayUrl, second!.url].map((url) => {
      const { client } = liveClient(url, asIdentity(alice));
      clients.push(client);
      return subscribe<InterviewEvent>(client, { query });
    });
    await subscribersAtLeast(platform!.gatewayUrl, 1);
    await subscribersAtLeast(second!.url, 1);

    const interviews: { id: string; questions: string[] }[] = [];
    for (let i = 0; i < INTERVIEWS; i++) {
      const created = await gql<{ createInterview: { id: string; questions: { id: string }[] } }>(
        `mutation ($input: CreateInterviewInput!) { createInterview(input: $input) { id questions { id } } }`,
        {
          input: {
            title: `Cluster ${i}`,
            position: 'SRE',
            questions: Array.from({ length: QUESTIONS }, (_, q) => `Question ${q + 1}`),
          },
        },
      );
      expect(created.errors).toBeUndefined();
      const { id, questions } = created.data!.createInterview;
      const started = await gql(`mutation ($id: ID!) { startInterview(id: $id) { status } }`, {
        id,
      });
      expect(started.errors).toBeUndefined();
      interviews.push({ id, questions: questions.map((q) => q.id) });
    }

    // Kill the node leading the first partition of interview-events, once enough answers are in.
    const kafka = new Kafka({ brokers: cluster!.brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const metadata = await fetchTopicMetadata(admin, `${prefix}interview-events`, 60_000).finally(
      () => admin.disconnect(),
    );
    const victim = cluster!.nodes[metadata!.partitions[0]!.leader - 1]!;
    let acknowledged = 0;
    let killed = false;
    const failures: string[] = [];
    await Promise.all(
      interviews.map(async ({ id, questions }) => {
        for (const question of questions) {
          const answered = await gql(
            `mutation ($i: ID!, $q: ID!) { submitAnswer(interviewId: $i, questionId: $q, content: "an answer") { status } }`,
            { i: id, q: question },
          );
          if (answered.errors) failures.push(JSON.stringify(answered.errors));
          else acknowledged++;
          if (acknowledged >= KILL_AFTER && !killed) {
            killed = true;
            process.kill(victim.pid, 'SIGKILL');
          }
        }
      }),
    );
    expect(killed).toBe(true);
    expect(failures).toEqual([]);
    expect(acknowledged).toBe(ANSWERS);
    await victim.exited;

    // On the topic: every answer exactly once (the idempotent producer and the outbox together).
    const isAnswer = (m: KafkaMessage) => eventOf(m).eventType === 'interview.answer_submitted';
    const messages = await readTopic(
      `${prefix}interview-events`,
      (all) => all.filter(isAnswer).length >= ANSWERS,
      120_000,
      cluster!.brokers,
    );
    const answers = messages.filter(isAnswer).map((m) => eventOf(m).eventId);
    expect(answers).toHaveLength(ANSWERS);
    expect(new Set(answers).size).toBe(ANSWERS);

    // The read model's consumers went on, and counted each answer once.
    await waitFor(
      'the read model to count every answer',
      async () => {
        const stats = await gql<{ me: { stats: { answersSubmitted: number } } }>(
          '{ me { stats { answersSubmitted } } }',
        );
        return stats.data?.me.stats.answersSubmitted === ANSWERS;
      },
      120_000,
    );

    // Both gateways' subscribers: every event of alice's interviews, once each.
    const expected = INTERVIEWS * 2 + ANSWERS; // created, started, and the answers
    for (const watcher of watchers) {
      await watcher.received(expected, 120_000);
      const ids = watcher.results.map((r) => r.data!.myInterviewEvents.eventId);
      expect(new Set(ids).size).toBe(ids.length);
      const delivered = new Set(ids);
      expect(answers.filter((id) => !delivered.has(id))).toEqual([]);
    }
  });
});
