/**
 * Who is calling, for the gateway's GraphQL context: a Bearer access token (API clients), or
 * else the `ig_session` cookie (browsers signed in through `/auth/login`). Matches the gateway's
 * `Authenticate` type (`(req) => Promise<Identity | null>`): anonymous is `null`; a presented but
 * invalid credential is a 401 `UNAUTHENTICATED` GraphQL error saying what was wrong, never a
 * silent downgrade to anonymous. A valid Bearer token of an account the erasure saga suspended
 * is a 403 `ACCOUNT_SUSPENDED` (its sessions are gone already; see `suspension.ts`).
 */
import type { IncomingMessage } from 'node:http';
import type { Identity } from '../../contracts/identity';
import { httpGraphQLError } from '../errors';
import { recordCredentialExpiry } from '../identity';
import { AccessTokenError, bearerToken, type AccessTokenVerifier } from './access-token';
import { sessionIdFromRequest, type SessionStore } from './sessions';

/** What {@link createRequestAuthenticator} checks credentials with. */
export interface RequestAuthenticatorOptions {
  verifier: AccessTokenVerifier;
  sessions: SessionStore;
  /**
   * How long an account's suspension (the erasure saga's first step) is taken as known before
   * the store is asked again: a Bearer token of an account suspended meanwhile works at most this
   * much longer. @default 5_000
   */
  suspensionCacheMs?: number;
  /** @default Date.now */
  now?: () => number;
}

/** Most accounts whose suspension is remembered at once; the oldest are asked again. */
const SUSPENSION_CACHE_SIZE = 10_000;

const unauthenticated = (message: string, reason: string) =>
  httpGraphQLError('UNAUTHENTICATED', message, { reason });

/**
 * The gateway's `Authenticate` (gateway/identity.ts) for sign-in: the identity of a valid Bearer token or session
 * cookie, null without either, and a 401 `UNAUTHENTICATED` (503 `SERVICE_UNAVAILABLE` while the
 * issuer's keys cannot be loaded) for a credential that does not do.
 */
export function createRequestAuthenticator(
  options: RequestAuthenticatorOptions,
): (req: IncomingMessage) => Promise<Identity | null> {
  const verify = async (token: string, via: string) => {
    try {
      return await options.verifier.verify(token);
    } catch (error) {
      if (!(error instanceof AccessTokenError)) throw error;
      if (error.reason === 'keys_unavailable') {
        throw httpGraphQLError('SERVICE_UNAVAILABLE', 'Cannot verify credentials right now');
      }
      const hint = via === 'session' && error.reason === 'expired' ? '; POST /auth/refresh' : '';
      throw unauthenticated(`${error.message}${hint}`, error.reason);
    }
  };
  const cacheMs = options.suspensionCacheMs ?? 5_000;
  const now = options.now ?? Date.now;
  const known = new Map<string, { suspended: boolean; until: number }>();
  /** The identity, unless its account is suspended (its sessions are gone; a token is not). */
  const notSuspended = async (identity: Identity): Promise<Identity> => {
    let entry = known.get(identity.userId);
    if (!entry || entry.until <= now()) {
      entry = {
        suspended: await options.sessions.isSuspended(identity.userId),
        until: now() + cacheMs,
      };
      known.delete(identity.userId);
      known.set(identity.userId, entry);
      if (known.size > SUSPENSION_CACHE_SIZE) known.delete(known.keys().next().value as string);
    }
    if (entry.suspended) {
      throw httpGraphQLError(
        'ACCOUNT_SUSPENDED',
        'This account is suspended while its erasure runs, or erased: its credentials are refused',
      );
    }
    return identity;
  };
  return async (req) => {
    let token: string | undefined;
    try {
      token = bearerToken(req);
    } catch (error) {
      if (error instanceof AccessTokenError) throw unauthenticated(error.message, error.reason);
      throw error;
    }
    if (token) return notSuspended(await verify(token, 'bearer'));
    const sessionId = sessionIdFromRequest(req);
    if (!sessionId) return null;
    const session = await options.sessions.get(sessionId);
    if (!session)
      throw unauthenticated('Session expired or signed out; sign in again', 'no_session');
    const identity = await verify(session.tokens.accessToken, 'session');
    recordCredentialExpiry(req, session.tokens.expiresAt);
    return identity;
  };
}
