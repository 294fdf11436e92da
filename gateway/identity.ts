/**
 * Identity at the gateway: who the caller is ({@link Authenticate}), and the signed internal
 * token that tells the subgraphs ({@link internalTokenHeaders}).
 *
 * Callers sign in with OpenID Connect (gateway/auth/): a Bearer access token or the session
 * cookie. Outside production, a request without either may also assert who it is with the
 * development `x-identity` header (JSON: `{"userId":"u-1","email":"a@b.c","roles":["admin"]}`,
 * {@link developmentIdentityHeader}); in production such a request is anonymous, so protected
 * data is refused. {@link authenticator} puts the two together.
 *
 * Whoever the caller is, each subgraph request carries an `x-internal-token` signed with
 * INTERNAL_TOKEN_SECRET (anonymous callers get one too); subgraphs refuse requests without it.
 */
import type { IncomingMessage } from 'node:http';
import {
  IDENTITY_HEADER,
  InvalidIdentityError,
  parseIdentityHeader,
  type Identity,
} from '../contracts/identity';
import {
  INTERNAL_TOKEN_HEADER,
  signInternalToken,
  type SignInternalTokenOptions,
} from '../contracts/internal-token';
import { httpGraphQLError } from './errors';
import type { BuildRequestHeaders } from './subgraph-client';

/**
 * Who is calling, from the incoming request: the identity, or null for an anonymous caller.
 * Rejects with a `GraphQLError` (`extensions.http.status` 401) for credentials that are present
 * but invalid.
 */
export type Authenticate = (req: IncomingMessage) => Promise<Identity | null>;

const credentialExpiries = new WeakMap<IncomingMessage, number>();

/**
 * Records when the credentials an {@link Authenticate} accepted on `req` expire (epoch ms), for
 * whoever keeps acting on them (a WebSocket closes at that time). Bearer tokens carry their own
 * `exp`; this is for credentials that do not, such as the session cookie.
 */
export function recordCredentialExpiry(req: IncomingMessage, expiresAt: number): void {
  credentialExpiries.set(req, expiresAt);
}

/** When the credentials accepted on `req` expire, if the {@link Authenticate} recorded it. */
export function credentialExpiry(req: IncomingMessage): number | undefined {
  return credentialExpiries.get(req);
}

/** Every caller is anonymous. */
export const anonymous: Authenticate = async () => null;

/** Reads the development `x-identity` header; a malformed one is 401 `UNAUTHENTICATED`. */
export const developmentIdentityHeader: Authenticate = async (req) => {
  try {
    return parseIdentityHeader(req.headers[IDENTITY_HEADER]);
  } catch (error) {
    if (!(error instanceof InvalidIdentityError)) throw error;
    throw httpGraphQLError(error.code, error.message);
  }
};

/**
 * How the gateway authenticates callers: by sign-in (Bearer access token or session cookie)
 * when it is configured, and, outside production, by the development `x-identity` header for
 * a request that carries no sign-in credentials.
 */
export function authenticator(production: boolean, signIn?: Authenticate): Authenticate {
  const fallback = production ? anonymous : developmentIdentityHeader;
  if (!signIn) return fallback;
  return async (req) => (await signIn(req)) ?? fallback(req);
}

/**
 * Headers for the subgraph requests of one incoming request: the caller, as
 * {@link Authenticate} finds them, in a freshly signed `x-internal-token`. One token serves
 * every subgraph call of the request, hence a lifetime well above a request's.
 */
export function internalTokenHeaders(
  secret: string,
  authenticate: Authenticate,
  options: SignInternalTokenOptions = {},
): BuildRequestHeaders {
  return async (req) => ({
    [INTERNAL_TOKEN_HEADER]: await signInternalToken(secret, await authenticate(req), options),
  });
}
