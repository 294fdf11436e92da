/**
 * The gateway's sign-in endpoints (`/auth/login`, `/auth/callback`, `/auth/session`,
 * `/auth/refresh`, `/auth/logout`), as exact-path routes for `lib/http-server.ts`; the registration webhook is in
 * webhook.ts. They publish the user events of the platform's design: `user.authenticated`
 * (oauth2 on callback, jwt_refresh on refresh) and `user.logged_out` (manual on logout, security
 * when the IdP rejects a refresh, timeout from {@link createSessionSweeper}). A refused request
 * publishes nothing and is answered `{ "error": CODE, "message": ... }` with a code of the
 * registry (contracts/errors.ts) and its HTTP status.
 */
import type { IncomingMessage } from 'node:http';
import { decodeJwt, errors as joseErrors } from 'jose';
import { UserEventFactory, type KafkaService } from '../../events';
import { clientAddress, sendJson, type Route } from '../../lib/http-server';
import type { Logger } from '../../lib/logger';
import { AccessTokenError, identityFromClaims } from './access-token';
import { methodNotAllowed, sendError } from './http';
import { OidcError, type OidcClient } from './oidc';
import { createMemorySignInState, type SignInStateStore } from './sign-in-state';
import {
  clearSessionCookie,
  sessionCookie,
  sessionIdFromRequest,
  type Session,
  type SessionStore,
} from './sessions';

/** What publishes sign-in's user events: a KafkaService, or an outbox in front of one. */
export type EventPublisher = Pick<KafkaService, 'publishEvent'>;

/** What the sign-in routes work with. */
export interface AuthRoutesOptions {
  oidc: OidcClient;
  sessions: SessionStore;
  /** Pending sign-ins. @default in memory (one instance) */
  state?: SignInStateStore;
  kafka: EventPublisher;
  /** The gateway's public URL (config.identity.publicUrl); https makes the cookie Secure. */
  publicUrl: string;
  logger: Logger;
  /** How long a started sign-in may take. @default 600_000 */
  loginTtlMs?: number;
  /**
   * Load balancers whose `X-Forwarded-For` names the client (the events' `ipAddress`).
   * @default none: the socket's peer
   */
  trustedProxies?: readonly string[];
  /** `SameSite` of the session cookie (config SESSION_COOKIE_SAMESITE). @default 'lax' */
  cookieSameSite?: 'lax' | 'strict' | 'none';
  /** Claim of the access token that carries the user's groups (`admin`). @default 'groups' */
  groupsClaim?: string;
  /** @default Date.now */
  now?: () => number;
}

/** What `GET /auth/session` answers for a signed-in browser (the web app's view of its session). */
export interface SessionInfo {
  userId: string;
  email: string;
  /** The roles of the session's access token (`admin`), for what the app shows. */
  roles: string[];
  /** When the session's access token expires (ISO 8601): refresh before, with POST /auth/refresh. */
  expiresAt: string;
  /** When the session itself ends, refreshed or not (ISO 8601). */
  sessionExpiresAt: string;
  /** Whether POST /auth/refresh can renew the access token (the IdP gave a refresh token). */
  refreshable: boolean;
}

