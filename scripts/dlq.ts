/**
 * `npm run dlq -- list|show|replay|discard [flags]`: the dead letters of the platform's topics
 * (events/dead-letters). KAFKA_BROKERS (else the local broker's port) and KAFKA_TOPIC_PREFIX come
 * from the configuration.
 *
 * Exit codes: 0 done; 1 failed (Kafka unreachable, `show` found nothing); 2 bad command line or
 * configuration, every problem listed.
 */
import { ConfigError, loadConfig } from '../config';
import { processIo, runCommand, UsageError, type CliIo } from './cli';
import {
  DeadLetterInputError,
  createDeadLetterStore,
  parseDeadLetterRef,
  statusOf,
  type ActionResult,
  type DeadLetterFilter,
  type DeadLetterRecord,
  type DeadLetterRef,
  type DeadLetterStore,
  type DeadLetterStoreOptions,
} from '../events/dead-letters';
import { TOPICS, isTopic, type Topic } from '../events/topics';

/** Thrown by `parseArgs` (from `./cli`, shared by the commands). */
export { UsageError };

export const USAGE = `usage: npm run dlq -- <command> [flags]

commands:
  list                 dead letters, oldest first (open ones unless --all)
  show --id ID         one dead letter (or every one of an eventId): headers and payload
  replay <selection>   send them back to their original topics (dlq-replays counts)
  discard <selection>  record them as discarded; list and replay skip them

flags (a selection is at least one of them):
  --topic T      user-events, interview-events, system-events (or T.dlq); repeat or comma-separate
  --group G      the consumer group that gave up, e.g. user-service-group
  --type T       event type, e.g. user.registered
  --reason TEXT  substring of dlq-reason (case-insensitive)
  --since ISO    dead-lettered at or after, e.g. 2026-12-01T00:00:00Z
  --until ISO    dead-lettered before
  --id ID        DLQ coordinates (user-events.dlq/0/42) or an eventId; repeat or comma-separate
  --all          include dead letters already replayed or discarded
  --dry-run      replay/discard: say what would be done, change nothing
  --help         this text`;

export const COMMANDS = ['list', 'show', 'replay', 'discard'] as const;
export type Command = (typeof COMMANDS)[number];

/** A parsed command line. */
export interface DlqArgs {
  command: Command;
  filter: DeadLetterFilter;
  dryRun: boolean;
}

const VALUE_FLAGS = ['--topic', '--group', '--type', '--reason', '--since', '--until', '--id'];
const SWITCHES = ['--all', '--dry-run'];

/**
 * Parses `argv` (without `node` and the script).
 * @returns `'help'` for `--help`.
 * @throws {UsageError} listing every problem.
 */
