/**
 * Rebuilds a read model from the log and swaps it in without downtime:
 *
 * 1. A fresh store of the same engine (SQLite: a file in a temporary folder; PostgreSQL: a
 *    schema of its own) with the service's migrations: the same tables, so the service's own
 *    handlers (`ReadModel.consumers`) write it unchanged.
 * 2. Each group's topics are replayed from their earliest offsets into it, in a throwaway
 *    consumer group that commits nothing, step by step in `ReadModel.replayOrder`, up to the
 *    offsets the live group has committed (everything before them it handled or
 *    dead-lettered), read again a few times while the live groups move on.
 * 3. A look at the live store in one snapshot (no lock): the live groups' processed-event
 *    records and the read model's rows. The replay reads on, handling only events the live
 *    groups have handled and stopping at the first one they have not, so the fresh store has
 *    handled exactly what the live one had. Then every table is compared.
 * 4. In one transaction on the live database holding the tables' write lock (readers go on):
 *    if the live store's row counts are what the look saw (every live consumer commit adds
 *    processed-event records), the read model's rows are replaced by the rebuilt ones; else it
 *    lets go and looks again (after a few rounds, it looks while holding the lock). Readers see
 *    the old content until the commit, then the new; live consumers, which waited for the
 *    lock, go on from their position and skip what the rebuilt records say is done.
 *
 * A dry run, or a comparison that found differences without `force`, stops after step 3 having
 * locked nothing. The fresh store, its outbox included, is discarded at the end.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from '@mikro-orm/knex';
import type { DatabaseConfig } from '../../config';
import { openDatabase, type Database } from '../../lib/database';
import { silentLogger, type Logger } from '../../lib/logger';
import { KafkaService } from '../kafka/kafka-service';
import type { Topic } from '../topics';
import { compareTable, isEqual, type RebuildReport, type Row } from './compare';
import type { ReadModel, ReplayConsumer } from './read-model';
import {
  partitionKey,
  startGroupReplay,
  type GroupReplay,
  type LiveProgress,
  type Positions,
} from './replay';
import { fingerprint, inSnapshot, knexOf, readRows, replaceRows, withWriteLock } from './tables';

/** Options of {@link rebuildReadModel}. */
export interface RebuildOptions {
  readModel: ReadModel;
  /** The live database, as the service is configured. */
  database: DatabaseConfig;
  /** The live database's SQLite file or PostgreSQL schema name. @default readModel.database.name */
  databaseName?: string;
  kafka: { brokers: string[]; topicPrefix?: string };
  /** Build and compare (under the lock, for a consistent view), but change nothing. */
  dryRun?: boolean;
  /** Swap even when the comparison found differences (after fixing a projection, say). */
  force?: boolean;
  /**
   * The replay stops following the live groups' committed offsets, and looks at the live store,
   * once a round had at most this many messages to read (or after five rounds). @default 1_000
   */
  lookWhenBehind?: number;
  /** Longest wait for the replay to reach a position. @default 600_000 */
  timeoutMs?: number;
  logger?: Logger;
}

/** Rounds of reading on to the live group's committed offsets before looking at the store. */
const CATCH_UP_ROUNDS = 5;
/** Optimistic rounds (look, then lock and copy if nothing moved) before locking to look. */
const SWAP_ROUNDS = 5;

