/**
 * One topic holding `user.registered` 1.0 and 2.0 events, as after a rolling upgrade: older
 * gateways wrote 1.0 (no locale or time zone), newer ones 2.0. Every service of the platform
 * (users, interviews, reporting's audit, the live subscriptions) handles a 1.0 event exactly as
 * the 2.0 event it upcasts to (`en`, `UTC`), and subscribers see the 2.0 shape. With a schema
 * registry, produced events carry their schema id, and an event of a version only the registry
 * knows still reaches the audit trail.
 */
import { randomUUID } from 'node:crypto';
import type { Identity } from '../../contracts/identity';
import { EVENT_HEADERS, readHeaders } from '../../events';
import {
  createSchemaRegistry,
  startEmbeddedRegistry,
  type EmbeddedRegistry,
} from '../../events/registry';
import { eventOf, rawKafka, readTopic, testAdmin, testUser, waitFor } from '../helpers';
import { asIdentity, liveClients, recordings, subscribersAtLeast } from '../live';
import { gatewayCaller, startTestPlatform, type TestPlatform } from '../platform';

jest.setTimeout(120_000);

describe('a topic of user.registered 1.0 and 2.0 events', () => {
  let platform: TestPlatform;
  const clients = liveClients();
  const { subscribe, disposeAll } = recordings();
  const admin = testAdmin();
  /** Registered with a 1.0 event, as an older gateway wrote it. */
  const old = testUser('old');
  /** Registered with the 2.0 event the 1.0 one upcasts to. */
  const twin = testUser('twin');
  /** Registered with a 2.0 event of its own language and zone. */
  const paris = testUser('paris');
  const gql = gatewayCaller(() => platform.gatewayUrl, old);

  beforeAll(async () => {
    platform = await startTestPlatform();
  });

  afterAll(async () => {
    disposeAll();
    await clients.disposeAll();
    await platform?.stop();
  });

  /** A 1.0 registration, published as it was written then (no validation of today's code). */
  async function registerAsVersion1(who: Identity): Promise<string> {
    const eventId = randomUUID();
    const envelope = {
      eventId,
      eventType: 'user.registered',
      timestamp: new Date().toISOString(),
      version: '1.0',
      source: 'api-gateway',
      payload: {
        userId: who.userId,
        email: who.email,
        registrationMethod: 'authentik',
        firstName: 'Old',
        company: 'Before',
      },
    };
    await platform.gatewayEvents.publishSerialized('user-events', {
      key: who.userId,
      value: JSON.stringify(envelope),
      eventId,
      eventType: 'user.registered',
      version: '1.0',
      source: 'api-gateway',
    });
    return eventId;
  }

  type Me = {
    me: {
      email: string;
      firstName: string | null;
      company: string | null;
      locale: string;
      timeZone: string;
      interviewPreferences: { timezone: string; reminderMinutesBefore: number } | null;
    } | null;
  };
  const meQuery = `{ me { email firstName company locale timeZone interviewPreferences { timezone reminderMinutesBefore } } }`;
  const me = async (who: Identity) => (await gql<Me>(meQuery, {}, who)).data?.me ?? null;

  it('is handled by every service as if all were 2.0, and subscribers see 2.0', async () => {
    const selection = `eventType ... on UserRegisteredEvent { registrationMethod locale timeZone user { email } }`;
    const watch = (who: Identity) =>
      subscribe<{ userActivity: Record<string, unknown> }>(
        clients.connect(platform.gatewayUrl, asIdentity(admin)).client,
        {
          query: `subscription ($u: ID!) { userActivity(userId: $u) { ${selection} } }`,
          variables: { u: who.userId },
        },
      );
    const live = { old: watch(old), twin: watch(twin), paris: watch(paris) };
    await subscribersAtLeast(platform.gatewayUrl, 3);

    // Interleaved on the topic: 2.0, 1.0, 2.0.
    await platform.register(twin, {
      firstName: 'Old',
      company: 'Before',
      locale: 'en',
      timeZone: 'UTC',
    });
    const oldEventId = await registerAsVersion1(old);
    await platform.register(paris, {
      firstName: 'Amélie',
      locale: 'fr-FR',
      timeZone: 'Europe/Paris',
    });

    // The topic really holds both versions.
    const versions = new Map(
      (await readTopic(platform.gatewayEvents.topicName('user-events'), (m) => m.length >= 3)).map(
        (m) => {
          const event = eventOf(m);
          return [event.eventId, (JSON.parse(m.value!.toString()) as { version: string }).version];
        },
      ),
    );
    expect(versions.get(oldEventId)).toBe('1.0');
    expect([...versions.values()].sort()).toEqual(['1.0', '2.0', '2.0']);

    // users and interviews: the same effects for the 1.0 event as for its 2.0 twin.
    await waitFor('every profile and its preferences', async () => {
      const all = await Promise.all([old, twin, paris].map(me));
      return all.every((m) => m?.interviewPreferences != null);
    });
    const [oldMe, twinMe, parisMe] = await Promise.all([old, twin, paris].map(me));
    expect({ ...oldMe, email: undefined }).toEqual({ ...twinMe, email: undefined });
    expect(oldMe).toEqual({
      email: old.email,
      firstName: 'Old',
      company: 'Before',
      locale: 'en',
      timeZone: 'UTC',
      interviewPreferences: { timezone: 'UTC', reminderMinutesBefore: 30 },
    });
    expect(parisMe).toMatchObject({
      locale: 'fr-FR',
      timeZone: 'Europe/Paris',
      interviewPreferences: { timezone: 'Europe/Paris' },
    });

    // reporting's audit trail records each registration once, under its own actor.
    const trail = async (who: Identity) =>
      (
        await gql<{ auditTrail: { eventId: string; eventType: string }[] }>(
          `query ($actor: ID!) { auditTrail(actor: $actor) { eventId eventType } }`,
          { actor: who.userId },
          admin,
        )
      ).data?.auditTrail ?? [];
    await waitFor('the audit consumer', async () => (await trail(old)).length > 0);
    expect(await trail(old)).toEqual([{ eventId: oldEventId, eventType: 'user.registered' }]);

    // Live: the 2.0 shape, the 1.0 event with what it meant.
    const received = async (recording: (typeof live)['old']) =>
      (await recording.received(1))[0]!.data!.userActivity;
    expect(await received(live.old)).toEqual({
      eventType: 'user.registered',
      registrationMethod: 'authentik',
      locale: 'en',
      timeZone: 'UTC',
      user: { email: old.email },
    });
    expect(await received(live.twin)).toEqual({
      ...(await received(live.old)),
      user: { email: twin.email },
    });
    expect(await received(live.paris)).toMatchObject({
      locale: 'fr-FR',
      timeZone: 'Europe/Paris',
    });
  });
});