export function parseArgs(argv: readonly string[]): DlqArgs | 'help' {
  if (argv.includes('--help') || argv.includes('-h')) return 'help';
  const problems: string[] = [];
  const values = new Map<string, string[]>();
  const switches = new Set<string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    if (VALUE_FLAGS.includes(name)) {
      const value = eq > 0 && name !== arg ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '' || (name === arg && value.startsWith('--'))) {
        problems.push(`${name} needs a value`);
        if (value?.startsWith('--')) i--;
        continue;
      }
      values.set(name, [...(values.get(name) ?? []), value]);
    } else if (SWITCHES.includes(arg)) {
      switches.add(arg);
    } else if (arg.startsWith('-')) {
      problems.push(`unknown flag ${arg}`);
    } else {
      positional.push(arg);
    }
  }

  const [command, ...extra] = positional;
  if (command === undefined) problems.push(`name a command: ${COMMANDS.join(', ')}`);
  else if (!(COMMANDS as readonly string[]).includes(command)) {
    problems.push(`unknown command "${command}": one of ${COMMANDS.join(', ')}`);
  }
  if (extra.length > 0) problems.push(`unexpected argument(s): ${extra.join(' ')}`);

  const list = (flag: string) =>
    (values.get(flag) ?? []).flatMap((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );
  const single = (flag: string): string | undefined => {
    const given = values.get(flag) ?? [];
    if (given.length > 1) problems.push(`${flag} given ${given.length} times; give it once`);
    return given[given.length - 1];
  };
  const date = (flag: string): Date | undefined => {
    const raw = single(flag);
    if (raw === undefined) return undefined;
    const parsed = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(raw)
      ? new Date(raw)
      : new Date(NaN);
    if (Number.isNaN(parsed.getTime())) {
      problems.push(`${flag} "${raw}" is not an ISO-8601 date-time, e.g. 2026-12-01T09:00:00Z`);
      return undefined;
    }
    return parsed;
  };

  const topics: Topic[] = [];
  for (const raw of list('--topic')) {
    const logical = raw.endsWith('.dlq') ? raw.slice(0, -'.dlq'.length) : raw;
    if (isTopic(logical)) topics.push(logical);
    else problems.push(`--topic "${raw}" is not a topic: one of ${TOPICS.join(', ')}`);
  }
  const ids: DeadLetterRef[] = [];
  for (const raw of list('--id')) {
    try {
      ids.push(parseDeadLetterRef(raw));
    } catch (error) {
      problems.push(`--id ${(error as Error).message}`);
    }
  }
  const filter: DeadLetterFilter = {};
  if (topics.length > 0) filter.topics = [...new Set(topics)];
  const group = single('--group');
  if (group !== undefined) filter.group = group;
  const type = single('--type');
  if (type !== undefined) filter.eventType = type;
  const reason = single('--reason');
  if (reason !== undefined) filter.reason = reason;
  const since = date('--since');
  if (since) filter.since = since;
  const until = date('--until');
  if (until) filter.until = until;
  if (since && until && since >= until) problems.push('--since must be before --until');
  if (ids.length > 0) filter.ids = ids;
  if (switches.has('--all')) filter.includeResolved = true;

  const dryRun = switches.has('--dry-run');
  if (command === 'show') {
    if (list('--id').length !== 1) problems.push('show needs exactly one --id');
    filter.includeResolved = true;
  }
  if (command === 'replay' || command === 'discard') {
    const selects = ['--topic', '--group', '--type', '--reason', '--since', '--until', '--id'];
    if (!selects.some((f) => values.has(f))) {
      problems.push(
        `${command} needs a selection (--id, --topic, --group, --type, --reason, --since or --until); list first to see what it would take`,
      );
    }
  } else if (dryRun) {
    problems.push(`--dry-run is for replay and discard, not ${command}`);
  }
  if (problems.length > 0) throw new UsageError(problems);
  return { command: command as Command, filter, dryRun };
}

/** Rows as an aligned text table with a header line. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

const cut = (text: string, max: number) =>
  text.length > max ? `${text.slice(0, max - 1)}…` : text;

/** The `list` table of `records`. */
export function formatList(records: DeadLetterRecord[]): string {
  if (records.length === 0) return 'No dead letters match.';
  const rows = records.map((r) => [
    r.id,
    r.failedAt.toISOString(),
    r.eventType ?? '?',
    r.eventId ?? '?',
    r.groupId ?? '?',
    String(r.attempts ?? '?'),
    String(r.replays + (r.resolution?.replays ?? 0)),
    statusOf(r),
    cut(r.reason.replace(/\s+/g, ' '), 80),
  ]);
  const table = formatTable(
    ['ID', 'FAILED AT', 'TYPE', 'EVENT ID', 'GROUP', 'ATTEMPTS', 'REPLAYS', 'STATUS', 'REASON'],
    rows,
  );
  return `${table}\n${records.length} dead letter${records.length === 1 ? '' : 's'}`;
}

/** One dead letter in full: fields, headers, payload. */
export function formatRecord(r: DeadLetterRecord): string {
  let payload = r.value ?? '(no value)';
  try {
    payload = JSON.stringify(JSON.parse(payload), null, 2);
  } catch {
    // Not JSON (an invalid message): shown as it is.
  }
  const fields: [string, string][] = [
    ['id', r.id],
    ['status', statusOf(r) + (r.resolution ? ` at ${r.resolution.at}` : '')],
    ['event', `${r.eventType ?? '?'} ${r.eventId ?? '?'}`],
    ['key', r.key ?? '(none)'],
    ['failed at', r.failedAt.toISOString()],
    ['group', `${r.groupId ?? '?'} (${r.service ?? '?'}), attempts ${r.attempts ?? '?'}`],
    [
      'original',
      `${r.originalTopic ?? '?'}/${r.originalPartition ?? '?'}/${r.originalOffset ?? '?'}`,
    ],
    ['replays', String(r.replays + (r.resolution?.replays ?? 0))],
    ['reason', r.reason],
  ];
  const headers = Object.entries(r.headers).map(([k, v]) => [`  ${k}`, v] as [string, string]);
  return [
    formatTable(['FIELD', 'VALUE'], fields).split('\n').slice(1).join('\n'),
    'headers:',
    formatTable(['', ''], headers).split('\n').slice(1).join('\n'),
    'payload:',
    payload,
  ].join('\n');
}

