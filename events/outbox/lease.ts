/**
 * A lease in the service's database: which replica's outbox relay publishes.
 *
 * Several replicas of a service share its database and its outbox. If each relayed, a row could
 * go out twice at once and, worse, one aggregate's rows out of order (replica A publishing row 7
 * while B publishes row 8). So one replica holds the lease and relays; the others keep serving
 * mutations (their rows wait in the table, read by the holder within its poll interval) and take
 * the lease over when the holder stops renewing it: at once when it stops cleanly (it releases),
 * after `ttlMs` when it dies.
 *
 * One row per lease (`relay_leases`: name, holder, expires_at in epoch ms), taken and renewed by
 * one conditional UPDATE, so SQLite and PostgreSQL behave the same; no row locks are held.
 *
 * A replica that does not hold the lease says so in a row of its own (`<name>:standby:<holder>`,
 * renewed like the lease): the holder then knows it is not alone (`shared()`), and the relay
 * takes care of rows the others commit (relay.ts); alone, it need not.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Knex } from '@mikro-orm/knex';
import type { AbstractSqlConnection } from '@mikro-orm/knex';
import { PortableMigration, type Database } from '../../lib/database';

/** Creates the `relay_leases` table; every service whose relay takes a lease lists it. */
export class CreateRelayLeaseTable extends PortableMigration {
  change(schema: Knex.SchemaBuilder): Knex.SchemaBuilder {
    return schema.createTable('relay_leases', (t) => {
      t.string('name', 128).primary();
      t.string('holder', 255).notNullable();
      t.bigInteger('expires_at').notNullable();
    });
  }
}

/** A name for this process among the replicas: host, pid and a random part. */
export function replicaId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/** What {@link createLease} takes. */
export interface LeaseOptions {
  database: Database;
  /** e.g. `outbox-relay` */
  name: string;
  /** This replica, unique among them (host, pid and a random part). */
  holder: string;
  /** How long a renewal holds. @default 10_000 */
  ttlMs?: number;
  /** @default Date.now (tests pass their own) */
  now?: () => number;
}

/** One replica's view of a named lease: see the module's comment. */
export interface Lease {
  readonly holder: string;
  /**
   * True while this replica holds the lease: renews it when a third of its time is gone (one
   * UPDATE), takes it when it is free or expired; false when another replica holds it.
   */
  hold(): Promise<boolean>;
  /** Gives the lease up (a clean stop), so another replica takes it at once. */
  release(): Promise<void>;
  /**
   * Whether another replica was standing by at the holder's last look (at most a second ago,
   * refreshed by `hold`): their rows then share the table with this one's.
   */
  shared(): boolean;
}

/** How often the holder looks for standby replicas. */
const STANDBY_LOOK_MS = 1_000;

/**
 * A lease named `options.name`, held by `options.holder` while it renews it (`hold()`); creates
 * its row on the first `hold()`. Nothing runs in the background: unless the caller calls `hold()`
 * well within `ttlMs` (the relay does, every round), the lease expires and another replica may
 * take it.
 */
export function createLease(options: LeaseOptions): Lease {
  const { database, name, holder } = options;
  const ttlMs = options.ttlMs ?? 10_000;
  const now = options.now ?? Date.now;
  /** Until when this replica is sure to hold it (its last renewal's expiry). */
  let heldUntil = 0;
  const standbyName = `${name}:standby:${holder}`;
  /** When this replica, not holding the lease, last said it stands by. */
  let standbyUntil = 0;
  let others = false;
  let lookedAt = Number.NEGATIVE_INFINITY;

  const table = () => {
    const knex = (database.fork().getConnection() as AbstractSqlConnection).getKnex();
    return database.schema
      ? knex('relay_leases').withSchema(database.schema)
      : knex('relay_leases');
  };

  /** Refreshes `others`: any standby row of this lease still valid. */
  const lookForOthers = async (at: number, force = false): Promise<void> => {
    if (!force && at - lookedAt < STANDBY_LOOK_MS) return;
    lookedAt = at;
    const rows = (await table()
      .where('name', 'like', `${name}:standby:%`)
      .andWhere('expires_at', '>=', at)
      .count({ n: '*' })) as { n: number | string }[];
    others = Number(rows[0]?.n ?? 0) > 0;
  };

  return {
    holder,
    async hold() {
      const at = now();
      if (heldUntil - at > (ttlMs * 2) / 3) {
        await lookForOthers(at);
        return true;
      }
      const expiresAt = at + ttlMs;
      await table().insert({ name, holder, expires_at: 0 }).onConflict('name').ignore();
      const updated = await table()
        .where('name', name)
        .andWhere((q) => q.where('holder', holder).orWhere('expires_at', '<', at))
        .update({ holder, expires_at: expiresAt });
      heldUntil = Number(updated) === 1 ? expiresAt : 0;
      if (heldUntil > 0) {
        if (standbyUntil > 0) {
          standbyUntil = 0;
          await table().where('name', standbyName).delete();
        }
        await lookForOthers(at, true);
      } else if (standbyUntil - at <= (ttlMs * 2) / 3) {
        standbyUntil = expiresAt;
        await table()
          .insert({ name: standbyName, holder, expires_at: expiresAt })
          .onConflict('name')
          .merge();
      }
      return heldUntil > 0;
    },
    async release() {
      if (standbyUntil > 0) {
        standbyUntil = 0;
        await table().where('name', standbyName).delete();
      }
      if (heldUntil === 0) return;
      heldUntil = 0;
      await table().where({ name, holder }).update({ expires_at: 0 });
    },
    shared: () => others,
  };
}
