/**
 * Who is calling, for the gateway's GraphQL context: a Bearer access token (API clients), or
 * else the `ig_session` cookie (browsers signed in through `/auth/login`). Matches the gateway's
 * `Authenticate` type (`(req) => Promise<Identity | null>`): anonymous is `null`; a presented but
 * invalid credential is a 401 `UNAUTHENTICATED` GraphQL error saying what was wrong, never a
 * silent downgrade to anonymous.
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
}

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
  return async (req) => {
    let token: string | undefined;
    try {
      token = bearerToken(req);
    } catch (error) {
      if (error instanceof AccessTokenError) throw unauthenticated(error.message, error.reason);
      throw error;
    }
    if (token) return verify(token, 'bearer');
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
