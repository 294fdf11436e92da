/**
 * The schema registry with the real broker and the embedded registry: producing registers each
 * schema once and stamps every message with its id; a consumer whose catalog lacks a version
 * validates it through the registry. Random topics and groups; everything opened is closed.
 */
import { randomUUID } from 'node:crypto';
import type { KafkaMessage, Producer } from 'kafkajs';
import {
  DEAD_LETTER_HEADERS,
  EVENT_HEADERS,
  KafkaService,
  UserEventFactory,
  readHeaders,
  type EventOn,
} from '../index';
import {
  deleteTopicsWithPrefix,
  randomName,
  rawKafka,
  readTopic,
  testKafka,
  topicPrefix,
  waitFor,
} from '../../test/helpers';
import { subjectOf } from '../schemas/json-schema';
import { createSchemaRegistry, SchemaRegistryError, type SchemaRegistry } from './client';
import { startEmbeddedRegistry, type EmbeddedRegistry } from './embedded';
import type { RegistryValidatedEvent } from './unknown-version';

jest.setTimeout(90_000);

let prefix: string;
let registry: EmbeddedRegistry;
const services: KafkaService[] = [];
let producer: Producer | undefined;

beforeEach(async () => {
  prefix = topicPrefix('reg');
  registry = await startEmbeddedRegistry();
});

afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.stop()));
  await producer?.disconnect();
  producer = undefined;
  await registry.stop();
  await deleteTopicsWithPrefix(prefix);
});

async function started(service: KafkaService): Promise<KafkaService> {
  services.push(service);
  await service.start();
  return service;
}

/** A client of the embedded registry whose POSTs are counted by path. */
function countingClient(): { client: SchemaRegistry; posts: string[] } {
  const posts: string[] = [];
  const client = createSchemaRegistry({
    url: registry.url,
    fetch: (input, init) => {
      if (init?.method === 'POST') posts.push(decodeURIComponent(String(input)));
      return fetch(input, init);
    },
  });
  return { client, posts };
}

async function registryGet(path: string): Promise<unknown> {
  return (await fetch(`${registry.url}${path}`)).json();
}

it('registers each produced schema once, and every message carries its id', async () => {
  const { client, posts } = countingClient();
  const kafka = await started(
    testKafka('api-gateway', prefix, { topics: ['user-events'], schemaRegistry: client }),
  );
  const registered = [1, 2, 3].map((i) =>
    UserEventFactory.createUserRegistered(`u-${i}`, `u${i}@example.com`),
  );
  const loggedOut = UserEventFactory.createUserLoggedOut('u-1', 's-1');
  // Concurrent first uses of one schema: one registration.
  await Promise.all(registered.map((e) => kafka.publishEvent('user-events', e)));
  await kafka.publishEvent('user-events', loggedOut);
  // The relay's path (an outbox row) is stamped too.
  const row = UserEventFactory.createUserLoggedOut('u-2', 's-2');
  await kafka.publishSerialized('user-events', {
    key: 'u-2',
    value: JSON.stringify(row),
    eventId: row.eventId,
    eventType: row.eventType,
    version: row.version,
    source: row.source,
  });

  const registeredSubject = subjectOf('user.registered', registered[0]!.version);
  const loggedOutSubject = subjectOf('user.logged_out', loggedOut.version);
  expect(posts.sort()).toEqual(
    [
      `${registry.url}/subjects/${registeredSubject}/versions`,
      `${registry.url}/subjects/${loggedOutSubject}/versions`,
    ].sort(),
  );
  expect(await registryGet(`/subjects/${registeredSubject}/versions`)).toEqual([1]);
  expect(await registryGet(`/subjects/${loggedOutSubject}/versions`)).toEqual([1]);
  const idOf = async (subject: string) =>
    ((await registryGet(`/subjects/${subject}/versions/latest`)) as { id: number }).id;
  const expected = new Map([
    ['user.registered', String(await idOf(registeredSubject))],
    ['user.logged_out', String(await idOf(loggedOutSubject))],
  ]);
  expect(new Set(expected.values()).size).toBe(2);

  const messages = await readTopic(kafka.topicName('user-events'), (m) => m.length >= 5);
  expect(messages).toHaveLength(5);
  for (const message of messages) {
    const headers = readHeaders(message.headers);
    expect(headers[EVENT_HEADERS.schemaId]).toBe(
      expected.get(headers[EVENT_HEADERS.eventType] ?? ''),
    );
  }
});

it('fails a publish, sending nothing, while the registry is down', async () => {
  const client = createSchemaRegistry({ url: registry.url });
  await registry.stop();
  const kafka = await started(
    testKafka('api-gateway', prefix, { topics: ['user-events'], schemaRegistry: client }),
  );
  const event = UserEventFactory.createUserLoggedOut('u-1', 's-1');
  const error = await kafka.publishEvent('user-events', event).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(SchemaRegistryError);
  expect(error).toMatchObject({ retriable: true });
  expect((error as Error).message).toMatch(/is unreachable/);
  const offsets = await kafka.topicOffsets('user-events');
  expect(offsets.every((p) => p.high === 0)).toBe(true);
});

