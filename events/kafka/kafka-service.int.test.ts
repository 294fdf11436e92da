/**
 * KafkaService against the real broker: every test has its own topic prefix and groups,
 * and closes every service and client it opens.
 */
import type { KafkaMessage } from 'kafkajs';
import { InvalidInputError } from '../../contracts/errors';
import {
  DEAD_LETTER_HEADERS,
  EVENT_HEADERS,
  EventValidationError,
  KafkaService,
  type KafkaServiceOptions,
  type EventOn,
  type Subscription,
  InterviewEventFactory,
  UserEventFactory,
  readHeaders,
} from '../index';
import {
  deleteTopicsWithPrefix,
  randomName,
  rawKafka,
  readTopic,
  testBrokers,
  waitFor,
} from '../../test/helpers';
import { RequestQueue } from './kafkajs-fixes';

jest.setTimeout(90_000);

type UserEvent = EventOn<'user-events'>;

let prefix: string;
const services: KafkaService[] = [];

async function startService(options: Partial<KafkaServiceOptions> = {}): Promise<KafkaService> {
  const service = new KafkaService('api-gateway', {
    brokers: testBrokers(),
    topicPrefix: prefix,
    topics: ['user-events', 'system-events'],
    handlerRetryMs: 10,
    ...options,
  });
  services.push(service);
  await service.start();
  return service;
}

beforeEach(() => {
  prefix = `${randomName('t')}.`;
});

afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.stop()));
  await deleteTopicsWithPrefix(prefix);
});

const json = (m: KafkaMessage) => JSON.parse(m.value?.toString() ?? 'null') as { eventId?: string };

/** A marker event: once a consumer has seen it, it has seen everything published before it. */
const marker = (userId = 'marker') =>
  UserEventFactory.createUserLoggedOut(userId, 'marker-session');

