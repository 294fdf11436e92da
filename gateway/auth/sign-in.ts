/**
 * OpenID Connect sign-in at the gateway, assembled: the openid-client login flow, server-side
 * sessions, the JWT access-token verifier, the `/auth/*` routes (routes.ts) and
 * `/webhooks/authentik` (webhook.ts), and
 * the sweeper that announces expired sessions. `gateway/main.ts` and the end-to-end tests use
 * this one factory, so the wiring exists once.
 */
import type { IdentityConfig } from '../../config';
import type { Logger } from '../../lib/logger';
import type { Route } from '../../lib/http-server';
import type { Authenticate } from '../identity';
import { createAccessTokenVerifier } from './access-token';
import { createRequestAuthenticator } from './authenticate';
import { createOidcClient } from './oidc';
import { createAuthRoutes, createSessionSweeper, type EventPublisher } from './routes';
import { createMemorySessionStore, type SessionStore } from './sessions';
import { createMemorySignInState, type SignInStateStore, type SignInStores } from './sign-in-state';
import { endSessionsOnSuspension } from './suspension';
import { createWebhookRoutes } from './webhook';
import type { EventOn } from '../../events';

/** What {@link createSignIn} is configured with. */
export interface SignInOptions {
  identity: IdentityConfig & { issuer: string; clientSecret: string };
  /** Publishes the user events (`user.authenticated`, `user.logged_out`, `user.registered`). */
  kafka: EventPublisher;
  /**
   * Where sessions, pending sign-ins and webhook deliveries live, and how the events go out:
   * `databaseSignInStores` (store.ts) for instances that share them and outlive restarts. Without,
   * all of it lives in this process's memory and events go straight to `kafka`.
   */
  stores?: SignInStores;
  logger: Logger;
  /** Access-token `typ` to insist on (the development provider issues `at+jwt`). */
  accessTokenType?: string;
  /** Load balancers whose `X-Forwarded-For` names the client. @default none */
  trustedProxies?: readonly string[];
  /** How often expired sessions are swept and announced. @default 60_000 */
  sweepIntervalMs?: number;
}

/** Sign-in, assembled: its routes, the `Authenticate` of requests, and its lifecycle. */
export interface SignIn {
  /** `/auth/*` and `/webhooks/authentik`. */
  routes: Record<string, Route>;
  authenticate: Authenticate;
  /**
   * The `system-events` handler that ends the sessions of an account the erasure saga suspends
   * (`./suspension.ts`); subscribe it in `SESSIONS_GROUP`.
   */
  onSystemEvent: (event: EventOn<'system-events'>) => Promise<void>;
  /** Starts the session sweeper and the stores' publishing (the outbox relay). */
  start(): void;
  stop(): Promise<void>;
}

/**
 * Sign-in from the identity configuration: the OpenID client, the access-token verifier (on the
 * same discovery), the routes, and the sweeper of expired sessions.
 */
export function createSignIn(options: SignInOptions): SignIn {
  const { identity, logger, stores } = options;
  const sessions: SessionStore = stores?.sessions ?? createMemorySessionStore();
  const state: SignInStateStore = stores?.state ?? createMemorySignInState();
  const kafka: EventPublisher = stores?.kafka ?? options.kafka;
  const oidc = createOidcClient({
    issuer: identity.issuer,
    clientId: identity.clientId,
    clientSecret: identity.clientSecret,
    redirectUri: `${identity.publicUrl}/auth/callback`,
  });
  const verifier = createAccessTokenVerifier({
    issuerMetadata: () => oidc.serverMetadata(),
    audience: identity.audience,
    groupsClaim: identity.groupsClaim,
    ...(options.accessTokenType ? { typ: options.accessTokenType } : {}),
  });
  const routes = {
    ...createAuthRoutes({
      oidc,
      sessions,
      state,
      kafka,
      ...(options.trustedProxies ? { trustedProxies: options.trustedProxies } : {}),
      publicUrl: identity.publicUrl,
      groupsClaim: identity.groupsClaim,
      cookieSameSite: identity.sessionCookieSameSite,
      logger: logger.child({ component: 'sign-in' }),
    }),
    ...createWebhookRoutes({ secret: identity.webhookSecret, state, kafka }),
  };
  const sweeper = createSessionSweeper({
    sessions,
    kafka,
    logger: logger.child({ component: 'session-sweeper' }),
    intervalMs: options.sweepIntervalMs ?? 60_000,
  });
  return {
    routes,
    authenticate: createRequestAuthenticator({ verifier, sessions }),
    onSystemEvent: endSessionsOnSuspension({
      sessions,
      kafka,
      logger: logger.child({ component: 'suspension' }),
    }),
    start: () => {
      stores?.start();
      sweeper.start();
    },
    stop: async () => {
      await sweeper.stop();
      await stores?.stop();
    },
  };
}
