/**
 * The gateway's own database: what sign-in must share between gateway instances and keep across
 * restarts. SQLite (`.data/gateway.sqlite`) by default, the `gateway` schema on PostgreSQL.
 *
 * - **sessions**: a browser session (its tokens) works on every instance and after a restart;
 *   logout, expiry and an IdP refusal delete the row, which ends it everywhere. The row is keyed
 *   by the SHA-256 of the cookie's id and its tokens are sealed (AES-256-GCM, a key derived from
 *   the deployment's `INTERNAL_TOKEN_SECRET`), so a copy of the table neither signs anyone in
 *   nor reveals a refresh token.
 * - **pending logins**: a sign-in started on one instance (state, PKCE verifier, nonce) finishes
 *   on another; each is taken once.
 * - **webhook deliveries**: a signature seen by any instance is refused as a replay by all.
 * - **outbox**: sign-in's user events are enqueued here and published by the relay, so a broker
 *   outage never fails a sign-in (see {@link createOutboxPublisher}).
 *
 * Why the database and not a sealed cookie (JWE): a cookie cannot be ended before it expires, so
 * logout on one instance would leave a copied cookie valid on the others; and every instance of
 * a deployment already reaches a database.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { DateTimeType, EntitySchema, UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Knex } from '@mikro-orm/knex';
import type { DatabaseConfig } from '../../config';
import type { EventOn, KafkaService, Topic } from '../../events';
import {
  CreateOutboxTable,
  CreateRelayLeaseTable,
  createLease,
  replicaId,
  createOutboxRelay,
  enqueueEvent,
  OutboxMessageSchema,
  type OutboxRelay,
} from '../../events/outbox';
import { openDatabase, PortableMigration, type Database } from '../../lib/database';
import type { Logger } from '../../lib/logger';
import type { OidcTokens } from './oidc';
import { newSessionId, sessionRef, type Session, type SessionStore } from './sessions';
import type { PendingLogin, SignInStateStore, SignInStores } from './sign-in-state';

// ---------------------------------------------------------------------------------------------
// Entities and migrations

/** A row of `sessions`: a {@link Session} keyed by its ref (SHA-256 of its id), tokens sealed. */
export class StoredSession {
  idHash!: string;
  userId!: string;
  email!: string;
  /** The tokens, sealed (see {@link Sealer}). */
  tokens!: string;
  createdAt!: Date;
  expiresAt!: Date;
}

/** The MikroORM mapping of {@link StoredSession}. */
export const StoredSessionSchema = new EntitySchema<StoredSession>({
  class: StoredSession,
  tableName: 'sessions',
  properties: {
    idHash: { type: 'string', primary: true, fieldName: 'id_hash', length: 64 },
    userId: { type: 'string', fieldName: 'user_id' },
    email: { type: 'string' },
    tokens: { type: 'text' },
    createdAt: { type: DateTimeType, fieldName: 'created_at' },
    expiresAt: { type: DateTimeType, fieldName: 'expires_at' },
  },
});

/** A row of `suspended_accounts`: an account whose erasure suspended it (sign-in refused). */
export class SuspendedAccount {
  userId!: string;
  suspendedAt!: Date;
}

/** The MikroORM mapping of {@link SuspendedAccount}. */
export const SuspendedAccountSchema = new EntitySchema<SuspendedAccount>({
  class: SuspendedAccount,
  tableName: 'suspended_accounts',
  properties: {
    userId: { type: 'string', primary: true, fieldName: 'user_id' },
    suspendedAt: { type: DateTimeType, fieldName: 'suspended_at' },
  },
});

/** Creates `suspended_accounts` (the erasure saga's suspension, as the gateway knows it). */
export class CreateSuspendedAccountsTable extends PortableMigration {
  change(schema: Knex.SchemaBuilder): Knex.SchemaBuilder {
    return schema.createTable('suspended_accounts', (t) => {
      t.string('user_id', 255).primary();
      t.timestamp('suspended_at', { useTz: true }).notNullable();
    });
  }
}

/** A row of `pending_logins`: a {@link PendingLogin} keyed by its `state`, sealed. */
export class PendingLoginRow {
  state!: string;
  /** `{ nonce, codeVerifier, returnTo }`, sealed. */
  login!: string;
  expiresAt!: Date;
}

