import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  type EventType,
  catalog,
  definitionOf,
  eventTypesOn,
  validateEvent,
  TOPICS,
  type ValidationResult,
} from './index';

const envelopeFor = (
  eventType: string,
  payload: unknown,
  overrides: Record<string, unknown> = {},
) => ({
  eventId: randomUUID(),
  eventType,
  timestamp: '2026-11-26T10:00:00.000Z',
  version: definitionOf(eventType as EventType).current,
  source: definitionOf(eventType as EventType).sources[0],
  payload,
  ...overrides,
});

const paths = (result: ValidationResult) => (result.ok ? [] : result.issues.map((i) => i.path));

const unwrap = (schema: z.ZodType): z.ZodType =>
  schema instanceof z.ZodOptional ? unwrap(schema.unwrap() as z.ZodType) : schema;

const types = Object.keys(catalog) as EventType[];

describe.each(types)('catalog schema %s', (type) => {
  const definition = definitionOf(type);
  const schema = definition.versions[definition.current]!;
  const example = definition.example as Record<string, unknown>;

  it('accepts its valid example', () => {
    const result = validateEvent(envelopeFor(type, example));
    expect(result).toMatchObject({ ok: true, event: { eventType: type, payload: example } });
  });

  const required = Object.entries(schema.shape)
    .filter(([, field]) => !(field instanceof z.ZodOptional))
    .map(([name]) => name);

  it.each(required)('rejects the example without required field %s', (field) => {
    const { [field]: _dropped, ...rest } = example;
    expect(paths(validateEvent(envelopeFor(type, rest)))).toEqual([`payload.${field}`]);
  });

  const enums = Object.entries(schema.shape)
    .filter(([, field]) => unwrap(field as z.ZodType) instanceof z.ZodEnum)
    .map(([name]) => name);

  if (enums.length > 0) {
    it.each(enums)('rejects a value outside enum %s', (field) => {
      const result = validateEvent(envelopeFor(type, { ...example, [field]: 'not-a-member' }));
      expect(paths(result)).toEqual([`payload.${field}`]);
    });
  }

  it('rejects an unknown version and names the known ones', () => {
    const result = validateEvent(envelopeFor(type, example, { version: '9.0' }));
    const known = Object.keys(definition.versions).join(', ');
    expect(result).toEqual({
      ok: false,
      issues: [{ path: 'version', message: `unknown version "9.0" of ${type} (known: ${known})` }],
    });
  });

  it('lists its current version last, and every older one upcasts to the next', () => {
    const order = Object.keys(definition.versions);
    expect(order.at(-1)).toBe(definition.current);
    for (const older of order.slice(0, -1))
      expect(definition.upcast?.[older]).toBeInstanceOf(Function);
  });

  it('rejects fields the schema does not know', () => {
    expect(paths(validateEvent(envelopeFor(type, { ...example, surprise: 1 })))).toEqual([
      'payload',
    ]);
  });

  it('keys the message by its aggregate id', () => {
    const key = definition.key(schema.parse(example));
    // Saga events are keyed by their saga (they name the user too, but a saga's events go together).
    const aggregate = example.sagaId ?? example.interviewId ?? example.userId ?? example.service;
    expect(key).toBe(aggregate);
  });
});

describe('user.registered 2.0, with 1.0 upcast at the door', () => {
  const v1 = {
    userId: 'u-1',
    email: 'ada@example.com',
    registrationMethod: 'authentik',
    firstName: 'Ada',
  };

  it('takes a 1.0 event as 2.0: locale en and time zone UTC, what 1.0 meant', () => {
    const result = validateEvent(envelopeFor('user.registered', v1, { version: '1.0' }));
    expect(result).toEqual({
      ok: true,
      event: expect.objectContaining({
        eventType: 'user.registered',
        version: '2.0',
        payload: { ...v1, locale: 'en', timeZone: 'UTC' },
      }),
    });
  });

  it('takes a 2.0 event as it is', () => {
    const payload = { ...v1, locale: 'fr-CA', timeZone: 'America/Toronto' };
    const result = validateEvent(envelopeFor('user.registered', payload));
    expect(result).toMatchObject({ ok: true, event: { version: '2.0', payload } });
  });

  it('refuses 2.0 fields in a 1.0 event: 1.0 is closed', () => {
    const result = validateEvent(
      envelopeFor('user.registered', { ...v1, locale: 'fr' }, { version: '1.0' }),
    );
    expect(paths(result)).toEqual(['payload']);
  });

  it('refuses a 2.0 event without its locale or time zone, or with ones Intl does not know', () => {
    expect(
      paths(validateEvent(envelopeFor('user.registered', { ...v1, timeZone: 'UTC' }))),
    ).toEqual(['payload.locale']);
    const bad = validateEvent(
      envelopeFor('user.registered', { ...v1, locale: 'en-GB', timeZone: 'Mars/Olympus_Mons' }),
    );
    expect(bad).toEqual({
      ok: false,
      issues: [
        { path: 'payload.timeZone', message: 'must be an IANA time zone, e.g. "Europe/Paris"' },
      ],
    });
    expect(
      paths(validateEvent(envelopeFor('user.registered', { ...v1, locale: 'e', timeZone: 'UTC' }))),
    ).toEqual(['payload.locale']);
  });
});

