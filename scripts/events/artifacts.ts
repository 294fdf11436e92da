/**
 * The schema artifacts as files: rendered (pretty JSON as prettier formats it, trailing newline)
 * and compared with what is checked in under `events/schemas/`.
 * Shared by `npm run events:schemas` and the staleness test (events/schemas/artifacts.test.ts).
 */
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import type { CompatibilityConfig } from '../../events/schemas/compatibility-config';
import { catalogArtifacts, formatJson } from '../../events/schemas/artifacts';

/** Where the artifacts are checked in. */
export const SCHEMAS_DIR = path.resolve(__dirname, '../../events/schemas');

/** Every artifact file's expected text, by path relative to `events/schemas/`. */
export function renderArtifacts(config: CompatibilityConfig): Map<string, string> {
  return new Map(
    [...catalogArtifacts(config)].map(([relative, artifact]) => [relative, formatJson(artifact)]),
  );
}

/** The artifact files under `dir` (`<topic>/<eventType>/<version>.json`), relative, sorted. */
export function artifactFilesIn(dir: string): string[] {
  const found: string[] = [];
  const walk = (relative: string, depth: number): void => {
    for (const entry of readdirSync(path.join(dir, relative), { withFileTypes: true })) {
      const next = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory() && depth < 2) walk(next, depth + 1);
      else if (entry.isFile() && depth === 2 && entry.name.endsWith('.json')) found.push(next);
    }
  };
  walk('', 0);
  return found.sort();
}

/** What differs between the expected files and `dir`. */
export interface ArtifactDrift {
  stale: string[];
  missing: string[];
  extra: string[];
}

/** Compares the expected files with those in `dir`. */
export function driftOf(expected: Map<string, string>, dir = SCHEMAS_DIR): ArtifactDrift {
  const onDisk = new Set(artifactFilesIn(dir));
  const drift: ArtifactDrift = { stale: [], missing: [], extra: [] };
  for (const [relative, text] of expected) {
    if (!onDisk.has(relative)) drift.missing.push(relative);
    else if (readFileSync(path.join(dir, relative), 'utf8') !== text) drift.stale.push(relative);
  }
  drift.extra = [...onDisk].filter((relative) => !expected.has(relative));
  return drift;
}

/** Whether nothing differs. */
export function isClean(drift: ArtifactDrift): boolean {
  return drift.stale.length + drift.missing.length + drift.extra.length === 0;
}

/** One line per differing file: `stale: user-events/user.registered/1.0.json`. */
export function describeDrift(drift: ArtifactDrift): string[] {
  return [
    ...drift.stale.map((f) => `stale: ${f}`),
    ...drift.missing.map((f) => `missing: ${f}`),
    ...drift.extra.map((f) => `extra: ${f}`),
  ];
}
