/**
 * The design's metrics in every process (issue 14): the platform in this process (three
 * subgraphs and the gateway) plus the notification service, a few interview flows, then each
 * process's `GET /metrics` read back: produced and consumed counts, handler durations per event
 * type, partitions per group, consumer state, dead letters of a poison message, the gateway's
 * request figures, and consumer lag rising while a group is paused and draining when resumed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import type { Topic } from '../../events';
import { NOTIFICATIONS_GROUP } from '../../notifications/consumers';
import {
  createNotificationService,
  type NotificationService,
  type RunningNotificationService,
} from '../../notifications/service';
import {
  randomDatabaseName,
  rawKafka,
  testBrokers,
  testDatabases,
  testUser,
  waitFor,
} from '../helpers';
import { createInterview, gatewayCaller, startTestPlatform, type TestPlatform } from '../platform';
import { dropSchema } from '../subgraph-helpers';

jest.setTimeout(120_000);

/** One sample of the text format: name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The sum of the samples of `name` whose labels include `labels` (0 when there are none). */
function sum(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((total, s) => total + s.value, 0);
}

async function scrape(base: string): Promise<Sample[]> {
  const response = await fetch(new URL('/metrics', base));
  expect(response.status).toBe(200);
  return parseMetrics(await response.text());
}

/** What each service's groups read (the design's groups), per process. */
const PROCESS_GROUPS = {
  users: { 'user-service-group': ['user-events', 'interview-events'] },
  interviews: { 'interview-service-group': ['user-events'] },
  reporting: {
    'reporting-service-group': ['interview-events'],
    'audit-service-group': ['user-events', 'interview-events', 'system-events'],
  },
  notifications: { 'notification-service-group': ['user-events', 'interview-events'] },
} as const satisfies Record<string, Record<string, readonly Topic[]>>;