describe('user events, as the design fixes them', () => {
  it("refuses authMethod 'password' and says which values are allowed", () => {
    const result = validateEvent(
      envelopeFor('user.authenticated', {
        ...catalog['user.authenticated'].example,
        authMethod: 'password',
      }),
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues[0]?.path).toBe('payload.authMethod');
    expect(result.issues[0]?.message).toMatch(/oauth2.*jwt_refresh/);
  });

  it.each([
    [
      'user.authenticated',
      ['userId', 'email', 'sessionId', 'authMethod', 'ipAddress', 'userAgent'],
    ],
    [
      'user.registered',
      ['userId', 'email', 'registrationMethod', 'firstName', 'lastName', 'company'],
      '1.0',
    ],
    [
      'user.registered',
      [
        'userId',
        'email',
        'registrationMethod',
        'firstName',
        'lastName',
        'company',
        'locale',
        'timeZone',
      ],
      '2.0',
    ],
    ['user.logged_out', ['userId', 'sessionId', 'reason']],
    ['user.profile_updated', ['userId', 'updatedFields', 'previousValues', 'newValues']],
  ] as const)('%s has exactly the designed fields (%#)', (type, fields, version = '1.0') => {
    const versions: Record<string, z.ZodObject> = catalog[type].versions;
    expect(Object.keys(versions[version]!.shape).sort()).toEqual([...fields].sort());
  });

  it('only api-gateway may publish user.authenticated', () => {
    const event = envelopeFor('user.authenticated', catalog['user.authenticated'].example, {
      source: 'user-service',
    });
    expect(paths(validateEvent(event))).toEqual(['source']);
  });
});

describe('the envelope', () => {
  const valid = () => envelopeFor('user.logged_out', catalog['user.logged_out'].example);

  it.each([
    ['eventId', 'not-a-uuid'],
    ['timestamp', 'yesterday'],
    ['source', 'someone'],
    ['payload', 'text'],
  ])('rejects a bad %s', (field, value) => {
    expect(paths(validateEvent({ ...valid(), [field]: value }))).toEqual([field]);
  });

  it('lists every bad field at once', () => {
    const result = validateEvent({ ...valid(), eventId: 1, timestamp: 2, extra: true });
    expect(paths(result).sort()).toEqual(
      ['', 'eventId', 'timestamp'].sort().map((p) => p || '(event)'),
    );
  });

  it('rejects an unknown event type', () => {
    expect(validateEvent({ ...valid(), eventType: 'user.teleported' })).toEqual({
      ok: false,
      issues: [{ path: 'eventType', message: 'unknown event type "user.teleported"' }],
    });
  });

  it('rejects an event on the wrong topic', () => {
    const result = validateEvent(valid(), 'interview-events');
    expect(result).toEqual({
      ok: false,
      issues: [
        {
          path: 'eventType',
          message: 'user.logged_out belongs on user-events, not interview-events',
        },
      ],
    });
  });

  it.each([null, 42, 'event', []])('rejects %p', (input) => {
    expect(validateEvent(input).ok).toBe(false);
  });
});

describe('topics', () => {
  it('every topic carries at least one event type and every type has a topic', () => {
    const onTopics = TOPICS.flatMap((t) => eventTypesOn(t));
    expect(onTopics.sort()).toEqual([...types].sort());
    for (const topic of TOPICS) expect(eventTypesOn(topic).length).toBeGreaterThan(0);
  });
});
