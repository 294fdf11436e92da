import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main, parseArgs, UsageError, USAGE } from './rebuild';

function problems(argv: string[]): string[] {
  try {
    parseArgs(argv);
  } catch (error) {
    if (error instanceof UsageError) return error.problems;
    throw error;
  }
  return [];
}

/** `main` with its output captured. */
async function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    env,
  });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

describe('npm run rebuild: flags', () => {
  it('parses a read model with every flag', () => {
    expect(
      parseArgs([
        'reporting',
        '--force',
        '--database-name=reporting_1',
        '--timeout-ms',
        '5000',
        '--json',
      ]),
    ).toEqual({
      readModel: 'reporting',
      dryRun: false,
      force: true,
      json: true,
      databaseName: 'reporting_1',
      timeoutMs: 5000,
    });
    expect(parseArgs(['users', '--dry-run'])).toMatchObject({ readModel: 'users', dryRun: true });
    expect(parseArgs(['users', '--accept-differences'])).toMatchObject({ force: true });
    expect(parseArgs(['--help'])).toBe('help');
  });

  it('lists every problem of a bad command line', () => {
    expect(problems([])).toEqual(['name the read model to rebuild: reporting, users']);
    expect(
      problems(['interviews', '--fast', '--timeout-ms', '-1', '--database-name', 'a b']),
    ).toEqual([
      'unknown flag --fast',
      '--timeout-ms: a positive whole number of milliseconds (got -1)',
      '--database-name: letters, digits, "_" and "-" only (got a b)',
      'unknown read model interviews: reporting, users',
    ]);
    expect(problems(['users', 'reporting'])).toEqual([
      'one read model at a time (got users, reporting)',
    ]);
    expect(problems(['users', '--dry-run', '--force'])).toEqual([
      '--dry-run swaps nothing: drop --force',
    ]);
    expect(problems(['users', '--timeout-ms'])).toEqual(['--timeout-ms needs a value']);
  });
});

describe('npm run rebuild: exit codes', () => {
  it('prints the usage for --help and exits 0', async () => {
    expect(await run(['--help'])).toEqual({ code: 0, stdout: USAGE, stderr: '' });
  });

  it('exits 2 with the problems and the usage for a bad command line', async () => {
    const result = await run(['nope']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('error: unknown read model nope: reporting, users');
    expect(result.stderr).toContain('usage: npm run rebuild');
  });

  it('exits 2 listing every invalid variable of a bad configuration', async () => {
    const result = await run(['reporting'], {
      KAFKA_BROKERS: 'not a broker',
      KAFKA_TOPIC_PREFIX: 'bad prefix!',
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('KAFKA_BROKERS');
    expect(result.stderr).toContain('KAFKA_TOPIC_PREFIX');
  });

  it('exits 1, creating nothing, when the live database is not there', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ig-test-db-'));
    try {
      // The database is checked before any broker is asked: this one does not exist.
      const result = await run(['users', '--database-name', 'nothing_here'], {
        KAFKA_BROKERS: '127.0.0.1:1',
        DATA_DIR: dataDir,
        LOG_LEVEL: 'silent',
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        `rebuild of users failed, nothing changed: no database at ${join(dataDir, 'nothing_here.sqlite')}: check DATA_DIR, or name the file with --database-name`,
      );
      expect(readdirSync(dataDir)).toEqual([]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
