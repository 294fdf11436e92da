/**
 * A read model's tables as plain rows, through knex: read them, lock them for writes while
 * readers go on, and replace their content in one transaction. Same SQL on SQLite and
 * PostgreSQL but for the lock.
 */
import type { Knex } from '@mikro-orm/knex';
import type { Database } from '../../lib/database';
import type { Logger } from '../../lib/logger';
import type { Row } from './compare';
import type { ReadModelTable } from './read-model';

/** The knex instance under a database's MikroORM connection. */
export function knexOf(database: Database): Knex {
  return (database.orm.em.getConnection() as unknown as { getKnex(): Knex }).getKnex();
}

/** `table` of `database`'s schema (PostgreSQL) as a query builder on `knex` (or a transaction). */
function from(knex: Knex, database: Database, table: string): Knex.QueryBuilder {
  return database.schema ? knex.withSchema(database.schema).from(table) : knex.from(table);
}

/** Most ids in one `in (...)` list and most parameters of one insert. */
const ID_CHUNK = 1_000;
const INSERT_PARAMETERS = 10_000;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The read model's rows of `table` (all, or those of its `where`). */
export async function readRows(
  knex: Knex,
  database: Database,
  table: ReadModelTable,
): Promise<Row[]> {
  const query = from(knex, database, table.name).select('*');
  if (table.where) query.whereIn(table.where.column, table.where.in);
  return (await query) as Row[];
}

/**
 * Replaces the read model's rows of `tables` with `rows` (by table name): deletes them (in
 * reverse order, for foreign keys), but for the in-flight rows `keep` names, then inserts the
 * new ones in order, in chunks.
 */
export async function replaceRows(
  trx: Knex,
  database: Database,
  tables: readonly ReadModelTable[],
  rows: ReadonlyMap<string, readonly Row[]>,
  keep: (table: ReadModelTable) => readonly string[] = () => [],
): Promise<void> {
  for (const table of [...tables].reverse()) {
    const query = from(trx, database, table.name);
    if (table.where) query.whereIn(table.where.column, table.where.in);
    const kept = keep(table);
    if (table.eventColumn && kept.length > 0) {
      // In-flight rows are few: the swap keeps them rather than listing the others.
      for (const ids of chunks(kept, ID_CHUNK)) query.whereNotIn(table.eventColumn, ids);
    }
    await query.delete();
  }
  for (const table of tables) {
    const content = rows.get(table.name) ?? [];
    if (content.length === 0) continue;
    const columns = Object.keys(content[0] as Row).length || 1;
    for (const part of chunks(content, Math.max(1, Math.floor(INSERT_PARAMETERS / columns))))
      await from(trx, database, table.name).insert(part);
  }
}

/**
 * Runs `work` in one read-only view of `database`: a REPEATABLE READ transaction on PostgreSQL,
 * a read transaction on SQLite (WAL: a snapshot from its first read). Nothing is locked.
 */
export async function inSnapshot<T>(
  database: Database,
  work: (trx: Knex.Transaction) => Promise<T>,
): Promise<T> {
  return knexOf(database).transaction(work, {
    ...(database.dialect === 'postgresql' ? { isolationLevel: 'repeatable read' as const } : {}),
  });
}

/**
 * How many rows each of `tables` holds for the read model: every write of a live consumer adds
 * processed-event records, and other writers (a mutation's activity) add rows, so a change of
 * these counts says the live store moved on.
 */
export async function fingerprint(
  trx: Knex,
  database: Database,
  tables: readonly ReadModelTable[],
): Promise<string> {
  const counts: string[] = [];
  for (const table of tables) {
    const query = from(trx, database, table.name).count({ n: '*' });
    if (table.where) query.whereIn(table.where.column, table.where.in);
    const [row] = (await query) as { n: number | string }[];
    counts.push(`${table.name}=${String(row?.n ?? 0)}`);
  }
  return counts.join(',');
}

/** How long each PostgreSQL attempt waits for the lock before it lets go and tries again. */
const PG_LOCK_WAIT = '100ms';
/** How long a rebuild tries to take the lock at all. @default 60 s */
const LOCK_ATTEMPTS_MS = 60_000;

/**
 * Runs `work` in one transaction of `database` that holds the write lock of `tables` and lets
 * readers go on: what readers see changes only when it commits.
 *
 * - PostgreSQL: `LOCK TABLE ... IN EXCLUSIVE MODE` (SELECTs proceed, writes wait). Live
 *   transactions take their table locks in an order of their own (a consumer inserts its
 *   processed-event records before its effects are flushed), so waiting for all the locks could
 *   deadlock with one of them: each attempt waits at most {@link PG_LOCK_WAIT} (below the
 *   deadlock timeout), and lets go and tries again when it could not take them all.
 * - SQLite: a write statement first, so the transaction holds the database's write lock from the
 *   start; in WAL mode readers read the last committed state meanwhile. Consumers (which take
 *   the write lock first too, `takeWriteLock`) and single statements wait up to their busy
 *   timeout (5 s, lib/database.ts); a transaction that read before writing (a mutation) fails at
 *   its first write instead. libSQL waits synchronously, stalling the waiting process.
 * @returns `work`'s result and how long the lock was held.
 */
export async function withWriteLock<T>(
  database: Database,
  tables: readonly string[],
  work: (trx: Knex.Transaction) => Promise<T>,
  log: Logger,
): Promise<{ result: T; lockMs: number }> {
  const knex = knexOf(database);
  const deadline = Date.now() + LOCK_ATTEMPTS_MS;
  for (let attempt = 1; ; attempt++) {
    let lockedAt = 0;
    try {
      const result = await knex.transaction(async (trx) => {
        if (database.dialect === 'postgresql') {
          await trx.raw(`set local lock_timeout = '${PG_LOCK_WAIT}'`);
          const names = tables.map((t) => `"${database.schema}"."${t}"`).join(', ');
          await trx.raw(`lock table ${names} in exclusive mode`);
        } else {
          await trx.raw(`delete from "${tables[0]}" where 0`);
        }
        lockedAt = performance.now();
        return work(trx);
      });
      return { result, lockMs: Math.round(performance.now() - lockedAt) };
    } catch (error) {
      const lockNotAvailable = (error as { code?: string }).code === '55P03';
      if (!lockNotAvailable || Date.now() > deadline) throw error;
      log.debug('tables busy; trying the lock again', { attempt });
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80));
    }
  }
}