describe('metrics in every process', () => {
  const database = testDatabases()[0]!.config;
  const notificationsDatabase = randomDatabaseName('notifications');
  const mailDir = mkdtempSync(path.join(tmpdir(), 'ig-metrics-'));
  const alice = testUser('alice');
  let platform: TestPlatform;
  let notifications: NotificationService | undefined;
  let running: RunningNotificationService;
  const gql = gatewayCaller(() => platform.gatewayUrl, alice);
  /** The /metrics base of each process. */
  let bases: Record<keyof typeof PROCESS_GROUPS | 'gateway', string>;
  /** Messages in a topic: the sum of its partitions' high watermarks (nothing is deleted). */
  const messagesIn = async (topic: Topic) =>
    (await platform.gatewayEvents.topicOffsets(topic)).reduce((n, p) => n + p.high, 0);

  beforeAll(async () => {
    platform = await startTestPlatform({ database });
    notifications = createNotificationService({
      host: '127.0.0.1',
      port: 0,
      database,
      databaseName: notificationsDatabase,
      kafka: {
        brokers: testBrokers(),
        topicPrefix: platform.topicPrefix,
        topicPartitions: 3,
        replicationFactor: 1,
        minInsyncReplicas: 1,
        handlerRetries: 1,
        handlerRetryMs: 50,
      },
      mail: { smtpUrl: undefined, from: 'Interview Graph <no-reply@test>', dir: mailDir },
    });
    running = await notifications.start();
    bases = {
      gateway: platform.gatewayUrl,
      users: platform.subgraphs.users.url,
      interviews: platform.subgraphs.interviews.url,
      reporting: platform.subgraphs.reporting.url,
      notifications: running.url,
    };
  });

  afterAll(async () => {
    await notifications?.stop();
    if (database.url) await dropSchema(database.url, notificationsDatabase);
    await platform?.stop();
    rmSync(mailDir, { recursive: true, force: true });
  });

  /** Waits until every group of every process has consumed every message of its topics. */
  const allConsumed = () =>
    waitFor('every group to consume every message', async () => {
      for (const [process, groups] of Object.entries(PROCESS_GROUPS)) {
        const samples = await scrape(bases[process as keyof typeof PROCESS_GROUPS]);
        for (const [group, topics] of Object.entries(groups)) {
          for (const topic of topics) {
            const consumed = sum(samples, 'kafka_messages_consumed_total', { topic, group });
            if (consumed !== (await messagesIn(topic))) return false;
            if (sum(samples, 'kafka_consumer_lag', { topic, group }) !== 0) return false;
          }
        }
      }
      return true;
    });

  it('counts what the flows produced, consumed and handled, in each process', async () => {
    await platform.register(alice, { firstName: 'Alice' });
    await waitFor('the profile', async () => {
      const me = await gql<{ me: { email: string } | null }>('{ me { email } }');
      return me.data?.me?.email !== undefined;
    });
    const act = (mutation: string, id: string) =>
      gql(`mutation ($id: ID!) { ${mutation}(id: $id) { status } }`, { id });
    // Two interviews: created, started, 2 answers, completed; and created, started, cancelled.
    const first = await createInterview(gql, {
      title: 'Backend screen',
      position: 'Engineer',
      questions: ['One?', 'Two?'],
    });
    expect((await act('startInterview', first.id)).errors).toBeUndefined();
    for (const question of first.questions) {
      const answered = await gql(
        `mutation ($i: ID!, $q: ID!, $c: String!) { submitAnswer(interviewId: $i, questionId: $q, content: $c) { status } }`,
        { i: first.id, q: question, c: 'an answer' },
      );
      expect(answered.errors).toBeUndefined();
    }
    expect((await act('completeInterview', first.id)).errors).toBeUndefined();
    const second = await createInterview(gql, {
      title: 'Frontend screen',
      position: 'Engineer',
      questions: ['Three?'],
    });
    expect((await act('startInterview', second.id)).errors).toBeUndefined();
    expect((await act('cancelInterview', second.id)).errors).toBeUndefined();
    // An unknown interview: an error answer, and no event.
    expect((await act('startInterview', 'no-such-interview')).errors).toBeDefined();
    const published: Record<string, number> = {
      'interview.created': 2,
      'interview.started': 2,
      'interview.answer_submitted': 2,
      'interview.completed': 1,
      'interview.cancelled': 1,
    };
    const interviewEvents = Object.values(published).reduce((a, b) => a + b, 0);

    // Producers: the interviews subgraph's outbox published the mutations' events; the
    // gateway's Kafka service published the registration.
    await waitFor('the outbox to publish', async () => {
      const samples = await scrape(bases.interviews);
      return (
        sum(samples, 'kafka_messages_produced_total', { topic: 'interview-events' }) ===
        interviewEvents
      );
    });
    expect(await messagesIn('interview-events')).toBe(interviewEvents);
    const gateway = await scrape(bases.gateway);
    expect(sum(gateway, 'kafka_messages_produced_total', { topic: 'user-events' })).toBe(1);

    await allConsumed();
    for (const [process, groups] of Object.entries(PROCESS_GROUPS)) {
      const samples = await scrape(bases[process as keyof typeof PROCESS_GROUPS]);
      for (const [group, topics] of Object.entries(groups)) {
        for (const topic of topics) {
          // One member per group: it holds all 3 partitions of each topic.
          expect({
            process,
            group,
            topic,
            assigned: sum(samples, 'kafka_consumer_assigned_partitions', { topic, group }),
          }).toEqual({ process, group, topic, assigned: 3 });
        }
        expect(sum(samples, 'kafka_consumer_state', { group, state: 'connected' })).toBe(1);
        expect(sum(samples, 'kafka_consumer_state', { group })).toBe(1);
        if ((topics as readonly Topic[]).includes('interview-events')) {
          for (const [eventType, count] of Object.entries(published)) {
            expect({
              group,
              eventType,
              handled: sum(samples, 'kafka_handler_duration_seconds_count', {
                topic: 'interview-events',
                group,
                event_type: eventType,
              }),
            }).toEqual({ group, eventType, handled: count });
          }
          expect(sum(samples, 'kafka_handler_failures_total', { group })).toBe(0);
        }
      }
    }

    // The gateway: 8 mutations answered, one with an error; the queries; subgraph calls timed.
    const after = await scrape(bases.gateway);
    const requests = (operation_type: string, outcome: string) =>
      sum(after, 'gateway_graphql_requests_total', { operation_type, outcome });
    expect(requests('mutation', 'ok')).toBe(8);
    expect(requests('mutation', 'error')).toBe(1);
    expect(requests('query', 'ok')).toBeGreaterThanOrEqual(1);
    expect(
      sum(after, 'gateway_graphql_request_duration_seconds_count', { operation_type: 'mutation' }),
    ).toBe(9);
    expect(
      sum(after, 'gateway_subgraph_request_duration_seconds_count', { subgraph: 'interviews' }),
    ).toBeGreaterThanOrEqual(9);
    expect(sum(after, 'gateway_subgraph_request_errors_total')).toBe(0);
    expect(sum(after, 'gateway_subscriptions')).toBe(0);
    expect(after.some((s) => s.name === 'gateway_subscription_results_dropped_total')).toBe(true);
  });

  it('counts a live subscription (over SSE) as a subscription request', async () => {
    const { id } = await createInterview(gql, {
      title: 'Live',
      position: 'Engineer',
      questions: ['Four?'],
    });
    // Its own connections, destroyed at the end: the gateway's stop would wait out an aborted one.
    const agent = new Agent();
    const abort = new AbortController();
    try {
      const response = await undiciFetch(new URL('/graphql/stream', platform.gatewayUrl), {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'text/event-stream',
          'x-identity': JSON.stringify(alice),
        },
        body: JSON.stringify({
          query: 'subscription ($id: ID!) { interviewUpdated(id: $id) { id status } }',
          variables: { id },
        }),
        signal: abort.signal,
        dispatcher: agent,
      });
      expect(response.status).toBe(200);
      await waitFor('the subscriber', async () => {
        const samples = await scrape(bases.gateway);
        return sum(samples, 'gateway_subscriptions') === 1;
      });
      const samples = await scrape(bases.gateway);
      expect(
        sum(samples, 'gateway_graphql_requests_total', { operation_type: 'subscription' }),
      ).toBe(1);
      expect(
        sum(samples, 'gateway_graphql_requests_total', {
          operation_type: 'subscription',
          outcome: 'ok',
        }),
      ).toBe(1);
    } finally {
      abort.abort();
      await agent.destroy();
    }
    await allConsumed();
  });

  it('counts a poison message as dead-lettered, invalid, in every group that reads it', async () => {
    const kafka = rawKafka();
    const producer = kafka.producer();
    await producer.connect();
    try {
      await producer.send({
        topic: `${platform.topicPrefix}interview-events`,
        messages: [{ key: 'poison', value: Buffer.from([0xff, 0x00, 0x13]) }],
      });
    } finally {
      await producer.disconnect();
    }
    for (const [process, groups] of Object.entries(PROCESS_GROUPS)) {
      for (const [group, topics] of Object.entries(groups)) {
        if (!(topics as readonly Topic[]).includes('interview-events')) continue;
        await waitFor(`${group} to dead-letter the poison message`, async () => {
          const samples = await scrape(bases[process as keyof typeof PROCESS_GROUPS]);
          return (
            sum(samples, 'kafka_messages_dead_lettered_total', {
              topic: 'interview-events',
              group,
              reason: 'invalid',
            }) === 1
          );
        });
      }
    }
    await allConsumed();
  });

  it('shows the lag of a paused group rise to what was published, and drain once resumed', async () => {
    const lag = async () =>
      sum(await scrape(bases.notifications), 'kafka_consumer_lag', { group: NOTIFICATIONS_GROUP });
    await allConsumed();
    expect(await lag()).toBe(0);
    expect(running.kafka.pause(NOTIFICATIONS_GROUP)).toBe(1);
    // A fetch in flight (at most maxWaitTimeInMs) may still deliver what it holds.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const published = 5;
    for (let i = 0; i < published; i++) await platform.register(testUser(`lag${i}`));
    await waitFor('the lag to reach what was published', async () => (await lag()) === published);
    // The other groups went on meanwhile.
    await waitFor('the users group to go on', async () => {
      const users = await scrape(bases.users);
      return sum(users, 'kafka_consumer_lag', { group: 'user-service-group' }) === 0;
    });
    expect(running.kafka.resume(NOTIFICATIONS_GROUP)).toBe(1);
    await waitFor('the lag to drain', async () => (await lag()) === 0);
    const samples = await scrape(bases.notifications);
    expect(
      sum(samples, 'kafka_consumer_state', { group: NOTIFICATIONS_GROUP, state: 'connected' }),
    ).toBe(1);
    expect(sum(samples, 'kafka_metrics_errors_total')).toBe(0);
  });
});
