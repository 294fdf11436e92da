/** Command-line flags of the benches: `--help`, strict parsing, integers with bounds. */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type FlagsConfig = NonNullable<ParseArgsConfig['options']>;

const HELP = { help: { type: 'boolean', short: 'h' } } as const;

/**
 * Parses `process.argv` strictly against `flags` plus `--help`/`-h`, which prints `usage` and
 * exits 0. An unknown flag throws.
 */
export function parseFlags<const F extends FlagsConfig>(flags: F, usage: string) {
  const { values } = parseArgs({ options: { ...flags, ...HELP }, strict: true });
  if ((values as { help?: boolean }).help === true) {
    process.stdout.write(usage);
    process.exit(0);
  }
  return values;
}

/**
 * The integer flag `--name` given as `raw`, or `fallback` when it was not given.
 * @param min - the least value accepted; 1 by default
 * @throws when `raw` is not an integer of at least `min`.
 */
export function integerFlag(
  name: string,
  raw: string | undefined,
  fallback: number,
  min = 1,
): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`--${name} must be an integer >= ${min} (got ${raw})`);
  }
  return value;
}