/** The MikroORM mapping of {@link PendingLoginRow}. */
export const PendingLoginSchema = new EntitySchema<PendingLoginRow>({
  class: PendingLoginRow,
  tableName: 'pending_logins',
  properties: {
    state: { type: 'string', primary: true },
    login: { type: 'text' },
    expiresAt: { type: DateTimeType, fieldName: 'expires_at' },
  },
});

/** A row of `webhook_deliveries`: a webhook signature already accepted, kept until it expires. */
export class WebhookDelivery {
  signature!: string;
  expiresAt!: Date;
}

/** The MikroORM mapping of {@link WebhookDelivery}. */
export const WebhookDeliverySchema = new EntitySchema<WebhookDelivery>({
  class: WebhookDelivery,
  tableName: 'webhook_deliveries',
  properties: {
    signature: { type: 'string', primary: true, length: 128 },
    expiresAt: { type: DateTimeType, fieldName: 'expires_at' },
  },
});

/** Creates the `sessions`, `pending_logins` and `webhook_deliveries` tables. */
export class CreateSignInTables extends PortableMigration {
  change(schema: Knex.SchemaBuilder): Knex.SchemaBuilder {
    return schema
      .createTable('sessions', (t) => {
        t.string('id_hash', 64).primary();
        t.string('user_id', 255).notNullable();
        t.string('email', 320).notNullable();
        t.text('tokens').notNullable();
        t.timestamp('created_at', { useTz: true }).notNullable();
        t.timestamp('expires_at', { useTz: true }).notNullable().index('sessions_expires_idx');
      })
      .createTable('pending_logins', (t) => {
        t.string('state', 255).primary();
        t.text('login').notNullable();
        t.timestamp('expires_at', { useTz: true }).notNullable().index('pending_expires_idx');
      })
      .createTable('webhook_deliveries', (t) => {
        t.string('signature', 128).primary();
        t.timestamp('expires_at', { useTz: true }).notNullable().index('webhook_expires_idx');
      });
  }
}

/** The gateway database's migrations, in order; their names are recorded, so never renamed. */
export const GATEWAY_MIGRATIONS = [
  { name: '0001-outbox', class: CreateOutboxTable },
  { name: '0002-sign-in', class: CreateSignInTables },
  { name: '0003-relay-lease', class: CreateRelayLeaseTable },
  { name: '0004-suspended-accounts', class: CreateSuspendedAccountsTable },
];

/**
 * Opens the gateway's database (`config`: SQLite file or PostgreSQL, schema `gateway`) and
 * applies {@link GATEWAY_MIGRATIONS}.
 * @throws when the database cannot be reached or a migration fails.
 */
export function openGatewayDatabase(
  config: DatabaseConfig,
  options: {
    logger?: Logger;
    /** @default 'gateway' (tests use names of their own) */ name?: string;
  } = {},
): Promise<Database> {
  const { logger } = options;
  return openDatabase({
    name: options.name ?? 'gateway',
    config,
    entities: [
      StoredSessionSchema,
      PendingLoginSchema,
      WebhookDeliverySchema,
      OutboxMessageSchema,
      SuspendedAccountSchema,
    ],
    migrations: GATEWAY_MIGRATIONS,
    ...(logger ? { logger } : {}),
  });
}

// ---------------------------------------------------------------------------------------------
// Sealing

/** AES-256-GCM with a key derived from a deployment secret: `v1.<iv>.<tag>.<ciphertext>`. */
export class Sealer {
  private readonly key: Buffer;

  /**
   * @param purpose derives a key of its own: a value sealed for one purpose opens for no other.
   * @throws when `secret` is shorter than 32 characters.
   */
  constructor(secret: string, purpose: string) {
    if (secret.length < 32) throw new Error('The sealing secret must have at least 32 characters');
    this.key = Buffer.from(hkdfSync('sha256', secret, 'interview-graph', purpose, 32));
  }

  /** `value` as JSON, encrypted and authenticated; a fresh IV each call. */
  seal(value: unknown): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const data = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    return ['v1', iv, cipher.getAuthTag(), data]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join('.');
  }

  /**
   * The value {@link Sealer.seal} sealed.
   * @throws when `sealed` is not a sealed value, was altered, or was sealed with another secret or
   * purpose.
   */
  open<T>(sealed: string): T {
    const [version, iv, tag, data] = sealed.split('.');
    if (version !== 'v1' || !iv || !tag || data === undefined)
      throw new Error('Not a sealed value');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    const text = Buffer.concat([
      decipher.update(Buffer.from(data, 'base64url')),
      decipher.final(),
    ]).toString('utf8');
    return JSON.parse(text) as T;
  }
}

