/**
 * The pure half of a rebuild: live rows against rebuilt rows, table by table, and the summary
 * `npm run rebuild` prints. Both sides come from the same database engine (the fresh store is
 * made like the live one), so values are compared as that engine returns them.
 */
import type { ReadModelTable } from './read-model';

/** A row as the database driver returns it, by column name. */
export type Row = Record<string, unknown>;

/** How many examples of each kind of difference a comparison keeps. */
export const SAMPLES = 5;

/** One table, live against rebuilt. */
export interface TableComparison {
  table: string;
  /** Rows of the read model in the live store (in-flight ones included). */
  live: number;
  rebuilt: number;
  /** Pairs (by key) equal in every compared column. */
  equal: number;
  /** Pairs whose compared columns differ. */
  different: number;
  /** Keys only the live store has (not in flight). */
  onlyLive: number;
  /** Keys only the rebuilt store has. */
  onlyRebuilt: number;
  /** Live rows of events the live groups have not processed yet: kept, not compared. */
  inFlight: number;
  /** A few of the differences, one line each (`key: column live → rebuilt`). */
  samples: string[];
}

/** The form two values are compared in: dates as ISO strings, buffers in hex, others as JSON. */
export function canonical(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return `0x${value.toString('hex')}`;
  if (typeof value === 'bigint') return value.toString();
  return JSON.stringify(value ?? null);
}

/** The row's key, e.g. `["i-1"]` or `["e-1","audit-service-group"]`. */
export function rowKey(table: Pick<ReadModelTable, 'key'>, row: Row): string {
  return `[${table.key.map((column) => canonical(row[column])).join(',')}]`;
}

/** The columns a comparison looks at: every column of either row but the ignored ones. */
function comparedColumns(table: ReadModelTable, a: Row, b: Row): string[] {
  const ignored = new Set(Object.keys(table.ignore ?? {}));
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((c) => !ignored.has(c));
}

/**
 * Compares the read model's rows of `table`: `live` and `rebuilt` paired by key. A live row
 * whose `eventColumn` names an event `liveProcessed` says no live group handled yet is in flight.
 */
export function compareTable(
  table: ReadModelTable,
  live: readonly Row[],
  rebuilt: readonly Row[],
  liveProcessed: (eventId: string) => boolean = () => true,
): TableComparison {
  const result: TableComparison = {
    table: table.name,
    live: live.length,
    rebuilt: rebuilt.length,
    equal: 0,
    different: 0,
    onlyLive: 0,
    onlyRebuilt: 0,
    inFlight: 0,
    samples: [],
  };
  const sample = (line: string) => {
    if (result.samples.length < SAMPLES) result.samples.push(line);
  };
  const rebuiltByKey = new Map(rebuilt.map((row) => [rowKey(table, row), row]));
  const seen = new Set<string>();
  for (const row of live) {
    const key = rowKey(table, row);
    seen.add(key);
    const other = rebuiltByKey.get(key);
    if (other === undefined) {
      const eventId = table.eventColumn ? row[table.eventColumn] : undefined;
      if (typeof eventId === 'string' && !liveProcessed(eventId)) result.inFlight++;
      else {
        result.onlyLive++;
        sample(`${key}: only in the live store`);
      }
      continue;
    }
    const differing = comparedColumns(table, row, other).filter(
      (column) => canonical(row[column]) !== canonical(other[column]),
    );
    if (differing.length === 0) result.equal++;
    else {
      result.different++;
      sample(
        `${key}: ${differing
          .map((c) => `${c} ${canonical(row[c])} → ${canonical(other[c])}`)
          .join(', ')}`,
      );
    }
  }
  for (const [key] of rebuiltByKey) {
    if (seen.has(key)) continue;
    result.onlyRebuilt++;
    sample(`${key}: only in the rebuilt store`);
  }
  return result;
}

/** True when the comparison found nothing but equal pairs (and in-flight rows). */
export function isEqual(comparison: TableComparison): boolean {
  return comparison.different + comparison.onlyLive + comparison.onlyRebuilt === 0;
}

/** What a replay did on one topic for one group. */
export interface TopicReplay {
  group: string;
  topic: string;
  /** Events handed to the service's handlers. */
  replayed: number;
  /** Messages that did not validate (the live consumer dead-lettered them too). */
  invalid: number;
  /** Events whose handler failed alone (the live consumer dead-lettered them after retries). */
  failed: number;
  /** Events the live group read past without handling them (dead-lettered): not replayed. */
  passed: number;
  /** Partitions whose earliest offset is above 0: events the topic no longer holds. */
  truncated: number;
}

/** What a rebuild did and found; {@link formatReport} prints it. */
export interface RebuildReport {
  readModel: string;
  mode: 'swap' | 'dry-run';
  topics: TopicReplay[];
  tables: TableComparison[];
  /** How long the live tables were locked for writes (catch-up, comparison and copy). */
  lockMs: number;
  /** Whole run. */
  totalMs: number;
  /** Whether every table compared equal (in-flight rows aside). */
  equal: boolean;
  /** Whether the live tables now hold the rebuilt content. */
  swapped: boolean;
  /** Why not, when not. */
  reason?: string;
}

/** A plain text table: columns padded, numbers right-aligned. */
export function textTable(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[], numeric: boolean[]) =>
    r
      .map((cell, i) => (numeric[i] ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const numeric = header.map(
    (_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'),
  );
  return [
    line(header, numeric),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...cells.slice(1).map((r) => line(r, numeric)),
  ].join('\n');
}

/** The summary `npm run rebuild` prints: replay per topic, tables live vs rebuilt, the outcome. */
export function formatReport(report: RebuildReport): string {
  const replay = textTable(
    ['group', 'topic', 'replayed', 'invalid', 'failed', 'passed by live', 'truncated partitions'],
    report.topics.map((t) => [
      t.group,
      t.topic,
      t.replayed,
      t.invalid,
      t.failed,
      t.passed,
      t.truncated,
    ]),
  );
  const tables = textTable(
    ['table', 'live', 'rebuilt', 'equal', 'different', 'only live', 'only rebuilt', 'in flight'],
    report.tables.map((t) => [
      t.table,
      t.live,
      t.rebuilt,
      t.equal,
      t.different,
      t.onlyLive,
      t.onlyRebuilt,
      t.inFlight,
    ]),
  );
  const samples = report.tables.flatMap((t) => t.samples.map((s) => `  ${t.table} ${s}`));
  const outcome = report.swapped
    ? `swapped: the live tables hold the rebuilt content`
    : `not swapped: ${report.reason ?? 'dry run'}`;
  return [
    `Rebuild of ${report.readModel} (${report.mode})`,
    '',
    replay,
    '',
    tables,
    ...(samples.length > 0 ? ['', 'Differences (first few per table):', ...samples] : []),
    '',
    `${outcome}; write lock held ${report.lockMs} ms, ${report.totalMs} ms in all`,
  ].join('\n');
}
