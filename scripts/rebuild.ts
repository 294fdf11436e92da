/**
 * `npm run rebuild -- <read model> [flags]`: rebuilds a service's read model from the log into a
 * fresh store, compares it with the live one and swaps it in without downtime
 * (events/rebuild). The database (DATA_DIR or DATABASE_URL), KAFKA_BROKERS (else the local
 * broker's port) and KAFKA_TOPIC_PREFIX come from the configuration, as for the service.
 *
 * Exit codes: 0 swapped (or, with --dry-run, the stores are equal); 1 failed (database or Kafka
 * unreachable, the replay timed out; nothing changed); 2 bad command line or configuration,
 * every problem listed; 3 the stores differ, nothing swapped (no --force, or --dry-run).
 */
import { ConfigError, loadConfig } from '../config';
import { processIo, runCommand, UsageError, type CliIo } from './cli';
import {
  rebuildReadModel,
  formatReport,
  type ReadModel,
  type RebuildOptions,
} from '../events/rebuild';
import { createProcessLogger } from '../lib/logger';
import { reportingReadModel } from '../subgraphs/reporting/read-model';
import { usersReadModel } from '../subgraphs/users/read-model';

/** Thrown by `parseArgs` (from `./cli`, shared by the commands). */
export { UsageError };

/** The read models `npm run rebuild` knows, by name. */
export const READ_MODELS: Record<string, ReadModel> = {
  reporting: reportingReadModel,
  users: usersReadModel,
};

export const USAGE = `usage: npm run rebuild -- <read model> [flags]

read models:
  reporting   interview reports, stats and the audit trail (reporting-service-group,
              audit-service-group) from interview-events, user-events and system-events
  users       the users' activity (user-service-group); profiles are not touched

flags:
  --dry-run               build and compare, change nothing
  --force                 swap although the stores differ (after fixing a projection, say);
                          also --accept-differences
  --database-name NAME    the live SQLite file or PostgreSQL schema (default: the service's name)
  --timeout-ms N          longest wait for the replay to reach a position (default 600000)
  --json                  print the report as one JSON object instead of tables
  --help                  this text

exit codes: 0 swapped (dry run: equal), 1 failed (nothing changed), 2 bad command line or
configuration, 3 the stores differ: nothing swapped`;

/** A parsed command line. */
export interface RebuildArgs {
  readModel: string;
  dryRun: boolean;
  force: boolean;
  json: boolean;
  databaseName?: string;
  timeoutMs?: number;
}

/**
 * Parses `argv` (without `node` and the script).
 * @returns `'help'` for `--help`.
 * @throws {UsageError} listing every problem.
 */
export function parseArgs(argv: readonly string[]): RebuildArgs | 'help' {
  if (argv.includes('--help') || argv.includes('-h')) return 'help';
  const problems: string[] = [];
  const positional: string[] = [];
  const args: Omit<RebuildArgs, 'readModel'> = { dryRun: false, force: false, json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const value = () => {
      if (eq > 0 && arg.startsWith('--')) return arg.slice(eq + 1);
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) {
        problems.push(`${name} needs a value`);
        return undefined;
      }
      i++;
      return next;
    };
    if (name === '--dry-run') args.dryRun = true;
    else if (name === '--json') args.json = true;
    else if (name === '--force' || name === '--accept-differences') args.force = true;
    else if (name === '--database-name') {
      const v = value();
      if (v !== undefined) {
        if (/^[A-Za-z0-9_-]+$/.test(v)) args.databaseName = v;
        else problems.push(`--database-name: letters, digits, "_" and "-" only (got ${v})`);
      }
    } else if (name === '--timeout-ms') {
      const v = value();
      if (v !== undefined) {
        const n = Number(v);
        if (Number.isInteger(n) && n > 0) args.timeoutMs = n;
        else problems.push(`--timeout-ms: a positive whole number of milliseconds (got ${v})`);
      }
    } else if (arg.startsWith('-')) problems.push(`unknown flag ${arg}`);
    else positional.push(arg);
  }
  const known = Object.keys(READ_MODELS).join(', ');
  if (positional.length === 0) problems.push(`name the read model to rebuild: ${known}`);
  else if (positional.length > 1)
    problems.push(`one read model at a time (got ${positional.join(', ')})`);
  else if (!((positional[0] as string) in READ_MODELS))
    problems.push(`unknown read model ${positional[0]}: ${known}`);
  if (args.dryRun && args.force) problems.push('--dry-run swaps nothing: drop --force');
  if (problems.length > 0) throw new UsageError(problems);
  return { readModel: positional[0] as string, ...args };
}

/** Where `main` writes, and what it reads; tests hand their own. */
export type RebuildIo = CliIo;

/**
 * Runs one command line (see the module's comment).
 * @returns the exit code.
 */
export function main(argv: readonly string[], io: RebuildIo = processIo): Promise<number> {
  return runCommand(argv, io, USAGE, parseArgs, (args) => run(args, io));
}

async function run(args: RebuildArgs, io: RebuildIo): Promise<number> {
  let options: RebuildOptions;
  try {
    const config = loadConfig(io.env);
    options = {
      readModel: READ_MODELS[args.readModel] as ReadModel,
      database: config.database,
      kafka: {
        brokers: config.kafka.brokers ?? [`127.0.0.1:${config.localKafka.port}`],
        topicPrefix: config.kafka.topicPrefix,
      },
      dryRun: args.dryRun,
      force: args.force,
      ...(args.databaseName ? { databaseName: args.databaseName } : {}),
      ...(args.timeoutMs ? { timeoutMs: args.timeoutMs } : {}),
      logger: createProcessLogger(config, { service: 'rebuild' }),
    };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.stderr(error.message);
    return 2;
  }
  try {
    const report = await rebuildReadModel(options);
    io.stdout(args.json ? JSON.stringify(report) : formatReport(report));
    return report.swapped || (args.dryRun && report.equal) ? 0 : 3;
  } catch (error) {
    io.stderr(
      `rebuild of ${args.readModel} failed, nothing changed: ${error instanceof Error ? error.message : String(error)}`,
    );
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
