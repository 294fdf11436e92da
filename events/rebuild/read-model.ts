/**
 * What a service says of a read model it can rebuild from the log: its database, the consumer
 * groups that build it (with the service's own handlers), and the tables that hold it.
 */
import type { EntitySchema, MigrationObject } from '@mikro-orm/core';
import type { Database } from '../../lib/database';
import type { Logger } from '../../lib/logger';
import type { Source } from '../envelope';
import type { Topic } from '../topics';
import type { BatchSubscribeOptions, TopicBatchHandlers } from '../kafka/kafka-service';

/** One table of a read model: replaced as a whole (or the rows of `where`) by a rebuild. */
export interface ReadModelTable {
  name: string;
  /** The columns that name a row, to pair live and rebuilt rows; a unique key of the table. */
  key: string[];
  /**
   * Columns left out of the comparison, each with why it legitimately differs on a rebuild
   * (a wall-clock time, a random id, an optimistic-lock counter). They are still copied.
   */
  ignore?: Record<string, string>;
  /** Only these rows are the read model's (`processed_event`: the rebuilt groups' rows). */
  where?: { column: string; in: string[] };
  /**
   * The column naming the event that wrote a row. A live row whose event the live groups have
   * not processed yet was written by someone else in the meantime (`updateProfile` writes its
   * PROFILE activity before its event is consumed): it is "in flight", kept as it is by the swap
   * and not compared.
   */
  eventColumn?: string;
}

/** A consumer group as the service wires it: the same handlers, run against another database. */
export interface ReplayConsumer {
  groupId: string;
  handlers: TopicBatchHandlers;
  options?: BatchSubscribeOptions;
}

/** A read model a rebuild can replace: see the module's comment. */
export interface ReadModel {
  /** What `npm run rebuild -- <name>` calls it: `reporting`, `users`. */
  name: string;
  /** The service whose read model it is (the Kafka client's name). */
  service: Source;
  /** The service's database: the default file or schema name, its entities and migrations. */
  database: {
    name: string;
    // EntitySchema is invariant in its entity type; any entity goes here.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    entities: EntitySchema<any>[];
    migrations: MigrationObject[];
  };
  /** The consumer groups (logical ids) whose effects are the read model; replayed all. */
  groups: string[];
  /**
   * The order the replay goes in, step by step, each step up to the live position before the
   * next: a handler that looks at what another wrote (an interview event is recorded only for a
   * candidate with a profile; an erasure anonymizes what is there) must come after it, and
   * partitions of different topics and groups are otherwise replayed side by side, in no order
   * between them. The group's topics a step does not name, and groups no step names, come after
   * the steps, side by side. @default all side by side
   */
  replayOrder?: { group: string; topics: Topic[] }[];
  /** Copied in this order (a table referenced by a later one first), deleted in reverse. */
  tables: ReadModelTable[];
  /**
   * The service's own consumers of {@link ReadModel.groups}, built on `database` (the fresh
   * store during a rebuild): what the service wires, so the rebuilt store is what the service's
   * code makes of the log, erasures included. Outbox rows they enqueue stay in that store,
   * which nothing relays and which is discarded.
   */
  consumers(deps: { database: Database; logger: Logger }): ReplayConsumer[];
}

/** The `processed_event` rows of `groups`: every read model's record of what it has handled. */
export function processedEventTable(groups: string[]): ReadModelTable {
  return {
    name: 'processed_event',
    key: ['event_id', 'group_id'],
    ignore: { processed_at: 'the wall clock when the event was handled' },
    where: { column: 'group_id', in: groups },
  };
}
