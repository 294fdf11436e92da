/**
 * The store on the real broker, with dead letters written by hand: two groups that gave up on
 * one event get one replay; an invalid message (no eventId) is listed and discarded; a
 * compacted resolution survives a new store.
 */
import { randomUUID } from 'node:crypto';
import {
  deleteTopicsWithPrefix,
  rawKafka,
  readTopic,
  testBrokers,
  topicPrefix,
} from '../../test/helpers';
import { readHeaders } from '../kafka/headers';
import { createDeadLetterStore, parseDeadLetterRef, type DeadLetterStore } from '.';

jest.setTimeout(60_000);

describe('the dead-letter store', () => {
  const prefix = topicPrefix('dlq-store');
  const eventId = randomUUID();
  let store: DeadLetterStore;

  const letter = (group: string, extra: Record<string, string> = {}) => ({
    key: 'user-1',
    value: JSON.stringify({ eventId, eventType: 'user.registered' }),
    headers: {
      'event-id': eventId,
      'event-type': 'user.registered',
      'dlq-reason': `handler failed: ${group} said no`,
      'dlq-original-topic': `${prefix}user-events`,
      'dlq-group-id': `${prefix}${group}`,
      'dlq-attempts': '4',
      'dlq-failed-at': new Date().toISOString(),
      ...extra,
    },
  });

  beforeAll(async () => {
    const kafka = rawKafka();
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: ['user-events', 'user-events.dlq', 'interview-events.dlq'].map((t) => ({
        topic: `${prefix}${t}`,
        numPartitions: 2,
      })),
    });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: `${prefix}user-events.dlq`,
      messages: [
        { ...letter('user-service-group', { 'dlq-replays': '1' }), partition: 0 },
        { ...letter('notification-service-group'), partition: 1 },
        {
          partition: 1,
          key: null,
          value: 'not json',
          headers: {
            'dlq-reason': 'invalid event: (root): not JSON',
            'dlq-original-topic': `${prefix}user-events`,
            'dlq-attempts': '0',
          },
        },
      ],
    });
    await producer.disconnect();
    store = createDeadLetterStore({ brokers: testBrokers(), topicPrefix: prefix });
  });
  afterAll(async () => {
    await store?.stop();
    await deleteTopicsWithPrefix(prefix);
  });

  it('lists what the topics hold, oldest first, invalid messages too', async () => {
    const all = await store.list();
    expect(all.map((r) => [r.groupId, r.eventId, r.attempts])).toEqual([
      [`${prefix}user-service-group`, eventId, 4],
      [`${prefix}notification-service-group`, eventId, 4],
      [null, null, 0],
    ]);
    expect(await store.list({ topics: ['interview-events'] })).toEqual([]);
    expect((await store.list({ reason: 'invalid' })).map((r) => r.id)).toEqual([
      `${prefix}user-events.dlq/1/1`,
    ]);
  });

  it('replays an event two groups gave up on once, counting from its own dlq-replays', async () => {
    const result = await store.replay({ ids: [parseDeadLetterRef(eventId)] });
    expect(result.done.map((d) => d.replays)).toEqual([2, 2]);
    const messages = await readTopic(`${prefix}user-events`, (m) => m.length >= 1);
    // Give a duplicate time to show up.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const again = await readTopic(`${prefix}user-events`, (m) => m.length >= messages.length);
    expect(again.map((m) => [m.key?.toString(), readHeaders(m.headers)['dlq-replays']])).toEqual([
      ['user-1', '2'],
    ]);
    expect(readHeaders(again[0]!.headers)).not.toHaveProperty('dlq-group-id');
    expect((await store.list()).map((r) => r.eventId)).toEqual([null]);
  });

  it('keeps resolutions for the next store, and discards the invalid message', async () => {
    const next = createDeadLetterStore({ brokers: testBrokers(), topicPrefix: prefix });
    try {
      expect((await next.list({ includeResolved: true })).map((r) => r.resolution?.action)).toEqual(
        ['replayed', 'replayed', undefined],
      );
      const discarded = await next.discard({ reason: 'not JSON' }, { dryRun: true });
      expect(discarded.done).toHaveLength(1);
      expect(await next.list()).toHaveLength(1);
      await next.discard({ reason: 'not JSON' });
      expect(await next.list()).toEqual([]);
    } finally {
      await next.stop();
    }
  });
});
