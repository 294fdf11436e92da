/**
 * One database per subgraph, with MikroORM 6.6.16: an SQLite file by default (nothing to set
 * up), or a schema of its own in PostgreSQL when a URL is configured. Migrations run at start.
 *
 * Entities are `EntitySchema`s rather than decorated classes: they need no decorator metadata,
 * so the same code runs under tsx, swc (jest) and tsc.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  type EntityManager,
  type EntitySchema,
  type MigrationObject,
  MikroORM,
  type Options,
} from '@mikro-orm/core';
import type { Knex } from '@mikro-orm/knex';
import { LibSqlDriver } from '@mikro-orm/libsql';
import { Migration, Migrator } from '@mikro-orm/migrations';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import type { DatabaseConfig } from '../config';
import { silentLogger, type Logger } from './logger';

export type Dialect = 'sqlite' | 'postgresql';

export interface OpenDatabaseOptions {
  /** The owning service, e.g. `users`: the SQLite file name or the PostgreSQL schema. */
  name: string;
  config: DatabaseConfig;
  // EntitySchema is invariant in its entity type; any entity goes here.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  entities: EntitySchema<any>[];
  /** In order; each runs once, recorded in the schema's `mikro_orm_migrations` table. */
  migrations: MigrationObject[];
  logger?: Logger;
}

export interface Database {
  readonly orm: MikroORM;
  readonly dialect: Dialect;
  /** The PostgreSQL schema, or `undefined` on SQLite. */
  readonly schema: string | undefined;
  /** A fresh EntityManager: one per request and per event, never the global one. */
  fork(): EntityManager;
  /** True when a trivial query answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** Opens the database and applies pending migrations. */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  const log = (options.logger ?? silentLogger).child({ database: options.name });
  const dialect: Dialect = options.config.url ? 'postgresql' : 'sqlite';
  const schema = dialect === 'postgresql' ? options.name : undefined;
  const common: Options = {
    entities: options.entities,
    extensions: [Migrator],
    discovery: { warnWhenNoEntities: false },
    allowGlobalContext: false,
    forceUtcTimezone: true,
    migrations: {
      migrationsList: options.migrations,
      snapshot: false,
      transactional: true,
      allOrNothing: true,
      silent: true,
    },
  };
  let orm: MikroORM;
  let applied: { name: string }[];
  if (options.config.url && schema) {
    orm = await MikroORM.init({
      ...common,
      driver: PostgreSqlDriver,
      clientUrl: options.config.url,
      schema,
    });
    // Replicas starting together would race to create the schema and to run the same migration
    // (one of them failing on a duplicate): a transaction-scoped advisory lock per schema lets
    // one migrate while the others wait, then find nothing left to do.
    const knex = (orm.em.getConnection() as unknown as { getKnex(): Knex }).getKnex();
    applied = await knex.transaction(async (lock) => {
      await lock.raw('select pg_advisory_xact_lock(hashtext(?))', [`migrate:${schema}`]);
      await orm.em.getConnection().execute(`create schema if not exists "${schema}"`);
      return orm.getMigrator().up();
    });
  } else {
    mkdirSync(options.config.dataDir, { recursive: true });
    // Per-connection settings, on every connection the pool opens: MikroORM's libSQL dialect
    // replaces a connection once it is 10 s old, and a pragma run once on the first connection
    // was gone after that (a writer then failed at once on a locked database, and commits
    // synced as FULL). In WAL mode, NORMAL syncs at checkpoints, not at every commit: commits
    // stay atomic and survive a crash of the process; only a power cut may roll the newest back.
    const pragmas = [
      'pragma busy_timeout = 5000',
      `pragma synchronous = ${options.config.sqliteSynchronous ?? 'normal'}`,
      'pragma foreign_keys = on',
    ];
    orm = await MikroORM.init({
      ...common,
      driver: LibSqlDriver,
      dbName: join(options.config.dataDir, `${options.name}.sqlite`),
      pool: {
        afterCreate: (
          connection: { exec(sql: string): unknown },
          done: (error: Error | null, connection: unknown) => void,
        ) => {
          try {
            for (const pragma of pragmas) connection.exec(pragma);
            done(null, connection);
          } catch (error) {
            done(error as Error, connection);
          }
        },
      },
    });
    // WAL lets readers (GraphQL queries) proceed while the outbox relay or a consumer writes;
    // it is kept in the file.
    await orm.em.getConnection().execute('pragma journal_mode = wal');
    applied = await orm.getMigrator().up();
  }
  if (applied.length > 0)
    log.info('migrations applied', { migrations: applied.map((m) => m.name) });

  return {
    orm,
    dialect,
    schema,
    fork: () => orm.em.fork(),
    async ping() {
      try {
        await orm.em.getConnection().execute('select 1');
        return true;
      } catch {
        return false;
      }
    },
    close: () => orm.close(true),
  };
}

/**
 * A migration written with knex's schema builder, so one migration serves SQLite and
 * PostgreSQL, in the service's own schema on PostgreSQL.
 */
/**
 * On SQLite, takes the database's write lock with the transaction's first statement (a no-op
 * delete), so the transaction waits for another process's writer (`busy_timeout`) instead of
 * failing: SQLite refuses at once (SQLITE_BUSY) the first write of a transaction that has read
 * while another connection wrote, so that two such transactions cannot deadlock. Call it first
 * in every transaction that reads and then writes (mutations, consumers). Another process
 * writes the same file during a read model's swap (`npm run rebuild`). PostgreSQL: nothing.
 */
export async function takeWriteLock(em: EntityManager): Promise<void> {
  if (!(em.getDriver() instanceof LibSqlDriver)) return;
  await em
    .getConnection()
    .execute('delete from mikro_orm_migrations where 0', [], 'run', em.getTransactionContext());
}

export abstract class PortableMigration extends Migration {
  abstract change(schema: Knex.SchemaBuilder): Knex.SchemaBuilder;

  override async up(): Promise<void> {
    const name = this.config.get('schema');
    const builder = this.getKnex().schema;
    const built = this.change(name ? builder.withSchema(name) : builder);
    for (const { sql, bindings } of built.toSQL()) this.addSql(this.getKnex().raw(sql, bindings));
  }
}