const refText = (ref: DeadLetterRef | undefined): string =>
  ref === undefined
    ? ''
    : ref.kind === 'eventId'
      ? ref.eventId
      : `${ref.topic}/${ref.partition}/${ref.offset}`;

function formatAction<T>(
  verb: string,
  result: ActionResult<T>,
  row: (item: T) => string[],
  header: string[],
): string {
  const out: string[] = [];
  const done = result.dryRun ? `would be ${verb}` : verb;
  if (result.done.length > 0) {
    out.push(formatTable(header, result.done.map(row)));
  }
  out.push(`${result.done.length} ${done}`);
  if (result.skipped.length > 0) {
    out.push(
      formatTable(
        ['SKIPPED', 'WHY'],
        result.skipped.map((s) => [
          s.record.id,
          `${s.reason}${s.reason.startsWith('already') ? ' (--all takes it)' : ''}`,
        ]),
      ),
    );
  }
  for (const ref of result.notFound) out.push(`not found: ${refText(ref)}`);
  return out.join('\n');
}

/** Where `main` writes and what it reads. */
export interface DlqIo extends CliIo {
  /** Builds the store; tests may hand their own. */
  store?: (options: DeadLetterStoreOptions) => DeadLetterStore;
}

/**
 * Runs one command line (see the module's comment).
 * @returns the exit code.
 */
export function main(argv: readonly string[], io: DlqIo = processIo): Promise<number> {
  return runCommand(argv, io, USAGE, parseArgs, (args) => run(args, io));
}

async function run(args: DlqArgs, io: DlqIo): Promise<number> {
  let options: DeadLetterStoreOptions;
  try {
    const { kafka, localKafka } = loadConfig(io.env);
    options = {
      brokers: kafka.brokers ?? [`127.0.0.1:${localKafka.port}`],
      topicPrefix: kafka.topicPrefix,
      replicationFactor: kafka.replicationFactor,
      minInsyncReplicas: kafka.minInsyncReplicas,
    };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.stderr(error.message);
    return 2;
  }
  const store = (io.store ?? createDeadLetterStore)(options);
  try {
    const { command, filter, dryRun } = args;
    if (command === 'list') {
      io.stdout(formatList(await store.list(filter)));
    } else if (command === 'show') {
      const records = await store.list(filter);
      if (records.length === 0) {
        io.stderr(`No dead letter ${refText(filter.ids?.[0])} found.`);
        return 1;
      }
      io.stdout(records.map(formatRecord).join('\n\n'));
    } else if (command === 'replay') {
      const result = await store.replay(filter, { dryRun });
      io.stdout(
        formatAction(
          'replayed',
          result,
          (r) => [
            r.record.id,
            r.record.eventType ?? '?',
            r.record.eventId ?? '?',
            r.topic,
            String(r.replays),
          ],
          ['ID', 'TYPE', 'EVENT ID', 'TO', 'DLQ-REPLAYS'],
        ),
      );
    } else {
      const result = await store.discard(filter, { dryRun });
      io.stdout(
        formatAction(
          'discarded',
          result,
          (r) => [r.id, r.eventType ?? '?', r.eventId ?? '?', cut(r.reason, 60)],
          ['ID', 'TYPE', 'EVENT ID', 'REASON'],
        ),
      );
    }
    return 0;
  } catch (error) {
    if (error instanceof DeadLetterInputError) {
      io.stderr(`error: ${error.message}`);
      return 2;
    }
    io.stderr(
      `dlq ${args.command} failed: ${error instanceof Error ? error.message : String(error)}`,
    );
    return 1;
  } finally {
    await store.stop();
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
