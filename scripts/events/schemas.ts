/**
 * `npm run events:schemas [-- --check] [--config FILE]`: writes the catalog's schemas as
 * checked-in artifacts, one file per event type and version,
 * `events/schemas/<topic>/<eventType>/<version>.json` (events/schemas/artifacts.ts), and removes
 * artifact files no catalog version has.
 *
 * `--check` writes nothing and lists stale, missing and extra files.
 * Exit codes: 0 done (or up to date); 1 `--check` found differences; 2 bad command line or
 * configuration.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  COMPATIBILITY_CONFIG,
  CompatibilityConfigError,
  loadCompatibilityConfig,
} from '../../events/schemas/compatibility-config';
import { SCHEMAS_DIR, describeDrift, driftOf, isClean, renderArtifacts } from './artifacts';

const USAGE = 'usage: npm run events:schemas [-- --check] [--config FILE]';

async function main(argv: string[]): Promise<number> {
  let check = false;
  let configFile = COMPATIBILITY_CONFIG;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--check') check = true;
    else if (arg === '--config' && argv[i + 1] !== undefined) configFile = argv[++i] as string;
    else if (arg === '--help') {
      console.log(USAGE);
      return 0;
    } else {
      console.error(`events:schemas: unknown argument ${JSON.stringify(arg)}\n${USAGE}`);
      return 2;
    }
  }
  let expected: Map<string, string>;
  try {
    expected = renderArtifacts(loadCompatibilityConfig(configFile));
  } catch (error) {
    if (error instanceof CompatibilityConfigError) {
      console.error(`events:schemas: ${error.message}`);
      return 2;
    }
    throw error;
  }
  const drift = driftOf(expected);
  if (check) {
    if (isClean(drift)) {
      console.log(`events:schemas: ${expected.size} schema files up to date`);
      return 0;
    }
    console.error(
      `events:schemas: the checked-in schemas differ from the catalog (run \`npm run events:schemas\`):\n${describeDrift(
        drift,
      )
        .map((line) => `  ${line}`)
        .join('\n')}`,
    );
    return 1;
  }
  for (const relative of [...drift.stale, ...drift.missing]) {
    const file = path.join(SCHEMAS_DIR, relative);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, expected.get(relative) as string);
  }
  for (const relative of drift.extra) rmSync(path.join(SCHEMAS_DIR, relative));
  for (const line of describeDrift(drift))
    console.log(line.replace(/^(stale|missing)/, 'wrote').replace(/^extra/, 'removed'));
  console.log(`events:schemas: ${expected.size} schema files under events/schemas/`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
