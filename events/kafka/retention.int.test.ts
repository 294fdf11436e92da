/**
 * Retention of the topics the platform creates, on the real broker: domain topics are kept
 * forever (so `npm run rebuild` can replay them from the beginning), dead-letter topics keep the
 * broker's retention; an existing domain topic with the default retention is altered, one whose
 * retention was set on the topic is left alone.
 */
import { ConfigResourceTypes, type Admin } from 'kafkajs';
import { KafkaService } from '../index';
import { deleteTopicsWithPrefix, randomName, rawKafka, testBrokers } from '../../test/helpers';

jest.setTimeout(60_000);

let prefix: string;
let admin: Admin;

beforeEach(async () => {
  prefix = `${randomName('retention')}.`;
  admin = rawKafka().admin();
  await admin.connect();
});

afterEach(async () => {
  await admin.disconnect();
  await deleteTopicsWithPrefix(prefix);
});

/** The topic-level settings of `name`: value and whether it was set on the topic. */
async function settings(name: string): Promise<Map<string, { value: string; onTopic: boolean }>> {
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name }],
  });
  return new Map(
    (resources[0]?.configEntries ?? []).map((e) => [
      e.configName,
      { value: e.configValue, onTopic: !e.isDefault },
    ]),
  );
}

async function startService(): Promise<KafkaService> {
  const service = new KafkaService('reporting-service', {
    brokers: testBrokers(),
    topicPrefix: prefix,
    topics: ['user-events', 'interview-events'],
    announce: false,
  });
  await service.start();
  return service;
}

it('creates domain topics with retention.ms=-1 and dead-letter topics with the default', async () => {
  const service = await startService();
  try {
    for (const topic of ['user-events', 'interview-events']) {
      const domain = await settings(`${prefix}${topic}`);
      expect(domain.get('retention.ms')).toEqual({ value: '-1', onTopic: true });
      expect(domain.get('min.insync.replicas')?.onTopic).toBe(true);
      const dlq = await settings(`${prefix}${topic}.dlq`);
      expect(dlq.get('retention.ms')?.value).not.toBe('-1');
      expect(dlq.get('retention.ms')?.onTopic).toBe(false);
    }
  } finally {
    await service.stop();
  }
});

it('keeps existing domain topics forever unless their retention was set on the topic', async () => {
  // As an older platform left them: no retention of their own; or one an operator chose.
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      {
        topic: `${prefix}user-events`,
        numPartitions: 1,
        configEntries: [{ name: 'max.message.bytes', value: '2000000' }],
      },
      {
        topic: `${prefix}interview-events`,
        numPartitions: 1,
        configEntries: [{ name: 'retention.ms', value: '86400000' }],
      },
    ],
  });
  const service = await startService();
  try {
    const users = await settings(`${prefix}user-events`);
    expect(users.get('retention.ms')).toEqual({ value: '-1', onTopic: true });
    // The settings already on the topic survive the (non-incremental) alteration.
    expect(users.get('max.message.bytes')).toEqual({ value: '2000000', onTopic: true });
    const interviews = await settings(`${prefix}interview-events`);
    expect(interviews.get('retention.ms')).toEqual({ value: '86400000', onTopic: true });
  } finally {
    await service.stop();
  }
});
