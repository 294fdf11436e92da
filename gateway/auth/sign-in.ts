/**
 * OpenID Connect sign-in at the gateway, assembled: the openid-client login flow, server-side
 * sessions, the JWT access-token verifier, the `/auth/*` and `/webhooks/authentik` routes, and
 * the sweeper that announces expired sessions. `gateway/main.ts` and the end-to-end tests use
 * this one factory, so the wiring exists once.
 */
import type { IdentityConfig } from '../../config';
import type { KafkaService } from '../../events';
import type { OutboxRelay } from '../../events/outbox';
import type { Database } from '../../lib/database';
import type { Logger } from '../../lib/logger';
import type { Route } from '../../lib/http-server';
import type { Authenticate } from '../identity';
import { createAccessTokenVerifier } from './access-token';
import { createRequestAuthenticator } from './authenticate';
import { createOidcClient } from './oidc';
import { createAuthRoutes, createSessionSweeper, type EventPublisher } from './routes';
import { createMemorySessionStore, type SessionStore } from './sessions';
import {
  createDatabaseSessionStore,
  createDatabaseSignInState,
  createGatewayRelay,
  createOutboxPublisher,
  type SignInStateStore,
} from './store';

export interface SignInOptions {
  identity: IdentityConfig & { issuer: string; clientSecret: string };
  /**
   * Publishes the user events (`user.authenticated`, `user.logged_out`, `user.registered`):
   * through the gateway's outbox when `database` is given, else directly.
   */
  kafka: EventPublisher & Partial<Pick<KafkaService, 'publishSerialized'>>;
  /**
   * The gateway's database (store.ts: `openGatewayDatabase`): sessions, pending sign-ins and
   * webhook deliveries shared by every instance and kept across restarts, and the outbox of the
   * user events. Without it, all of that lives in this process's memory (one instance only).
   */
  database?: Database;
  /** The deployment's shared secret that seals tokens at rest; needed with `database`. */
  secret?: string;
  logger: Logger;
  /** Access-token `typ` to insist on (the development provider issues `at+jwt`). */
  accessTokenType?: string;
  /** How often expired sessions are swept and announced. @default 60_000 */
  sweepIntervalMs?: number;
}

export interface SignIn {
  routes: Record<string, Route>;
  authenticate: Authenticate;
  start(): void;
  stop(): Promise<void>;
}

export function createSignIn(options: SignInOptions): SignIn {
  const { identity, logger, database } = options;
  let sessions: SessionStore;
  let state: SignInStateStore | undefined;
  let kafka: EventPublisher = options.kafka;
  let relay: OutboxRelay | undefined;
  if (database) {
    const { secret } = options;
    const { publishSerialized } = options.kafka;
    if (!secret) throw new Error('Sign-in with a database needs the secret that seals its tokens');
    if (!publishSerialized) throw new Error('Sign-in with a database needs a KafkaService');
    sessions = createDatabaseSessionStore({ database, secret });
    state = createDatabaseSignInState({ database, secret });
    relay = createGatewayRelay(
      database,
      { publishSerialized: publishSerialized.bind(options.kafka) },
      logger.child({ component: 'sign-in-outbox' }),
    );
    kafka = createOutboxPublisher(database, relay);
  } else {
    sessions = createMemorySessionStore();
  }
  const oidc = createOidcClient({
    issuer: identity.issuer,
    clientId: identity.clientId,
    clientSecret: identity.clientSecret,
    redirectUri: `${identity.publicUrl}/auth/callback`,
  });
  const verifier = createAccessTokenVerifier({
    issuer: identity.issuer,
    audience: identity.audience,
    groupsClaim: identity.groupsClaim,
    ...(options.accessTokenType ? { typ: options.accessTokenType } : {}),
  });
  const routes = createAuthRoutes({
    oidc,
    sessions,
    ...(state ? { state } : {}),
    kafka,
    publicUrl: identity.publicUrl,
    webhookSecret: identity.webhookSecret,
    logger: logger.child({ component: 'sign-in' }),
  });
  const sweeper = createSessionSweeper({
    sessions,
    kafka,
    logger: logger.child({ component: 'session-sweeper' }),
    intervalMs: options.sweepIntervalMs ?? 60_000,
  });
  return {
    routes,
    authenticate: createRequestAuthenticator({ verifier, sessions }),
    start: () => {
      relay?.start();
      sweeper.start();
    },
    stop: async () => {
      await sweeper.stop();
      await relay?.stop();
    },
  };
}
