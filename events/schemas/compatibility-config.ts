/**
 * The compatibility mode of each subject (`events/schemas/compatibility.json`): a default, then
 * per topic, then per subject, the most specific winning. Validated on load: a typo in a mode, a
 * topic or a subject is an error naming the file and the key, never a silent default.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { TOPICS } from '../topics';
import { MODES, type Mode } from './compatibility';
import { catalogVersions, subjectOf } from './json-schema';

/** Where the configuration is checked in. */
export const COMPATIBILITY_CONFIG = path.join(__dirname, 'compatibility.json');

export interface CompatibilityConfig {
  default: Mode;
  topics: Record<string, Mode>;
  subjects: Record<string, Mode>;
}

/** A configuration that cannot be used; `problems` lists every one. */
export class CompatibilityConfigError extends Error {
  override readonly name = 'CompatibilityConfigError';
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(
      `bad compatibility configuration ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
}

function isMode(value: unknown): value is Mode {
  return typeof value === 'string' && (MODES as readonly string[]).includes(value);
}

const MODE_LIST = MODES.join(', ');

/**
 * Validates a parsed configuration. Topics must be the platform's; subjects, by default, those
 * of the catalog (`knownSubjects`), so an override cannot silently miss.
 */
export function parseCompatibilityConfig(
  value: unknown,
  source: string,
  knownSubjects: readonly string[] = catalogVersions().map(({ type, version }) =>
    subjectOf(type, version),
  ),
): CompatibilityConfig {
  const problems: string[] = [];
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new CompatibilityConfigError(source, [
      'must be an object: { "default": MODE, "topics": {}, "subjects": {} }',
    ]);
  const raw = value as Record<string, unknown>;
  for (const key of Object.keys(raw))
    if (!['default', 'topics', 'subjects'].includes(key))
      problems.push(`unknown key "${key}" (expected default, topics, subjects)`);
  if (!isMode(raw.default))
    problems.push(`"default" must be one of ${MODE_LIST}, got ${JSON.stringify(raw.default)}`);
  const section = (
    name: 'topics' | 'subjects',
    known: readonly string[],
    what: string,
  ): Record<string, Mode> => {
    const entries = raw[name] ?? {};
    if (typeof entries !== 'object' || entries === null || Array.isArray(entries)) {
      problems.push(`"${name}" must be an object of ${what} to mode`);
      return {};
    }
    const out: Record<string, Mode> = {};
    for (const [key, mode] of Object.entries(entries as Record<string, unknown>)) {
      if (!known.includes(key)) problems.push(`${name}.${key}: unknown ${what}`);
      if (isMode(mode)) out[key] = mode;
      else
        problems.push(
          `${name}.${key}: mode must be one of ${MODE_LIST}, got ${JSON.stringify(mode)}`,
        );
    }
    return out;
  };
  const topics = section('topics', TOPICS, 'topic');
  const subjects = section('subjects', knownSubjects, 'subject (<topic>-<eventType>-<version>)');
  if (problems.length > 0) throw new CompatibilityConfigError(source, problems);
  return { default: raw.default as Mode, topics, subjects };
}

/** Reads and validates the configuration file. */
export function loadCompatibilityConfig(file = COMPATIBILITY_CONFIG): CompatibilityConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CompatibilityConfigError(file, [`cannot read it: ${(error as Error).message}`]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CompatibilityConfigError(file, [`not JSON: ${(error as Error).message}`]);
  }
  return parseCompatibilityConfig(value, file);
}

/** The mode of a subject: its own override, else its topic's, else the default. */
export function modeOf(config: CompatibilityConfig, subject: string, topic: string): Mode {
  return config.subjects[subject] ?? config.topics[topic] ?? config.default;
}
