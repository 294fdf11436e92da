/**
 * `npm run events:check [-- --baseline REF | --baseline-dir DIR] [--config FILE]`: whether the
 * catalog's schemas (generated in memory) can replace those of the last release. The release is
 * the checked-in `events/schemas/**` at the latest `v*` tag reachable from HEAD (else at HEAD,
 * as the output says), at `--baseline REF`, or in `--baseline-dir DIR` (laid out like
 * events/schemas/).
 *
 * Rules: every released (event type, version) still exists (topics still hold such events),
 * on the same topic and key, and its schema is compatible with the released one under its
 * subject's mode (events/schemas/compatibility.json; the rules: events/schemas/compatibility.ts).
 * A version not released yet is new and fine. One line per subject, then a summary.
 *
 * Exit codes: 0 compatible; 1 findings; 2 bad command line, configuration or baseline.
 */
import * as path from 'node:path';
import { type EventType, definitionOf, isEventType } from '../../events/catalog';
import { catalogArtifacts } from '../../events/schemas/artifacts';
import { checkCompatibility } from '../../events/schemas/compatibility';
import {
  COMPATIBILITY_CONFIG,
  CompatibilityConfigError,
  type CompatibilityConfig,
  loadCompatibilityConfig,
  modeOf,
} from '../../events/schemas/compatibility-config';
import {
  type Baseline,
  BaselineError,
  baselineFromDir,
  baselineFromRef,
  defaultBaseline,
} from './baseline';

const ROOT = path.resolve(__dirname, '../..');

export const USAGE = `usage: npm run events:check [-- options]

  --baseline REF       compare with the schemas committed at a git ref (default: the latest v* tag
                       reachable from HEAD, else HEAD)
  --baseline-dir DIR   compare with a directory laid out like events/schemas/
  --config FILE        compatibility modes (default: events/schemas/compatibility.json)
  --help               this text`;

interface Args {
  baseline?: string;
  baselineDir?: string;
  config: string;
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Args | 'help' {
  const args: Args = { config: COMPATIBILITY_CONFIG };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined || next.startsWith('--')) throw new UsageError(`${arg} needs a value`);
      return next;
    };
    if (arg === '--help') return 'help';
    else if (arg === '--baseline') args.baseline = value();
    else if (arg === '--baseline-dir') args.baselineDir = path.resolve(value());
    else if (arg === '--config') args.config = path.resolve(value());
    else throw new UsageError(`unknown argument ${JSON.stringify(arg)}`);
  }
  if (args.baseline !== undefined && args.baselineDir !== undefined)
    throw new UsageError('give --baseline or --baseline-dir, not both');
  return args;
}

/** One subject's result: its line, and whether it found anything. */
interface SubjectResult {
  lines: string[];
  status: 'ok' | 'new' | 'incompatible';
}

function checkReleased(
  released: Baseline['artifacts'][number],
  config: CompatibilityConfig,
  current: ReturnType<typeof catalogArtifacts>,
): SubjectResult {
  const { eventType: type, version, subject } = released;
  const prefix = `${type} ${version} (${subject})`;
  const fail = (message: string): SubjectResult => ({
    lines: [`${prefix}: ${message}`],
    status: 'incompatible',
  });
  if (!isEventType(type))
    return fail(
      'released event type removed from the catalog: topics still hold such events; keep it',
    );
  const definition = definitionOf(type as EventType);
  if (!Object.hasOwn(definition.versions, version))
    return fail(
      `released version removed from the catalog: topics still hold such events; keep it (with an upcaster to the next version)`,
    );
  const now = [...current.values()].find((a) => a.eventType === type && a.version === version);
  if (now === undefined) return fail('not generated (internal error)');
  const mode = modeOf(config, subject, released.topic);
  const lines: string[] = [];
  if (now.topic !== released.topic)
    lines.push(
      `${prefix}: moved from topic ${released.topic} to ${now.topic}: consumers of ${released.topic} stop seeing it; add a new event type instead`,
    );
  if (released.key !== undefined && now.key !== released.key)
    lines.push(
      `${prefix}: message key changed from ${released.key} to ${now.key}: one entity's events would land on different partitions, out of order`,
    );
  lines.push(...checkCompatibility({ type, version, subject, mode }, released.schema, now.schema));
  if (lines.length > 0) return { lines, status: 'incompatible' };
  return { lines: [`${prefix}: ok (${mode})`], status: 'ok' };
}

function main(argv: string[]): number {
  let args: Args | 'help';
  let config: CompatibilityConfig;
  let baseline: Baseline & { note?: string };
  try {
    args = parseArgs(argv);
    if (args === 'help') {
      console.log(USAGE);
      return 0;
    }
    config = loadCompatibilityConfig(args.config);
    baseline =
      args.baselineDir !== undefined
        ? baselineFromDir(args.baselineDir)
        : args.baseline !== undefined
          ? baselineFromRef(ROOT, args.baseline)
          : defaultBaseline(ROOT);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`events:check: ${error.message}\n${USAGE}`);
      return 2;
    }
    if (error instanceof CompatibilityConfigError || error instanceof BaselineError) {
      console.error(`events:check: ${error.message}`);
      return 2;
    }
    throw error;
  }

  if (baseline.note !== undefined) console.log(`events:check: ${baseline.note}`);
  console.log(`events:check: comparing the catalog with ${baseline.description}`);
  const current = catalogArtifacts(config);
  const results: SubjectResult[] = baseline.artifacts.map((released) =>
    checkReleased(released, config, current),
  );
  const released = new Set(baseline.artifacts.map((a) => `${a.eventType} ${a.version}`));
  for (const artifact of current.values()) {
    if (released.has(`${artifact.eventType} ${artifact.version}`)) continue;
    results.push({
      lines: [
        `${artifact.eventType} ${artifact.version} (${artifact.subject}): new, not released yet (${artifact.compatibility} from its first release)`,
      ],
      status: 'new',
    });
  }
  for (const result of results) for (const line of result.lines) console.log(line);
  const count = (status: SubjectResult['status']): number =>
    results.filter((r) => r.status === status).length;
  const bad = count('incompatible');
  const summary = `${results.length} subjects: ${count('ok')} ok, ${count('new')} new, ${bad} incompatible`;
  if (bad > 0) {
    console.error(
      `events:check: FAILED, ${summary}. A change a released version's readers cannot take needs a new version of the event type (with an upcaster), not an edit of the released one.`,
    );
    return 1;
  }
  console.log(`events:check: ${summary}`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
