/**
 * The compatibility rules (events/schemas/compatibility.ts) on small schemas and on the
 * catalog's own: what passes each mode, and that every finding names the event, version,
 * subject, mode and field.
 */
import { type Mode, type SchemaNode, checkCompatibility, incompatibilities } from './compatibility';
import { CompatibilityConfigError, modeOf, parseCompatibilityConfig } from './compatibility-config';
import { jsonSchemaOf } from './json-schema';

type Schema = Record<string, unknown>;

const closed = (properties: Record<string, Schema>, required: string[]): Schema => ({
  type: 'object',
  properties,
  required,
  additionalProperties: false,
});

const base = closed(
  {
    userId: { type: 'string', minLength: 1 },
    email: { type: 'string', format: 'email' },
    method: { type: 'string', enum: ['authentik', 'oidc'] },
    count: { type: 'integer', minimum: 0 },
  },
  ['userId', 'email', 'method'],
);

const clone = (schema: Schema): Schema => structuredClone(schema);
const props = (schema: Schema): Record<string, Schema> =>
  schema.properties as Record<string, Schema>;

const ref = (mode: Mode) => ({
  type: 'user.registered',
  version: '1.0',
  subject: 'user-events-user.registered-1.0',
  mode,
});
const check = (mode: Mode, previous: SchemaNode, next: SchemaNode): string[] =>
  checkCompatibility(ref(mode), previous, next);

const PREFIX = (mode: Mode) => `user.registered 1.0 (user-events-user.registered-1.0, ${mode}): `;

test('an identical schema passes every mode', () => {
  for (const mode of ['BACKWARD', 'FORWARD', 'FULL', 'NONE'] as const)
    expect(check(mode, base, clone(base))).toEqual([]);
  const real = jsonSchemaOf('user.profile_updated', '1.0');
  expect(check('FULL', real, structuredClone(real))).toEqual([]);
});

describe('adding an optional field', () => {
  const next = clone(base);
  props(next).nickname = { type: 'string' };

  test('passes BACKWARD: new readers read old events, which lack it', () => {
    expect(check('BACKWARD', base, next)).toEqual([]);
  });

  test('fails FULL (FORWARD): old readers refuse unknown fields; suggests a new version', () => {
    const found = check('FULL', base, next);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(PREFIX('FULL'));
    expect(found[0]).toContain('payload.nickname: optional field added');
    expect(found[0]).toContain('fails FORWARD');
    expect(found[0]).toContain('additionalProperties: false');
    expect(found[0]).toContain('new version');
  });

  test('with an open content model: FORWARD passes; BACKWARD fails (old events may hold anything)', () => {
    const open = { ...clone(base), additionalProperties: true };
    const openNext = { ...clone(next), additionalProperties: true };
    expect(check('FORWARD', open, openNext)).toEqual([]);
    expect(check('BACKWARD', open, openNext)).toEqual([
      expect.stringContaining('payload.nickname: optional field added to an open object'),
    ]);
  });
});

test('removing a required field fails BACKWARD and FULL, naming the field', () => {
  const next = clone(base);
  delete props(next).email;
  next.required = ['userId', 'method'];
  expect(check('BACKWARD', base, next)).toEqual([
    `${PREFIX('BACKWARD')}payload.email: required field removed (fails BACKWARD: the new schema refuses unknown fields (additionalProperties: false) and events already written may carry it)`,
  ]);
  const full = check('FULL', base, next);
  expect(full).toHaveLength(1);
  expect(full[0]).toMatch(
    /^user\.registered 1\.0 .*FULL\): payload\.email: required field removed/,
  );
  expect(full[0]).toContain('fails FORWARD: old readers require it');
});

test('a removed required field passes BACKWARD when the new reader is open', () => {
  const open = { ...clone(base), additionalProperties: true };
  const next = clone(open);
  delete props(next).email;
  next.required = ['userId', 'method'];
  expect(check('BACKWARD', open, next)).toEqual([]);
  expect(check('FORWARD', open, next).join('\n')).toContain(
    'payload.email: required field removed',
  );
});

