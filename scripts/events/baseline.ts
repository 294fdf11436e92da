/**
 * The schemas of the last release, for `npm run events:check`: the artifact files
 * (`events/schemas/<topic>/<eventType>/<version>.json`) of a directory, or of a git ref (by
 * default the latest `v*` tag reachable from HEAD, else HEAD itself).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { SchemaNode } from '../../events/schemas/compatibility';
import { artifactFilesIn } from './artifacts';

/** What a released artifact must hold for the check. */
export interface ReleasedArtifact {
  file: string;
  subject: string;
  eventType: string;
  version: string;
  topic: string;
  key: string | undefined;
  schema: SchemaNode;
}

/** A baseline that cannot be read (a bad ref, a missing directory, a malformed file). */
export class BaselineError extends Error {
  override readonly name = 'BaselineError';
}

/** The released artifacts, and where they came from (for the output). */
export interface Baseline {
  description: string;
  artifacts: ReleasedArtifact[];
}

const ARTIFACT = /^[^/]+\/[^/]+\/[^/]+\.json$/;

function parseArtifact(file: string, text: string): ReleasedArtifact {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new BaselineError(`baseline file ${file} is not JSON: ${(error as Error).message}`);
  }
  const raw = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const missing = ['subject', 'eventType', 'version', 'topic'].filter(
    (field) => typeof raw[field] !== 'string',
  );
  const schema = raw.schema;
  if (typeof schema !== 'boolean' && (typeof schema !== 'object' || schema === null))
    missing.push('schema');
  if (missing.length > 0)
    throw new BaselineError(
      `baseline file ${file} is not a schema artifact: it lacks ${missing.join(', ')}`,
    );
  return {
    file,
    subject: raw.subject as string,
    eventType: raw.eventType as string,
    version: raw.version as string,
    topic: raw.topic as string,
    key: typeof raw.key === 'string' ? raw.key : undefined,
    schema: schema as SchemaNode,
  };
}

/** The artifacts of a directory laid out like `events/schemas/`. */
export function baselineFromDir(dir: string): Baseline {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new BaselineError(`baseline directory ${dir} does not exist`);
  return {
    description: `the schemas in ${dir}`,
    artifacts: artifactFilesIn(dir).map((relative) =>
      parseArtifact(relative, readFileSync(path.join(dir, relative), 'utf8')),
    ),
  };
}

function git(root: string, args: string[]): string {
  return execFileSync('git', args, {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** The artifacts committed under `events/schemas/` at a git ref. */
export function baselineFromRef(root: string, ref: string, description = ref): Baseline {
  let commit: string;
  try {
    commit = git(root, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]).trim();
  } catch {
    throw new BaselineError(`baseline ${JSON.stringify(ref)} is not a git commit, tag or branch`);
  }
  const prefix = 'events/schemas/';
  const files = git(root, ['ls-tree', '-r', '--name-only', commit, '--', prefix])
    .split('\n')
    .filter((file) => file.startsWith(prefix) && ARTIFACT.test(file.slice(prefix.length)))
    .sort();
  return {
    description: `the schemas committed at ${description} (${commit.slice(0, 12)})`,
    artifacts: files.map((file) =>
      parseArtifact(`${ref}:${file}`, git(root, ['show', `${commit}:${file}`])),
    ),
  };
}

/** The latest `v*` tag reachable from HEAD, else HEAD (with a note saying so). */
export function defaultBaseline(root: string): Baseline & { note?: string } {
  let tag: string | undefined;
  try {
    tag = git(root, ['describe', '--tags', '--abbrev=0', '--match', 'v*']).trim() || undefined;
  } catch {
    tag = undefined;
  }
  if (tag !== undefined) return baselineFromRef(root, tag, `release ${tag}`);
  return {
    ...baselineFromRef(root, 'HEAD'),
    note: 'no release tag (v*) is reachable from HEAD: comparing with the schemas committed at HEAD',
  };
}
