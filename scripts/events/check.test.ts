/**
 * `npm run events:check` end to end: the real CLI, spawned against a temporary baseline directory
 * made from the real generated artifacts with one edit each.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadCompatibilityConfig } from '../../events/schemas/compatibility-config';
import { renderArtifacts } from './artifacts';

const ROOT = path.resolve(__dirname, '../..');
const artifacts = renderArtifacts(loadCompatibilityConfig());

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'events-check-'));
  for (const [relative, text] of artifacts) {
    mkdirSync(path.dirname(path.join(dir, relative)), { recursive: true });
    writeFileSync(path.join(dir, relative), text);
  }
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function run(...args: string[]): { status: number | null; out: string } {
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'scripts/events/check.ts', ...args],
    { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
  );
  return { status: result.status, out: `${result.stdout}${result.stderr}` };
}

/** An artifact's object schema, as the tests edit it. */
interface ObjectSchema {
  properties: Record<string, Record<string, unknown>>;
  required: string[];
}

/** Edits the baseline's schema of one artifact. */
function editBaseline(relative: string, edit: (schema: ObjectSchema) => void): void {
  const file = path.join(dir, relative);
  const artifact = JSON.parse(readFileSync(file, 'utf8')) as { schema: ObjectSchema };
  edit(artifact.schema);
  writeFileSync(file, JSON.stringify(artifact, null, 2));
}

const REGISTERED = 'user-events/user.registered/1.0.json';
const CREATED = 'interview-events/interview.created/1.0.json';

test('an identical baseline passes: one ok line per subject, exit 0', () => {
  const { status, out } = run('--baseline-dir', dir);
  expect(out).toContain('user.registered 1.0 (user-events-user.registered-1.0): ok (FULL)');
  expect(out).toContain(
    'interview.created 1.0 (interview-events-interview.created-1.0): ok (BACKWARD)',
  );
  expect(out).toContain(`${artifacts.size} subjects: ${artifacts.size} ok, 0 new, 0 incompatible`);
  expect(status).toBe(0);
}, 60_000);

test('a baseline with an extra required field: the field was removed, exit 1', () => {
  editBaseline(REGISTERED, (schema) => {
    schema.properties.referrer = { type: 'string' };
    schema.required.push('referrer');
  });
  const { status, out } = run('--baseline-dir', dir);
  expect(out).toContain(
    'user.registered 1.0 (user-events-user.registered-1.0, FULL): payload.referrer: required field removed',
  );
  expect(out).toMatch(/1 incompatible/);
  expect(status).toBe(1);
}, 60_000);

test('a baseline enum with an extra value: the enum was narrowed, exit 1', () => {
  editBaseline(REGISTERED, (schema) => {
    (schema.properties.registrationMethod?.enum as string[]).push('password');
  });
  const { status, out } = run('--baseline-dir', dir);
  expect(out).toContain(
    'user.registered 1.0 (user-events-user.registered-1.0, FULL): payload.registrationMethod: enum narrowed: "password" removed',
  );
  expect(status).toBe(1);
}, 60_000);

test('a baseline field of another type: changed type, exit 1', () => {
  editBaseline(CREATED, (schema) => {
    schema.properties.questionCount = { type: 'string' };
  });
  const { status, out } = run('--baseline-dir', dir);
  expect(out).toContain(
    'interview.created 1.0 (interview-events-interview.created-1.0, BACKWARD): payload.questionCount: changed type from string to integer',
  );
  expect(status).toBe(1);
}, 60_000);

test('a released version the catalog no longer has fails; a version not released is new', () => {
  const ghost = path.join(dir, 'user-events/user.registered/0.9.json');
  const artifact = JSON.parse(readFileSync(path.join(dir, REGISTERED), 'utf8')) as Record<
    string,
    unknown
  >;
  writeFileSync(
    ghost,
    JSON.stringify({ ...artifact, version: '0.9', subject: 'user-events-user.registered-0.9' }),
  );
  rmSync(path.join(dir, 'user-events/user.registered/2.0.json'));
  const { status, out } = run('--baseline-dir', dir);
  expect(out).toContain(
    'user.registered 0.9 (user-events-user.registered-0.9): released version removed',
  );
  expect(out).toContain(
    'user.registered 2.0 (user-events-user.registered-2.0): new, not released yet',
  );
  expect(status).toBe(1);
}, 60_000);

test('--baseline REF reads the artifacts committed at a git ref', () => {
  const { status, out } = run('--baseline', 'HEAD');
  expect(out).toMatch(/comparing the catalog with the schemas committed at HEAD \([0-9a-f]{12}\)/);
  expect(out).toMatch(/user\.registered 1\.0 \(user-events-user\.registered-1\.0\)/);
  expect([0, 1]).toContain(status);
}, 60_000);

test('a bad configuration, a missing directory or a bad argument: exit 2 with a message', () => {
  const config = path.join(dir, 'compatibility.json');
  writeFileSync(config, JSON.stringify({ default: 'SIDEWAYS', topics: {}, subjects: {} }));
  const bad = run('--baseline-dir', dir, '--config', config);
  expect(bad.out).toMatch(/bad compatibility configuration .*compatibility\.json/);
  expect(bad.out).toContain(
    '"default" must be one of BACKWARD, FORWARD, FULL, NONE, got "SIDEWAYS"',
  );
  expect(bad.status).toBe(2);

  const missing = run('--baseline-dir', path.join(dir, 'nowhere'));
  expect(missing.out).toMatch(/baseline directory .*nowhere does not exist/);
  expect(missing.status).toBe(2);

  const ref = run('--baseline', 'no-such-ref-xyz');
  expect(ref.out).toContain('baseline "no-such-ref-xyz" is not a git commit, tag or branch');
  expect(ref.status).toBe(2);

  const arg = run('--frobnicate');
  expect(arg.out).toContain('unknown argument "--frobnicate"');
  expect(arg.status).toBe(2);
}, 120_000);