// ---------------------------------------------------------------------------------------------
// Sessions

/** What {@link createDatabaseSessionStore} takes. */
export interface DatabaseSessionStoreOptions {
  database: Database;
  /** The deployment's shared secret (INTERNAL_TOKEN_SECRET): every instance must have the same. */
  secret: string;
  /** Absolute session lifetime. @default 8 hours */
  ttlMs?: number;
  /** @default Date.now */
  now?: () => number;
}

/**
 * Sessions in the gateway's database, shared by every instance and kept across restarts; tokens
 * sealed with a key derived from `options.secret`. `takeExpired` takes up to 1,000 at a time.
 * @throws when `options.secret` is shorter than 32 characters (see {@link Sealer}).
 */
export function createDatabaseSessionStore(options: DatabaseSessionStoreOptions): SessionStore {
  const { database } = options;
  const ttlMs = options.ttlMs ?? 8 * 60 * 60 * 1000;
  const now = options.now ?? Date.now;
  const sealer = new Sealer(options.secret, 'session tokens');
  const toSession = (id: string, row: StoredSession): Session => ({
    id,
    ref: row.idHash,
    userId: row.userId,
    email: row.email,
    tokens: sealer.open<OidcTokens>(row.tokens),
    createdAt: row.createdAt.getTime(),
    expiresAt: row.expiresAt.getTime(),
  });
  const live = async (id: string) => {
    const row = await database
      .fork()
      .findOne(StoredSession, { idHash: sessionRef(id), expiresAt: { $gt: new Date(now()) } });
    return row ?? undefined;
  };
  return {
    async create(data) {
      const id = newSessionId();
      const createdAt = now();
      const row = {
        idHash: sessionRef(id),
        userId: data.userId,
        email: data.email,
        tokens: sealer.seal(data.tokens),
        createdAt: new Date(createdAt),
        expiresAt: new Date(createdAt + ttlMs),
      };
      await database.fork().insert(StoredSession, row);
      return { ...data, id, ref: row.idHash, createdAt, expiresAt: createdAt + ttlMs };
    },
    async get(id) {
      const row = await live(id);
      return row && toSession(id, row);
    },
    async updateTokens(id, tokens) {
      const em = database.fork();
      const updated = await em.nativeUpdate(
        StoredSession,
        { idHash: sessionRef(id), expiresAt: { $gt: new Date(now()) } },
        { tokens: sealer.seal(tokens) },
      );
      if (updated === 0) return undefined;
      const row = await live(id);
      return row && toSession(id, row);
    },
    async delete(id) {
      const em = database.fork();
      const row = await em.findOne(StoredSession, { idHash: sessionRef(id) });
      if (!row) return undefined;
      // Only the instance whose delete removed the row reports it (and announces the logout).
      const deleted = await em.nativeDelete(StoredSession, { idHash: row.idHash });
      return deleted === 1 ? toSession(id, row) : undefined;
    },
    async takeExpired(at = now()) {
      const em = database.fork();
      const rows = await em.find(
        StoredSession,
        { expiresAt: { $lte: new Date(at) } },
        { limit: 1_000, disableIdentityMap: true },
      );
      const taken: Session[] = [];
      for (const row of rows) {
        if ((await em.nativeDelete(StoredSession, { idHash: row.idHash })) !== 1) continue;
        // The cookie's id is not stored: an expired session is known by its ref alone.
        taken.push(toSession('', row));
      }
      return taken;
    },
    async endSessionsOf(userId) {
      const em = database.fork();
      const rows = await em.find(StoredSession, { userId }, { disableIdentityMap: true });
      const ended: Session[] = [];
      for (const row of rows) {
        // Only the instance whose delete removed the row reports it.
        if ((await em.nativeDelete(StoredSession, { idHash: row.idHash })) !== 1) continue;
        ended.push(toSession('', row));
      }
      return ended;
    },
    async suspendAccount(userId) {
      const em = database.fork();
      if (await em.findOne(SuspendedAccount, { userId })) return;
      await em
        .insert(SuspendedAccount, { userId, suspendedAt: new Date(now()) })
        .catch(async (error: unknown) => {
          // Another instance recorded it first.
          if (!(await database.fork().findOne(SuspendedAccount, { userId }))) throw error;
        });
    },
    async restoreAccount(userId) {
      await database.fork().nativeDelete(SuspendedAccount, { userId });
    },
    async isSuspended(userId) {
      return (await database.fork().findOne(SuspendedAccount, { userId })) !== null;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Pending logins and webhook deliveries

/**
 * Pending sign-ins (sealed) and seen webhook signatures in the gateway's database, shared by
 * every instance: a pending sign-in is taken once, a signature accepted once, by any of them.
 * Expired rows are deleted every hundredth write.
 * @throws when `options.secret` is shorter than 32 characters (see {@link Sealer}).
 */
export function createDatabaseSignInState(options: {
  database: Database;
  /** The deployment's shared secret (INTERNAL_TOKEN_SECRET): every instance must have the same. */
  secret: string;
  /** @default Date.now */
  now?: () => number;
}): SignInStateStore {
  const { database } = options;
  const now = options.now ?? Date.now;
  const sealer = new Sealer(options.secret, 'pending logins');
  let writes = 0;
  /** Now and then, the expired rows go. */
  const prune = async () => {
    if (writes++ % 100 !== 0) return;
    const em = database.fork();
    const at = new Date(now());
    await em.nativeDelete(PendingLoginRow, { expiresAt: { $lte: at } });
    await em.nativeDelete(WebhookDelivery, { expiresAt: { $lte: at } });
  };
  return {
    async putPendingLogin(state, login) {
      await prune();
      await database.fork().insert(PendingLoginRow, {
        state,
        login: sealer.seal(login),
        expiresAt: new Date(login.expiresAt),
      });
    },
    async takePendingLogin(state) {
      const em = database.fork();
      const row = await em.findOne(PendingLoginRow, { state });
      if (!row) return undefined;
      if ((await em.nativeDelete(PendingLoginRow, { state })) !== 1) return undefined;
      const login = sealer.open<PendingLogin>(row.login);
      return login.expiresAt > now() ? login : undefined;
    },
    async firstDelivery(signature, until) {
      await prune();
      try {
        await database.fork().insert(WebhookDelivery, { signature, expiresAt: new Date(until) });
        return true;
      } catch (error) {
        if (error instanceof UniqueConstraintViolationException) return false;
        throw error;
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Events through the outbox

/**
 * An event publisher with the shape of `KafkaService.publishEvent` that enqueues each event in
 * the gateway's outbox and hands it to the relay: it resolves once the event is stored, whether or
 * not the broker is up; the relay publishes in order when it can.
 */
export function createOutboxPublisher(database: Database, relay: OutboxRelay) {
  return {
    async publishEvent<T extends Topic>(topic: T, event: EventOn<T>): Promise<void> {
      const em = database.fork();
      const row = enqueueEvent(em, topic, event);
      await em.flush();
      relay.committed([row]);
    },
  };
}

/** The gateway's outbox relay (see events/outbox/relay.ts). */
export function createGatewayRelay(
  database: Database,
  kafka: Pick<KafkaService, 'publishSerialized'>,
  logger?: Logger,
): OutboxRelay {
  // Gateway replicas share this database: the one holding the lease relays.
  return createOutboxRelay({
    database,
    kafka,
    ...(logger ? { logger } : {}),
    lease: createLease({ database, name: 'outbox-relay', holder: replicaId() }),
  });
}

/**
 * Sign-in's stores in the gateway's database: sessions, pending sign-ins, webhook deliveries, and
 * its user events through the gateway's outbox (published by the relay that `start` starts).
 */
export function databaseSignInStores(options: {
  database: Database;
  /** The deployment's shared secret (INTERNAL_TOKEN_SECRET). */
  secret: string;
  kafka: Pick<KafkaService, 'publishSerialized'>;
  logger?: Logger;
}): SignInStores {
  const { database, secret } = options;
  const relay = createGatewayRelay(database, options.kafka, options.logger);
  return {
    sessions: createDatabaseSessionStore({ database, secret }),
    state: createDatabaseSignInState({ database, secret }),
    kafka: createOutboxPublisher(database, relay),
    start: () => relay.start(),
    stop: () => relay.stop(),
  };
}