test('adding a required field or making one required fails BACKWARD', () => {
  const added = clone(base);
  props(added).locale = { type: 'string' };
  added.required = [...(base.required as string[]), 'locale'];
  expect(check('BACKWARD', base, added)).toEqual([
    `${PREFIX('BACKWARD')}payload.locale: required field added (fails BACKWARD: events already written lack it)`,
  ]);
  const madeRequired = clone(base);
  madeRequired.required = [...(base.required as string[]), 'count'];
  expect(check('BACKWARD', base, madeRequired).join('\n')).toContain(
    'payload.count: optional field became required',
  );
  expect(check('FORWARD', base, madeRequired)).toEqual([]);
});

test('a narrowed enum fails BACKWARD, naming the value; a widened one fails FORWARD', () => {
  const narrowed = clone(base);
  props(narrowed).method = { type: 'string', enum: ['authentik'] };
  expect(check('BACKWARD', base, narrowed)).toEqual([
    `${PREFIX('BACKWARD')}payload.method: enum narrowed: "oidc" removed (fails BACKWARD: new readers refuse events already written)`,
  ]);
  expect(check('FORWARD', base, narrowed)).toEqual([]);
  expect(check('FORWARD', narrowed, base).join('\n')).toContain(
    'payload.method: enum widened: "oidc" added',
  );
  expect(check('BACKWARD', narrowed, base)).toEqual([]);
});

test('a changed type fails, from integer to string and from number to integer', () => {
  const toString = clone(base);
  props(toString).count = { type: 'string' };
  const found = check('BACKWARD', base, toString);
  expect(found).toEqual([
    `${PREFIX('BACKWARD')}payload.count: changed type from integer to string (fails BACKWARD: new readers refuse events already written)`,
  ]);
  const number = clone(base);
  props(number).count = { type: 'number', minimum: 0 };
  expect(check('BACKWARD', number, base).join('\n')).toContain(
    'payload.count: changed type from number to integer',
  );
  // integer → number widens: new readers read old integers; old readers refuse 1.5.
  expect(check('BACKWARD', base, number)).toEqual([]);
  expect(check('FORWARD', base, number).join('\n')).toContain(
    'payload.count: changed type from integer to number',
  );
});

test('tighter bounds fail BACKWARD, looser ones FORWARD', () => {
  const tighter = clone(base);
  props(tighter).userId = { type: 'string', minLength: 3, maxLength: 10, pattern: '^u-' };
  props(tighter).count = { type: 'integer', minimum: 1, maximum: 100 };
  const found = check('BACKWARD', base, tighter).join('\n');
  expect(found).toContain('payload.userId: minLength tightened from 1 to 3');
  expect(found).toContain('payload.userId: maxLength 10 added');
  expect(found).toContain('payload.userId: pattern "^u-" added');
  expect(found).toContain('payload.count: minimum tightened from >= 0 to >= 1');
  expect(found).toContain('payload.count: maximum (<= 100) added');
  expect(check('FORWARD', base, tighter)).toEqual([]);
  expect(check('FORWARD', tighter, base).join('\n')).toContain(
    'payload.userId: minLength loosened from 3 to 1',
  );
  const format = clone(base);
  props(format).userId = { type: 'string', minLength: 1, format: 'uuid' };
  expect(check('BACKWARD', base, format).join('\n')).toContain(
    'payload.userId: format "uuid" added',
  );
});

test('an integer exclusiveMinimum 0 is the same bound as minimum 1', () => {
  const positive = closed({ pid: { type: 'integer', exclusiveMinimum: 0 } }, ['pid']);
  const min1 = closed({ pid: { type: 'integer', minimum: 1 } }, ['pid']);
  expect(check('FULL', positive, min1)).toEqual([]);
});