describe('KafkaService against a real broker', () => {
  it('round-trips each of the four user events with envelope, payload, key and headers unchanged', async () => {
    const kafka = await startService();
    const received: UserEvent[] = [];
    const headers: Record<string, string>[] = [];
    const keys: (string | null)[] = [];
    await kafka.subscribe('user-events', randomName('g'), async (event, ctx) => {
      received.push(event);
      headers.push(ctx.headers);
      keys.push(ctx.key);
    });

    const sent = [
      UserEventFactory.createUserAuthenticated('u-1', 'ada@example.com', 's-1', {
        authMethod: 'oauth2',
        ipAddress: '203.0.113.9',
        userAgent: 'jest',
      }),
      UserEventFactory.createUserRegistered('u-1', 'ada@example.com', {
        firstName: 'Ada',
        lastName: 'Lovelace',
        company: 'Engines',
      }),
      UserEventFactory.createUserLoggedOut('u-1', 's-1', 'timeout'),
      UserEventFactory.createUserProfileUpdated('u-1', ['company'], {
        previousValues: { company: 'Engines' },
        newValues: { company: null },
      }),
    ];
    for (const event of sent) await kafka.publishEvent('user-events', event);

    await waitFor('four events', () => received.length === 4);
    expect(received).toEqual(sent);
    expect(keys).toEqual(['u-1', 'u-1', 'u-1', 'u-1']);
    headers.forEach((h, i) =>
      expect(h).toMatchObject({
        [EVENT_HEADERS.eventId]: sent[i]?.eventId,
        [EVENT_HEADERS.eventType]: sent[i]?.eventType,
        [EVENT_HEADERS.version]: sent[i]?.version,
        [EVENT_HEADERS.source]: sent[i]?.source,
      }),
    );
  });

  it('delivers every event to each of two groups, and splits partitions within one group', async () => {
    const kafka = await startService();
    const groupA: string[] = [];
    const groupB: string[] = [];
    const memberOne: string[] = [];
    const memberTwo: string[] = [];
    const shared = randomName('shared');
    await kafka.subscribe('user-events', randomName('a'), async (e) => void groupA.push(e.eventId));
    await kafka.subscribe('user-events', randomName('b'), async (e) => void groupB.push(e.eventId));
    await kafka.subscribe('user-events', shared, async (e) => void memberOne.push(e.eventId));
    await kafka.subscribe('user-events', shared, async (e) => void memberTwo.push(e.eventId));

    // Distinct keys spread the events over all three partitions.
    const sent = Array.from({ length: 30 }, (_, i) =>
      UserEventFactory.createUserLoggedOut(`u-${i}`, 's'),
    );
    await Promise.all(sent.map((e) => kafka.publishEvent('user-events', e)));
    const ids = sent.map((e) => e.eventId).sort();

    await waitFor('both groups', () => groupA.length >= 30 && groupB.length >= 30);
    await waitFor('the shared group', () => memberOne.length + memberTwo.length >= 30);
    // Everything published after these markers' arrival would be a duplicate or a late event.
    const end = marker();
    await kafka.publishEvent('user-events', end);
    await waitFor('markers', () =>
      [groupA, groupB, [...memberOne, ...memberTwo]].every((seen) => seen.includes(end.eventId)),
    );
    const withoutMarker = (seen: string[]) => seen.filter((id) => id !== end.eventId).sort();

    expect(withoutMarker(groupA)).toEqual(ids);
    expect(withoutMarker(groupB)).toEqual(ids);
    expect(withoutMarker([...memberOne, ...memberTwo])).toEqual(ids);
    expect(memberOne.length).toBeGreaterThan(0);
    expect(memberTwo.length).toBeGreaterThan(0);
    expect(memberOne.filter((id) => memberTwo.includes(id))).toEqual([]);
  });

  it('reads several topics in one group with one consumer per member, each event once', async () => {
    const kafka = await startService({
      topics: ['user-events', 'interview-events', 'system-events'],
    });
    const seen: string[] = [];
    const group = randomName('multi');
    const handlers = {
      'user-events': async (e: UserEvent) => void seen.push(e.eventId),
      'interview-events': async (e: EventOn<'interview-events'>) => void seen.push(e.eventId),
    };
    // Two members of one group, both reading both topics: the group splits all six partitions.
    const first = await kafka.subscribeAll(group, handlers);
    const second = await kafka.subscribeAll(group, handlers);
    expect(first.topics).toEqual(['user-events', 'interview-events']);
    expect(second.ready()).toBe(true);

    const userEvents = Array.from({ length: 10 }, (_, i) =>
      UserEventFactory.createUserLoggedOut(`u-${i}`, 's'),
    );
    const interviewEvents = Array.from({ length: 10 }, (_, i) =>
      InterviewEventFactory.create('interview.started', {
        interviewId: `i-${i}`,
        candidateId: `u-${i}`,
        startedAt: new Date().toISOString(),
      }),
    );
    await Promise.all([
      ...userEvents.map((e) => kafka.publishEvent('user-events', e)),
      ...interviewEvents.map((e) => kafka.publishEvent('interview-events', e)),
    ]);
    const end = marker();
    await kafka.publishEvent('user-events', end);
    const expected = [...userEvents, ...interviewEvents].map((e) => e.eventId);
    await waitFor(
      'both topics',
      () => expected.every((id) => seen.includes(id)) && seen.includes(end.eventId),
    );
    expect(seen.filter((id) => id !== end.eventId).sort()).toEqual([...expected].sort());
  });

  it('keeps publish order for events with the same key', async () => {
    const kafka = await startService();
    const seen: string[] = [];
    await kafka.subscribe(
      'user-events',
      randomName('g'),
      async (event) => {
        if (event.eventType === 'user.profile_updated')
          seen.push(event.payload.updatedFields[0] ?? '');
      },
      { partitionsConsumedConcurrently: 3 },
    );
    const fields = Array.from({ length: 200 }, (_, i) => `field${i}`);
    // Published concurrently: the batcher must keep the call order on the wire.
    await Promise.all(
      fields.map((f) =>
        kafka.publishEvent(
          'user-events',
          UserEventFactory.createUserProfileUpdated('same-user', [f]),
        ),
      ),
    );
    await waitFor('all 200 updates', () => seen.length === 200);
    expect(seen).toEqual(fields);
  });

  it('dead-letters an invalid message with its reason and goes on with the next', async () => {
    const kafka = await startService();
    const handled: UserEvent[] = [];
    const groupId = randomName('g');
    await kafka.subscribe('user-events', groupId, async (e) => void handled.push(e));

    const producer = rawKafka().producer();
    await producer.connect();
    const bad = {
      ...UserEventFactory.createUserAuthenticated('u-7', 'u7@example.com', 's'),
    } as Record<string, unknown>;
    bad.payload = { ...(bad.payload as object), authMethod: 'password' };
    try {
      await producer.send({
        topic: kafka.topicName('user-events'),
        messages: [
          { key: 'u-7', value: JSON.stringify(bad), headers: { trace: 'abc' } },
          { key: 'u-7', value: '{not json' },
        ],
      });
    } finally {
      await producer.disconnect();
    }
    const next = UserEventFactory.createUserLoggedOut('u-7', 's');
    await kafka.publishEvent('user-events', next);

    await waitFor('the valid event after the invalid ones', () => handled.length === 1);
    expect(handled).toEqual([next]);

    const dead = await readTopic(kafka.deadLetterTopicName('user-events'), (m) => m.length >= 2);
    const [first, second] = dead.map((m) => readHeaders(m.headers));
    expect(first).toMatchObject({
      trace: 'abc',
      [DEAD_LETTER_HEADERS.reason]: expect.stringContaining('payload.authMethod'),
      [DEAD_LETTER_HEADERS.originalTopic]: kafka.topicName('user-events'),
      [DEAD_LETTER_HEADERS.groupId]: kafka.groupName(groupId),
      [DEAD_LETTER_HEADERS.attempts]: '0',
    });
    expect(first?.[DEAD_LETTER_HEADERS.originalPartition]).toMatch(/^\d+$/);
    expect(first?.[DEAD_LETTER_HEADERS.originalOffset]).toMatch(/^\d+$/);
    expect(second?.[DEAD_LETTER_HEADERS.reason]).toMatch(/not JSON/);
    expect(dead[0]?.value?.toString()).toBe(JSON.stringify(bad));
    expect(dead[0]?.key?.toString()).toBe('u-7');
  });

  it('retries a failing handler, then dead-letters the event, reports handler.failed, and moves on', async () => {
    const kafka = await startService({ handlerRetries: 2 });
    const poison = UserEventFactory.createUserLoggedOut('u-8', 'poison');
    const after = UserEventFactory.createUserLoggedOut('u-8', 'after');
    let attempts = 0;
    const handled: string[] = [];
    const groupId = randomName('g');
    await kafka.subscribe('user-events', groupId, async (event) => {
      if (event.eventId === poison.eventId) {
        attempts++;
        throw new Error('database is on fire');
      }
      handled.push(event.eventId);
    });
    await kafka.publishEvent('user-events', poison);
    await kafka.publishEvent('user-events', after);

    await waitFor('the event after the poison one', () => handled.includes(after.eventId));
    expect(attempts).toBe(3);
    expect(handled).toEqual([after.eventId]);

    const [dead] = await readTopic(kafka.deadLetterTopicName('user-events'), (m) => m.length >= 1);
    expect(json(dead as KafkaMessage).eventId).toBe(poison.eventId);
    expect(readHeaders(dead?.headers)).toMatchObject({
      [DEAD_LETTER_HEADERS.reason]: 'handler failed: database is on fire',
      [DEAD_LETTER_HEADERS.attempts]: '3',
    });

    const system = await readTopic(kafka.topicName('system-events'), (m) =>
      m.some((x) => x.value?.toString().includes('handler.failed')),
    );
    const failed = system.map(json).find((e) => JSON.stringify(e).includes('handler.failed'));
    expect(failed).toMatchObject({
      eventType: 'handler.failed',
      source: 'api-gateway',
      payload: {
        groupId: kafka.groupName(groupId),
        eventId: poison.eventId,
        eventType: 'user.logged_out',
        attempts: 3,
        error: 'handler failed: database is on fire',
        deadLetterTopic: kafka.deadLetterTopicName('user-events'),
      },
    });
  });

  it('dead-letters an event at once when its handler fails with a non-retriable error, and still retries a plain one', async () => {
    const kafka = await startService({ handlerRetries: 2 });
    // One key, so one partition: the three events reach the handler in this order.
    const refused = UserEventFactory.createUserLoggedOut('u-10', 'refused');
    const flaky = UserEventFactory.createUserLoggedOut('u-10', 'flaky');
    const after = UserEventFactory.createUserLoggedOut('u-10', 'after');
    const calls = new Map<string, number>();
    const groupId = randomName('g');
    await kafka.subscribe('user-events', groupId, async (event) => {
      calls.set(event.eventId, (calls.get(event.eventId) ?? 0) + 1);
      if (event.eventId === refused.eventId) {
        throw new InvalidInputError('payload.sessionId', 'names no session');
      }
      if (event.eventId === flaky.eventId) throw new Error('database is on fire');
    });
    for (const event of [refused, flaky, after]) await kafka.publishEvent('user-events', event);

    await waitFor('the event after the failing ones', () => calls.has(after.eventId));
    expect(calls.get(refused.eventId)).toBe(1);
    expect(calls.get(flaky.eventId)).toBe(3);

    const dead = await readTopic(kafka.deadLetterTopicName('user-events'), (m) => m.length >= 2);
    const headersOf = (eventId: string) =>
      readHeaders(dead.find((m) => json(m).eventId === eventId)?.headers);
    expect(headersOf(refused.eventId)).toMatchObject({
      [DEAD_LETTER_HEADERS.reason]: 'handler failed: payload.sessionId: names no session',
      [DEAD_LETTER_HEADERS.originalTopic]: kafka.topicName('user-events'),
      [DEAD_LETTER_HEADERS.groupId]: kafka.groupName(groupId),
      [DEAD_LETTER_HEADERS.service]: 'api-gateway',
      [DEAD_LETTER_HEADERS.attempts]: '1',
    });
    expect(headersOf(refused.eventId)[DEAD_LETTER_HEADERS.originalOffset]).toMatch(/^\d+$/);
    expect(headersOf(flaky.eventId)).toMatchObject({
      [DEAD_LETTER_HEADERS.reason]: 'handler failed: database is on fire',
      [DEAD_LETTER_HEADERS.attempts]: '3',
    });

    const system = await readTopic(
      kafka.topicName('system-events'),
      (m) => m.filter((x) => x.value?.toString().includes('handler.failed')).length >= 2,
    );
    const failed = system.map(json).filter((e) => JSON.stringify(e).includes('handler.failed'));
    expect(failed).toContainEqual(
      expect.objectContaining({
        eventType: 'handler.failed',
        payload: expect.objectContaining({ eventId: refused.eventId, attempts: 1 }),
      }),
    );
  });

  it('resumes after the last committed offset when a consumer is stopped and restarted', async () => {
    const kafka = await startService();
    const groupId = randomName('g');
    const handled: string[] = [];
    const record = async (event: UserEvent) => void handled.push(event.eventId);

    let subscription: Subscription = await kafka.subscribe('user-events', groupId, record);
    const firstFive = Array.from({ length: 5 }, (_, i) =>
      UserEventFactory.createUserLoggedOut(`u-${i}`, 'a'),
    );
    for (const e of firstFive) await kafka.publishEvent('user-events', e);
    await waitFor('the first five', () => handled.length === 5);
    await subscription.stop();

    const nextFive = Array.from({ length: 5 }, (_, i) =>
      UserEventFactory.createUserLoggedOut(`u-${i}`, 'b'),
    );
    for (const e of nextFive) await kafka.publishEvent('user-events', e);
    subscription = await kafka.subscribe('user-events', groupId, record);
    const end = marker();
    await kafka.publishEvent('user-events', end);
    await waitFor('the marker after the restart', () => handled.includes(end.eventId));

    const expected = [...firstFive, ...nextFive, end].map((e) => e.eventId).sort();
    expect([...handled].sort()).toEqual(expected);
    await subscription.stop();
  });

  it('refuses an invalid event with a typed error listing the fields, and sends nothing', async () => {
    const kafka = await startService();
    const valid = UserEventFactory.createUserAuthenticated('u-9', 'u9@example.com', 's');
    const invalid = {
      ...valid,
      payload: { ...valid.payload, email: 'nope', authMethod: 'password' },
    } as unknown as UserEvent;

    const attempt = kafka.publishEvent('user-events', invalid);
    await expect(attempt).rejects.toBeInstanceOf(EventValidationError);
    await expect(attempt).rejects.toMatchObject({
      issues: [
        { path: 'payload.email', message: 'must be an email address' },
        { path: 'payload.authMethod', message: expect.stringContaining('oauth2') },
      ],
    });
    // An event for another topic is refused as well.
    await expect(
      kafka.publishEvent('system-events', valid as unknown as EventOn<'system-events'>),
    ).rejects.toThrow('user.authenticated belongs on user-events, not system-events');

    const end = marker('u-9');
    await kafka.publishEvent('user-events', end);
    const onTopic = await readTopic(kafka.topicName('user-events'), (m) =>
      m.some((x) => json(x).eventId === end.eventId),
    );
    expect(onTopic.map((m) => json(m).eventId)).toEqual([end.eventId]);
  });

  it('announces service.started and service.stopped, and is ready only while started', async () => {
    const kafka = await startService();
    expect(kafka.ready()).toBe(true);
    const subscription = await kafka.subscribe(
      'user-events',
      randomName('g'),
      async () => undefined,
    );
    expect(kafka.ready()).toBe(true);
    await kafka.stop();
    expect(kafka.ready()).toBe(false);
    expect(subscription.ready()).toBe(false);
    await expect(kafka.publishEvent('user-events', marker())).rejects.toThrow(/cannot publish/);

    const system = await readTopic(kafka.topicName('system-events'), (m) => m.length >= 2);
    expect(system.map((m) => (json(m) as { eventType?: string }).eventType)).toEqual([
      'service.started',
      'service.stopped',
    ]);
  });

  it('leaves an idle connection idle: no request-queue check loop (kafkajs-fixes.ts)', async () => {
    const service = await startService();
    await service.publishEvent('user-events', marker());
    const check = RequestQueue.prototype.checkPendingRequests;
    let checks = 0;
    RequestQueue.prototype.checkPendingRequests = function (this: typeof RequestQueue.prototype) {
      checks++;
      check.call(this);
    };
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    } finally {
      RequestQueue.prototype.checkPendingRequests = check;
    }
    // Unfixed, every connection that has had a response checks about every millisecond (~1,000
    // here); fixed, only responses (a metadata refresh, say) run a check.
    expect(checks).toBeLessThan(20);
  });
});
