/**
 * The checked-in schema artifacts (events/schemas/<topic>/<eventType>/<version>.json) match the
 * catalog: generated in memory and compared with the files on disk.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describeDrift, driftOf, renderArtifacts } from '../../scripts/events/artifacts';
import { catalogVersions } from './json-schema';
import { artifactOf } from './artifacts';
import { loadCompatibilityConfig } from './compatibility-config';

const config = loadCompatibilityConfig();

test('the checked-in schema files are up to date (else run `npm run events:schemas`)', () => {
  const drift = describeDrift(driftOf(renderArtifacts(config)));
  expect({
    problem: drift.length === 0 ? undefined : 'stale schema files: run `npm run events:schemas`',
    drift,
  }).toEqual({ problem: undefined, drift: [] });
});

test('there is one artifact per event type and version, each with a valid example and key', () => {
  for (const { type, version } of catalogVersions()) {
    const artifact = artifactOf(type, version, config);
    expect(artifact.example.version).toBe(version);
    expect(Object.keys(artifact.example.payload)).toContain(artifact.key);
    expect(artifact.schema.title).toBe(`${type} ${version}`);
  }
  expect(artifactOf('user.registered', '1.0', config)).toMatchObject({
    subject: 'user-events-user.registered-1.0',
    key: 'userId',
    compatibility: 'FULL',
  });
  expect(artifactOf('interview.created', '1.0', config)).toMatchObject({
    key: 'interviewId',
    compatibility: 'BACKWARD',
  });
});

describe('drift detection', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'schemas-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('names stale, missing and extra files', () => {
    const expected = renderArtifacts(config);
    for (const [relative, text] of expected) {
      mkdirSync(path.dirname(path.join(dir, relative)), { recursive: true });
      writeFileSync(path.join(dir, relative), text);
    }
    expect(describeDrift(driftOf(expected, dir))).toEqual([]);
    writeFileSync(path.join(dir, 'user-events/user.registered/1.0.json'), '{}\n');
    rmSync(path.join(dir, 'user-events/user.logged_out/1.0.json'));
    writeFileSync(path.join(dir, 'user-events/user.registered/9.0.json'), '{}\n');
    expect(describeDrift(driftOf(expected, dir))).toEqual([
      'stale: user-events/user.registered/1.0.json',
      'missing: user-events/user.logged_out/1.0.json',
      'extra: user-events/user.registered/9.0.json',
    ]);
  });
});