it('validates a version the catalog lacks through the registry', async () => {
  const client = createSchemaRegistry({ url: registry.url });
  // A newer producer's user.registered 9.0, registered under its subject.
  const schemaId = await client.register('user-events-user.registered-9.0', {
    type: 'object',
    properties: {
      userId: { type: 'string', minLength: 1 },
      email: { type: 'string', format: 'email' },
      nickname: { type: 'string' },
    },
    required: ['userId', 'email'],
    additionalProperties: false,
  });
  const kafka = await started(
    testKafka('user-service', prefix, {
      topics: ['user-events'],
      schemaRegistry: client,
      handlerRetryMs: 10,
    }),
  );
  const typed: EventOn<'user-events'>[] = [];
  const unknown: RegistryValidatedEvent[] = [];
  await kafka.subscribe('user-events', randomName('g'), async (event) => void typed.push(event), {
    onUnknownVersion: async (event) => void unknown.push(event),
  });

  producer = rawKafka().producer();
  await producer.connect();
  const message = (payload: Record<string, unknown>) => {
    const eventId = randomUUID();
    return {
      key: String(payload.userId),
      value: JSON.stringify({
        eventId,
        eventType: 'user.registered',
        timestamp: new Date().toISOString(),
        version: '9.0',
        source: 'api-gateway',
        payload,
      }),
      headers: {
        [EVENT_HEADERS.eventId]: eventId,
        [EVENT_HEADERS.eventType]: 'user.registered',
        [EVENT_HEADERS.version]: '9.0',
        [EVENT_HEADERS.source]: 'api-gateway',
        [EVENT_HEADERS.schemaId]: String(schemaId),
      },
    };
  };
  const valid = message({ userId: 'u-9', email: 'nine@example.com', nickname: 'Nine' });
  const invalid = message({ userId: 'u-10', email: 'not-an-email' });
  await producer.send({ topic: kafka.topicName('user-events'), messages: [valid, invalid] });
  const marker = UserEventFactory.createUserLoggedOut('u-marker', 's-marker');
  await kafka.publishEvent('user-events', marker);

  await waitFor('the marker', () => typed.some((e) => e.eventId === marker.eventId));
  // Typed handlers see only catalog events.
  expect(typed.map((e) => e.eventId)).toEqual([marker.eventId]);
  expect(unknown).toEqual([
    expect.objectContaining({
      validatedBy: 'registry',
      schemaId,
      eventType: 'user.registered',
      version: '9.0',
      payload: { userId: 'u-9', email: 'nine@example.com', nickname: 'Nine' },
    }),
  ]);

  const dead: KafkaMessage[] = await readTopic(
    kafka.deadLetterTopicName('user-events'),
    (m) => m.length >= 1,
  );
  expect(dead).toHaveLength(1);
  const reason = readHeaders(dead[0]!.headers)[DEAD_LETTER_HEADERS.reason];
  expect(dead[0]!.value?.toString()).toBe(invalid.value);
  expect(reason).toBe(
    `invalid event: payload.email: must match format "email" (registry schema ${schemaId} of user.registered 9.0)`,
  );
});

it('dead-letters a registry-valid unknown version when the subscription takes none', async () => {
  const client = createSchemaRegistry({ url: registry.url });
  const schemaId = await client.register('user-events-user.registered-9.0', { type: 'object' });
  const kafka = await started(
    testKafka('user-service', prefix, { topics: ['user-events'], schemaRegistry: client }),
  );
  const typed: string[] = [];
  await kafka.subscribe('user-events', randomName('g'), async (e) => void typed.push(e.eventId));
  producer = rawKafka().producer();
  await producer.connect();
  const eventId = randomUUID();
  await producer.send({
    topic: kafka.topicName('user-events'),
    messages: [
      {
        key: 'u-9',
        value: JSON.stringify({
          eventId,
          eventType: 'user.registered',
          timestamp: new Date().toISOString(),
          version: '9.0',
          source: 'api-gateway',
          payload: { userId: 'u-9' },
        }),
        headers: { [EVENT_HEADERS.schemaId]: String(schemaId) },
      },
    ],
  });
  const dead = await readTopic(kafka.deadLetterTopicName('user-events'), (m) => m.length >= 1);
  expect(readHeaders(dead[0]!.headers)[DEAD_LETTER_HEADERS.reason]).toMatch(
    /^unknown event: user\.registered 9\.0 is not in this consumer's catalog .* no onUnknownVersion handler$/,
  );
  expect(typed).toEqual([]);
});

it('hands registry-validated events to onUnknownVersion in batch subscriptions too', async () => {
  const client = createSchemaRegistry({ url: registry.url });
  const schemaId = await client.register('user-events-user.registered-9.0', {
    type: 'object',
    properties: { userId: { type: 'string' } },
    required: ['userId'],
  });
  const kafka = await started(
    testKafka('user-service', prefix, { topics: ['user-events'], schemaRegistry: client }),
  );
  const batched: string[] = [];
  const unknown: string[] = [];
  await kafka.subscribeBatch(
    randomName('g'),
    {
      'user-events': {
        batch: async (events) => void batched.push(...events.map((e) => e.event.eventId)),
        each: async (event) => void batched.push(event.eventId),
      },
    },
    { onUnknownVersion: async (event) => void unknown.push(String(event.payload.userId)) },
  );
  producer = rawKafka().producer();
  await producer.connect();
  await producer.send({
    topic: kafka.topicName('user-events'),
    messages: ['u-a', 'u-b'].map((userId) => ({
      key: userId,
      value: JSON.stringify({
        eventId: randomUUID(),
        eventType: 'user.registered',
        timestamp: new Date().toISOString(),
        version: '9.0',
        source: 'api-gateway',
        payload: { userId },
      }),
      headers: { [EVENT_HEADERS.schemaId]: String(schemaId) },
    })),
  });
  const marker = UserEventFactory.createUserLoggedOut('u-a', 's-marker');
  await kafka.publishEvent('user-events', marker);
  await waitFor('the marker', () => batched.includes(marker.eventId));
  await waitFor('both unknown events', () => unknown.length === 2);
  expect(unknown.sort()).toEqual(['u-a', 'u-b']);
  expect(batched).toEqual([marker.eventId]);
});