/** Only same-origin paths: `/x`, not `//host` or `/\host`. */
export function safeReturnTo(value: string | null): string {
  if (!value || !value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\'))
    return '/';
  return /[\r\n]/.test(value) ? '/' : value;
}

/**
 * The `/auth/*` routes. Refusals: `BAD_CALLBACK` (unknown, expired or reused state, no code),
 * `IDP_REFUSED`, `IDP_UNAVAILABLE`, `NO_SESSION`, `NO_REFRESH_TOKEN`, `REFRESH_REJECTED` (the
 * session is ended), `METHOD_NOT_ALLOWED`.
 */
export function createAuthRoutes(options: AuthRoutesOptions): Record<string, Route> {
  const { oidc, sessions, kafka, logger } = options;
  const now = options.now ?? Date.now;
  const loginTtlMs = options.loginTtlMs ?? 600_000;
  const trustedProxies = options.trustedProxies ?? [];
  const groupsClaim = options.groupsClaim ?? 'groups';
  const cookieOptions = {
    secure: new URL(options.publicUrl).protocol === 'https:',
    sameSite: options.cookieSameSite ?? 'lax',
  };
  const store = options.state ?? createMemorySignInState(now);

  const requestUrl = (req: IncomingMessage) => new URL(req.url ?? '/', options.publicUrl);

  const sessionOf = async (req: IncomingMessage): Promise<Session | undefined> => {
    const id = sessionIdFromRequest(req);
    return id ? sessions.get(id) : undefined;
  };

  const login: Route = async (req, res) => {
    if (methodNotAllowed(req, res, 'GET')) return;
    const returnTo = safeReturnTo(requestUrl(req).searchParams.get('returnTo'));
    let request;
    try {
      request = await oidc.authorizationRequest();
    } catch (error) {
      logger.error('sign-in could not start', { error });
      return sendError(
        res,
        'IDP_UNAVAILABLE',
        'The identity provider is unavailable; try again shortly',
      );
    }
    await store.putPendingLogin(request.state, {
      nonce: request.nonce,
      codeVerifier: request.codeVerifier,
      returnTo,
      expiresAt: now() + loginTtlMs,
    });
    res.writeHead(302, { location: request.url.href, 'cache-control': 'no-store' });
    res.end();
  };

  const callback: Route = async (req, res) => {
    if (methodNotAllowed(req, res, 'GET')) return;
    const url = requestUrl(req);
    const state = url.searchParams.get('state');
    // Single use, whatever the outcome: taken (removed) here, on whichever instance.
    const started = state ? await store.takePendingLogin(state) : undefined;
    if (!state || !started) {
      return sendError(
        res,
        'BAD_CALLBACK',
        'Unknown or expired sign-in state; start again at /auth/login',
      );
    }
    let result;
    try {
      result = await oidc.exchangeCode(url, { state, ...started });
    } catch (error) {
      if (error instanceof OidcError) {
        logger.warn('sign-in refused', {
          code: error.code,
          reason: error.reason,
          message: error.message,
        });
        return sendError(res, error.code, error.message);
      }
      throw error;
    }
    if (!result.email) {
      return sendError(
        res,
        'IDP_REFUSED',
        'The identity provider sent no email for this user (grant the email scope)',
      );
    }
    if (await sessions.isSuspended(result.userId)) {
      logger.info('sign-in of a suspended account refused', { userId: result.userId });
      return sendError(
        res,
        'ACCOUNT_SUSPENDED',
        'This account is suspended while its erasure runs, or erased: signing in is refused',
      );
    }
    const session = await sessions.create({
      userId: result.userId,
      email: result.email,
      tokens: result.tokens,
    });
    const ipAddress = clientAddress(req, trustedProxies);
    const userAgent = req.headers['user-agent'];
    await kafka.publishEvent(
      'user-events',
      UserEventFactory.createUserAuthenticated(result.userId, result.email, session.ref, {
        authMethod: 'oauth2',
        ...(ipAddress ? { ipAddress } : {}),
        ...(userAgent ? { userAgent } : {}),
      }),
    );
    res.writeHead(302, {
      location: started.returnTo,
      'set-cookie': sessionCookie(session, cookieOptions, now()),
      'cache-control': 'no-store',
    });
    res.end();
  };

  // The token comes from the session store, not from the client: its claims are read, not verified
  // again (every GraphQL request still verifies it), and only tell the app what to show.
  const sessionInfo: Route = async (req, res) => {
    if (methodNotAllowed(req, res, 'GET')) return;
    const session = await sessionOf(req);
    if (!session) return sendError(res, 'NO_SESSION', 'Not signed in (no or expired session)');
    let roles: string[] = [];
    try {
      roles = identityFromClaims(decodeJwt(session.tokens.accessToken), groupsClaim).roles ?? [];
    } catch (error) {
      // An opaque (non-JWT) access token names no roles; the session is still valid.
      if (!(error instanceof joseErrors.JWTInvalid || error instanceof AccessTokenError))
        throw error;
    }
    const info: SessionInfo = {
      userId: session.userId,
      email: session.email,
      roles,
      expiresAt: new Date(session.tokens.expiresAt).toISOString(),
      sessionExpiresAt: new Date(session.expiresAt).toISOString(),
      refreshable: session.tokens.refreshToken !== undefined,
    };
    sendJson(res, 200, info);
  };

  const refresh: Route = async (req, res) => {
    if (methodNotAllowed(req, res, 'POST')) return;
    const session = await sessionOf(req);
    if (!session) return sendError(res, 'NO_SESSION', 'Not signed in (no or expired session)');
    if (!session.tokens.refreshToken) {
      return sendError(res, 'NO_REFRESH_TOKEN', 'This session has no refresh token; sign in again');
    }
    let tokens;
    try {
      tokens = await oidc.refresh(session.tokens.refreshToken);
    } catch (error) {
      if (error instanceof OidcError && error.reason === 'invalid_grant') {
        // The IdP revoked or expired the grant: the session must not live on.
        await sessions.delete(session.id);
        await kafka.publishEvent(
          'user-events',
          UserEventFactory.createUserLoggedOut(session.userId, session.ref, 'security'),
        );
        return sendError(res, 'REFRESH_REJECTED', `${error.message}; sign in again`, {
          headers: { 'set-cookie': clearSessionCookie(cookieOptions) },
        });
      }
      if (error instanceof OidcError) return sendError(res, error.code, error.message);
      throw error;
    }
    const updated = await sessions.updateTokens(session.id, tokens);
    if (!updated) return sendError(res, 'NO_SESSION', 'The session ended during the refresh');
    const ipAddress = clientAddress(req, trustedProxies);
    const userAgent = req.headers['user-agent'];
    await kafka.publishEvent(
      'user-events',
      UserEventFactory.createUserAuthenticated(session.userId, session.email, session.ref, {
        authMethod: 'jwt_refresh',
        ...(ipAddress ? { ipAddress } : {}),
        ...(userAgent ? { userAgent } : {}),
      }),
    );
    sendJson(res, 200, {
      accessToken: tokens.accessToken,
      tokenType: 'Bearer',
      expiresAt: new Date(tokens.expiresAt).toISOString(),
      expiresIn: Math.max(0, Math.floor((tokens.expiresAt - now()) / 1000)),
    });
  };

  const logout: Route = async (req, res) => {
    if (methodNotAllowed(req, res, 'POST')) return;
    const clear = { 'set-cookie': clearSessionCookie(cookieOptions) };
    const session = await sessionOf(req);
    if (!session)
      return sendJson(res, 200, { loggedOut: false, message: 'No active session' }, clear);
    await sessions.delete(session.id);
    // Best effort: the session is gone either way; a failed revocation is logged.
    const revocations = [
      ...(session.tokens.refreshToken
        ? [oidc.revoke(session.tokens.refreshToken, 'refresh_token')]
        : []),
      oidc.revoke(session.tokens.accessToken, 'access_token'),
    ];
    for (const outcome of await Promise.allSettled(revocations)) {
      if (outcome.status === 'rejected')
        logger.warn('token revocation failed', { error: outcome.reason });
    }
    await kafka.publishEvent(
      'user-events',
      UserEventFactory.createUserLoggedOut(session.userId, session.ref, 'manual'),
    );
    const endSession = await oidc
      .endSessionUrl(session.tokens.idToken, options.publicUrl)
      .catch(() => undefined);
    sendJson(
      res,
      200,
      { loggedOut: true, ...(endSession ? { endSessionUrl: endSession.href } : {}) },
      clear,
    );
  };

  return {
    '/auth/login': login,
    '/auth/callback': callback,
    '/auth/session': sessionInfo,
    '/auth/refresh': refresh,
    '/auth/logout': logout,
  };
}

/** What {@link createSessionSweeper} sweeps and announces to. */
export interface SessionSweeperOptions {
  sessions: SessionStore;
  kafka: EventPublisher;
  logger: Logger;
  /** @default 60_000 */
  intervalMs?: number;
}

/** Ends expired sessions and publishes `user.logged_out` with reason `timeout` for each. */
export function createSessionSweeper(options: SessionSweeperOptions): {
  start(): void;
  stop(): Promise<void>;
  sweep(now?: number): Promise<number>;
} {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  const sweep = async (at?: number) => {
    const expired = await options.sessions.takeExpired(at);
    for (const s of expired) {
      await options.kafka.publishEvent(
        'user-events',
        UserEventFactory.createUserLoggedOut(s.userId, s.ref, 'timeout'),
      );
    }
    return expired.length;
  };
  return {
    sweep,
    start() {
      timer ??= setInterval(() => {
        running = sweep().catch((error: unknown) => {
          options.logger.error('session sweep failed', { error });
          return 0;
        });
      }, options.intervalMs ?? 60_000);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}