describe('nested fields', () => {
  const nested = (city: Schema, tagItems: Schema, extra: Schema): Schema =>
    closed(
      {
        address: closed({ city, zip: { type: 'string' } }, ['city']),
        tags: { type: 'array', items: tagItems, minItems: 1 },
        values: { type: 'object', additionalProperties: extra },
        nickname: { anyOf: [{ type: 'string' }, { type: 'null' }] },
      },
      ['address'],
    );
  const old = nested({ type: 'string' }, { type: 'string' }, { type: ['string', 'number'] });

  test('an identical nested schema passes', () => {
    expect(check('FULL', old, structuredClone(old))).toEqual([]);
  });

  test('a property of a nested object', () => {
    const next = structuredClone(old);
    const address = props(next).address as Schema;
    delete props(address).city;
    address.required = [];
    expect(check('BACKWARD', old, next)).toEqual([
      expect.stringContaining(`${PREFIX('BACKWARD')}payload.address.city: required field removed`),
    ]);
  });

  test('array items, additionalProperties and a type array', () => {
    const next = nested({ type: 'string' }, { type: 'integer' }, { type: 'string' });
    const found = check('BACKWARD', old, next).join('\n');
    expect(found).toContain('payload.tags[]: changed type from string to integer');
    expect(found).toContain('payload.values.*: changed type from number | string to string');
  });

  test('anyOf: a branch removed fails BACKWARD, a branch added passes it', () => {
    const next = structuredClone(old);
    props(next).nickname = { type: 'string' };
    expect(check('BACKWARD', old, next).join('\n')).toContain(
      'payload.nickname: changed type from null to string',
    );
    expect(check('BACKWARD', next, old)).toEqual([]);
  });
});

test('a keyword the rules do not analyse is flagged when it changes', () => {
  const next = { ...clone(base), allOf: [{ required: ['count'] }] };
  expect(check('BACKWARD', base, next).join('\n')).toContain(
    'allOf changed (not checked automatically)',
  );
});

test('NONE checks nothing; FULL is BACKWARD and FORWARD', () => {
  expect(check('NONE', base, { type: 'string' })).toEqual([]);
  const next = clone(base);
  props(next).method = { type: 'string', enum: ['authentik'] };
  expect(incompatibilities(base, next, 'FULL').map((i) => i.direction)).toEqual(['BACKWARD']);
});

test('the catalog: user.registered 2.0 could not have replaced 1.0 in place', () => {
  const found = check(
    'FULL',
    jsonSchemaOf('user.registered', '1.0'),
    jsonSchemaOf('user.registered', '2.0'),
  ).join('\n');
  expect(found).toContain('payload.locale: required field added');
  expect(found).toContain('payload.timeZone: required field added');
});

describe('the configuration', () => {
  const subjects = ['user-events-user.registered-1.0'];

  test('resolves subject, then topic, then default', () => {
    const config = parseCompatibilityConfig(
      {
        default: 'BACKWARD',
        topics: { 'user-events': 'FULL' },
        subjects: { 'user-events-user.registered-1.0': 'NONE' },
      },
      'test',
      subjects,
    );
    expect(modeOf(config, 'user-events-user.registered-1.0', 'user-events')).toBe('NONE');
    expect(modeOf(config, 'user-events-user.logged_out-1.0', 'user-events')).toBe('FULL');
    expect(modeOf(config, 'system-events-service.started-1.0', 'system-events')).toBe('BACKWARD');
  });

  test('refuses bad modes, unknown topics, subjects and keys, listing each', () => {
    const bad = (): unknown =>
      parseCompatibilityConfig(
        {
          default: 'SIDEWAYS',
          topics: { 'users-events': 'FULL' },
          subjects: { nope: 'X' },
          extra: 1,
        },
        'compat.json',
        subjects,
      );
    expect(bad).toThrow(CompatibilityConfigError);
    expect(bad).toThrow(/compat\.json/);
    expect(bad).toThrow(/"default" must be one of BACKWARD, FORWARD, FULL, NONE, got "SIDEWAYS"/);
    expect(bad).toThrow(/topics\.users-events: unknown topic/);
    expect(bad).toThrow(/subjects\.nope: unknown subject/);
    expect(bad).toThrow(/subjects\.nope: mode must be one of/);
    expect(bad).toThrow(/unknown key "extra"/);
  });
});