/** A fresh store of the live one's engine: its migrations applied, dropped by `discard`. */
async function openFreshStore(
  options: RebuildOptions,
  name: string,
  log: Logger,
): Promise<{ database: Database; discard(): Promise<void> }> {
  const { entities, migrations } = options.readModel.database;
  if (options.database.url) {
    const schema = `${name}_rebuild_${randomBytes(4).toString('hex')}`;
    const database = await openDatabase({
      name: schema,
      config: options.database,
      entities,
      migrations,
      logger: log,
    });
    return {
      database,
      async discard() {
        await knexOf(database).raw(`drop schema if exists "${schema}" cascade`);
        await database.close();
      },
    };
  }
  const dataDir = mkdtempSync(join(tmpdir(), `rebuild-${name}-`));
  const database = await openDatabase({
    name,
    config: { url: undefined, dataDir },
    entities,
    migrations,
    logger: log,
  });
  return {
    database,
    async discard() {
      await database.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The replay's steps: `replayOrder`, then each group's topics it leaves out, side by side (one
 * step per group; the groups' last steps run one after the other, which costs a fetch each).
 */
export function replaySteps(
  readModel: Pick<ReadModel, 'replayOrder'>,
  consumers: readonly Pick<ReplayConsumer, 'groupId' | 'handlers'>[],
): { group: string; topics: Topic[] }[] {
  const steps = (readModel.replayOrder ?? []).filter((s) =>
    consumers.some((c) => c.groupId === s.group),
  );
  for (const consumer of consumers) {
    const named = new Set(
      steps.filter((s) => s.group === consumer.groupId).flatMap((s) => s.topics),
    );
    const rest = (Object.keys(consumer.handlers) as Topic[]).filter((t) => !named.has(t));
    if (rest.length > 0) steps.push({ group: consumer.groupId, topics: rest });
  }
  return steps;
}

/**
 * @throws when the live store `name` does not exist (an SQLite file in `config.dataDir`, a
 * PostgreSQL schema, asked through the fresh store's connection to the same server).
 */
async function assertLiveStoreExists(
  fresh: Database,
  config: DatabaseConfig,
  name: string,
): Promise<void> {
  if (config.url) {
    const rows = (await knexOf(fresh)
      .select('schema_name')
      .from('information_schema.schemata')
      .where('schema_name', name)) as unknown[];
    if (rows.length === 0)
      throw new Error(
        `no schema ${name} in the database of DATABASE_URL: is the service's schema another (--database-name)?`,
      );
    return;
  }
  const file = join(config.dataDir, `${name}.sqlite`);
  if (!existsSync(file))
    throw new Error(
      `no database at ${file}: check DATA_DIR, or name the file with --database-name`,
    );
}

/** What `groupId` has committed on its topics, as positions (a partition never committed: 0). */
async function committedPositions(
  kafka: KafkaService,
  groupId: string,
  topics: readonly Topic[],
): Promise<Positions> {
  const positions: Positions = new Map();
  for (const topic of topics) {
    for (const { partition, offset } of await kafka.committedOffsets(groupId, topic))
      positions.set(partitionKey(topic, partition), Math.max(0, offset));
  }
  return positions;
}

/** The topics' current ends, as positions. */
async function endPositions(kafka: KafkaService, topics: readonly Topic[]): Promise<Positions> {
  const positions: Positions = new Map();
  for (const topic of topics) {
    for (const { partition, high } of await kafka.topicOffsets(topic))
      positions.set(partitionKey(topic, partition), high);
  }
  return positions;
}

/** The event ids `groupId` has recorded as processed in `database`. */
async function processedIds(knex: Knex, database: Database, groupId: string): Promise<Set<string>> {
  const table = database.schema
    ? knex.withSchema(database.schema).from('processed_event')
    : knex.from('processed_event');
  const rows = (await table.select('event_id').where('group_id', groupId)) as {
    event_id: string;
  }[];
  return new Set(rows.map((r) => r.event_id));
}

/**
 * Rebuilds `options.readModel` from the log and swaps it in: see the module's comment.
 * @returns what it replayed, compared and did; `swapped` false (with a `reason`) for a dry run
 * or when the comparison found differences and `force` was not given.
 * @throws when the database or the brokers cannot be reached, or the replay does not reach a
 * position within `timeoutMs`; the live store is then unchanged.
 */
export async function rebuildReadModel(options: RebuildOptions): Promise<RebuildReport> {
  const started = performance.now();
  const { readModel } = options;
  const log = (options.logger ?? silentLogger).child({ rebuild: readModel.name });
  const name = options.databaseName ?? readModel.database.name;
  const timeoutMs = options.timeoutMs ?? 600_000;
  const lookWhenBehind = options.lookWhenBehind ?? 1_000;
  const cleanup: (() => Promise<void>)[] = [];
  try {
    const fresh = await openFreshStore(options, name, log);
    cleanup.push(() => fresh.discard());
    // Opening a database that is not there would create it, empty, and migrate it.
    await assertLiveStoreExists(fresh.database, options.database, name);
    const live = await openDatabase({
      name,
      config: options.database,
      entities: readModel.database.entities,
      migrations: readModel.database.migrations,
      logger: log,
    });
    cleanup.push(() => live.close());

    const consumers = readModel
      .consumers({ database: fresh.database, logger: log })
      .filter((c) => readModel.groups.includes(c.groupId));
    const missing = readModel.groups.filter((g) => !consumers.some((c) => c.groupId === g));
    if (missing.length > 0)
      throw new Error(`${readModel.name} wires no consumer for ${missing.join(', ')}`);
    const topics = [...new Set(consumers.flatMap((c) => Object.keys(c.handlers) as Topic[]))];
    const kafka = new KafkaService(readModel.service, {
      brokers: options.kafka.brokers,
      topicPrefix: options.kafka.topicPrefix ?? '',
      topics,
      announce: false,
      instanceId: `${readModel.service}-rebuild-${randomBytes(3).toString('hex')}`,
      logger: log,
    });
    await kafka.start();
    cleanup.push(() => kafka.stop());

    const replays: GroupReplay[] = [];
    const steps = replaySteps(readModel, consumers);
    /**
     * Moves every replay on to its `targets` (by group), step by step (`replayOrder`), each
     * step's partitions reached before the next starts.
     * @returns how many messages behind the replays were before.
     */
    const replayInOrder = async (
      targets: ReadonlyMap<string, Positions>,
      live?: ReadonlyMap<string, LiveProgress>,
    ): Promise<number> => {
      let behind = 0;
      for (const step of steps) {
        const replay = replays.find((r) => r.groupId === step.group) as GroupReplay;
        const all = targets.get(step.group) ?? new Map<string, number>();
        const stepTargets: Positions = new Map(
          [...all].filter(([key]) => step.topics.some((t) => key.startsWith(`${t}/`))),
        );
        const before = replay.behind();
        replay.advance(stepTargets, live?.get(step.group));
        behind += replay.behind() - before;
        await replay.reached(timeoutMs);
      }
      return behind;
    };
    for (const consumer of consumers) {
      const replay = await startGroupReplay(kafka, consumer, log);
      cleanup.push(() => replay.stop());
      replays.push(replay);
    }
    // Up to where the live groups are, while they move on: a few rounds, until close.
    for (let round = 1; round <= CATCH_UP_ROUNDS; round++) {
      const targets = new Map<string, Positions>();
      for (const replay of replays)
        targets.set(replay.groupId, await committedPositions(kafka, replay.groupId, replay.topics));
      const behind = await replayInOrder(targets);
      log.info('replayed up to the live groups', { round, behind });
      if (behind <= lookWhenBehind && round > 1) break;
    }

    const tableNames = [
      // processed_event first: live consumers write it before their effects are flushed.
      ...new Set(['processed_event', ...readModel.tables.map((t) => t.name)]),
    ];
    /**
     * The live groups' committed offsets, read before the store is looked at: offsets are
     * committed after the transaction that handled their events, so everything before them is
     * in what the look sees, handled or (when not recorded) dead-lettered.
     */
    const committedNow = async () => {
      const committed = new Map<string, Positions>();
      for (const replay of replays)
        committed.set(
          replay.groupId,
          await committedPositions(kafka, replay.groupId, replay.topics),
        );
      return committed;
    };
    /**
     * One look at the live store: its groups' progress and rows, in one snapshot; the replay
     * catches up to exactly that progress, and the stores are compared.
     */
    const look = async (trx: Knex, committed: Map<string, Positions>) => {
      const processed = new Map<string, Set<string>>();
      const progress = new Map<string, LiveProgress>();
      const ends = new Map<string, Positions>();
      for (const replay of replays) {
        const ids = await processedIds(trx, live, replay.groupId);
        processed.set(replay.groupId, ids);
        progress.set(replay.groupId, {
          processed: ids,
          committed: committed.get(replay.groupId) ?? new Map(),
        });
        ends.set(replay.groupId, await endPositions(kafka, replay.topics));
      }
      const liveRows = new Map<string, Row[]>();
      for (const table of readModel.tables)
        liveRows.set(table.name, await readRows(trx, live, table));
      const print = await fingerprint(trx, live, readModel.tables);
      await replayInOrder(ends, progress);
      const handledLive = (eventId: string) =>
        [...processed.values()].some((ids) => ids.has(eventId));
      const rebuilt = new Map<string, Row[]>();
      const tables = [];
      const inFlight = new Map<string, string[]>();
      for (const table of readModel.tables) {
        const liveContent = liveRows.get(table.name) ?? [];
        const freshRows = await readRows(knexOf(fresh.database), fresh.database, table);
        rebuilt.set(table.name, freshRows);
        tables.push(compareTable(table, liveContent, freshRows, handledLive));
        const column = table.eventColumn;
        if (column) {
          inFlight.set(
            table.name,
            liveContent
              .map((r) => r[column])
              .filter((id): id is string => typeof id === 'string' && !handledLive(id)),
          );
        }
      }
      const equal = tables.every(isEqual);
      let reason: string | undefined;
      if (options.dryRun)
        reason = equal ? 'dry run; the stores are equal' : 'dry run; the stores differ';
      else if (!equal && !options.force)
        reason = 'the stores differ (see above); --force swaps anyway';
      return { tables, equal, reason, rebuilt, inFlight, print };
    };
    type Look = Awaited<ReturnType<typeof look>>;
    const swap = (trx: Knex, seen: Look) =>
      replaceRows(
        trx,
        live,
        readModel.tables,
        seen.rebuilt,
        (t) => seen.inFlight.get(t.name) ?? [],
      );

    // Optimistic first: look in a snapshot (nothing locked), then take the write lock only to
    // check that the live store has not moved on since (else look again) and copy. After a few
    // rounds of a store that keeps moving, look while holding the lock.
    let lockMs = 0;
    let result: Look | undefined;
    for (let round = 1; round <= SWAP_ROUNDS && result === undefined; round++) {
      const committed = await committedNow();
      const seen = await inSnapshot(live, (trx) => look(trx, committed));
      if (seen.reason !== undefined) {
        result = seen;
        break;
      }
      const locked = await withWriteLock(
        live,
        tableNames,
        async (trx) => {
          if ((await fingerprint(trx, live, readModel.tables)) !== seen.print) return false;
          await swap(trx, seen);
          return true;
        },
        log,
      );
      lockMs = locked.lockMs;
      if (locked.result) result = seen;
      else log.info('the live store moved on while comparing; looking again', { round });
    }
    if (result === undefined) {
      const committed = await committedNow();
      const locked = await withWriteLock(
        live,
        tableNames,
        async (trx) => {
          const seen = await look(trx, committed);
          if (seen.reason === undefined) await swap(trx, seen);
          return seen;
        },
        log,
      );
      lockMs = locked.lockMs;
      result = locked.result;
    }
    const report: RebuildReport = {
      readModel: readModel.name,
      mode: options.dryRun ? 'dry-run' : 'swap',
      topics: replays.flatMap((r) => r.stats()),
      tables: result.tables,
      lockMs,
      totalMs: Math.round(performance.now() - started),
      equal: result.equal,
      swapped: result.reason === undefined,
      ...(result.reason === undefined ? {} : { reason: result.reason }),
    };
    log.info('rebuild done', {
      swapped: report.swapped,
      lockMs,
      totalMs: report.totalMs,
    });
    return report;
  } finally {
    for (const step of cleanup.reverse()) {
      await step().catch((error: unknown) => log.warn('rebuild cleanup failed', { error }));
    }
  }
}