describe('with a schema registry', () => {
  let platform: TestPlatform;
  let registry: EmbeddedRegistry;
  const admin = testAdmin();
  const gql = gatewayCaller(() => platform.gatewayUrl, admin);

  beforeAll(async () => {
    registry = await startEmbeddedRegistry();
    platform = await startTestPlatform({ schemaRegistryUrl: registry.url });
  });

  afterAll(async () => {
    await platform?.stop();
    await registry?.stop();
  });

  it('stamps produced events with their schema id, and audits a version only the registry knows', async () => {
    const client = createSchemaRegistry({ url: registry.url });
    const known = testUser('known');
    await platform.register(known);

    // A newer gateway's user.registered 3.0, which this build's catalog does not know.
    const schemaId = await client.register('user-events-user.registered-3.0', {
      type: 'object',
      properties: {
        userId: { type: 'string' },
        email: { type: 'string' },
        pronouns: { type: 'string' },
      },
      required: ['userId', 'email'],
      additionalProperties: false,
    });
    const newer = testUser('newer');
    const eventId = randomUUID();
    const producer = rawKafka().producer();
    await producer.connect();
    try {
      await producer.send({
        topic: platform.gatewayEvents.topicName('user-events'),
        messages: [
          {
            key: newer.userId,
            value: JSON.stringify({
              eventId,
              eventType: 'user.registered',
              timestamp: new Date().toISOString(),
              version: '3.0',
              source: 'api-gateway',
              payload: { userId: newer.userId, email: newer.email, pronouns: 'they' },
            }),
            headers: {
              [EVENT_HEADERS.eventId]: eventId,
              [EVENT_HEADERS.eventType]: 'user.registered',
              [EVENT_HEADERS.version]: '3.0',
              [EVENT_HEADERS.source]: 'api-gateway',
              [EVENT_HEADERS.schemaId]: String(schemaId),
            },
          },
        ],
      });
    } finally {
      await producer.disconnect();
    }

    // The gateway's 2.0 registration carries the id the registry gave its schema.
    const messages = await readTopic(
      platform.gatewayEvents.topicName('user-events'),
      (m) => m.length >= 2,
    );
    const registered = messages.find((m) => eventOf(m).payload['userId'] === known.userId)!;
    const ids = (await (
      await fetch(`${registry.url}/subjects/user-events-user.registered-2.0/versions/latest`)
    ).json()) as { id: number };
    expect(readHeaders(registered.headers)[EVENT_HEADERS.schemaId]).toBe(String(ids.id));

    // reporting's audit validates the 3.0 event through the registry and records it.
    const trail = async () =>
      (
        await gql<{ auditTrail: { eventId: string; eventType: string }[] }>(
          `query ($actor: ID!) { auditTrail(actor: $actor) { eventId eventType } }`,
          { actor: newer.userId },
        )
      ).data?.auditTrail ?? [];
    await waitFor(
      'the audit consumer to record the 3.0 event',
      async () => (await trail()).length > 0,
    );
    expect(await trail()).toEqual([{ eventId, eventType: 'user.registered' }]);
  });
});
