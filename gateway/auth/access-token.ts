/**
 * Verifies the IdP's access tokens (JWTs) presented as `Authorization: Bearer ...`, against the
 * issuer's published keys (`jose` `createRemoteJWKSet`, which caches and re-fetches on an unknown
 * `kid`). Checks signature, issuer, audience and expiry, and maps the claims to the platform's
 * {@link Identity}. Every refusal is an {@link AccessTokenError} saying what was wrong.
 *
 * Where the keys are comes from the issuer's discovery metadata that openid-client already
 * fetched for sign-in (oidc.ts `serverMetadata()`), so the issuer is asked once, not twice.
 */
import type { IncomingMessage } from 'node:http';
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import type { Identity } from '../../contracts/identity';

/** Why an access token was refused: the `reason` of the 401 `UNAUTHENTICATED`. */
export type AccessTokenErrorReason =
  | 'malformed'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_audience'
  | 'wrong_issuer'
  | 'wrong_type'
  | 'bad_signature'
  | 'unknown_key'
  | 'missing_claim'
  | 'keys_unavailable';

/** A refused access token; `reason` is machine-readable, the message says it for people. */
export class AccessTokenError extends Error {
  override readonly name = 'AccessTokenError';
  constructor(
    readonly reason: AccessTokenErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** What the verifier reads of the issuer's discovery metadata (openid-client's `ServerMetadata`). */
export interface IssuerMetadata {
  /** The `iss` access tokens must carry. */
  issuer: string;
  /** Where the issuer publishes its signing keys. */
  jwks_uri?: string | undefined;
}

/** How {@link createAccessTokenVerifier} checks tokens. */
export interface AccessTokenVerifierOptions {
  /**
   * The issuer's discovery metadata, e.g. `() => oidc.serverMetadata()` (oidc.ts). Asked on the
   * first verification; when it fails (the issuer unreachable), that verification fails with
   * `keys_unavailable` and the next one asks again.
   */
  issuerMetadata: () => Promise<IssuerMetadata>;
  /** Expected `aud` (config.identity.audience). */
  audience: string;
  /** Claim holding the groups; `admin` grants the admin role. @default 'groups' */
  groupsClaim?: string;
  /**
   * Required JOSE `typ` header, e.g. `at+jwt` (RFC 9068) so an ID token, which has the same
   * `aud`, is not accepted as an access token. Authentik signs access tokens with `typ: JWT`.
   * @default not checked
   */
  typ?: string;
  /** Allowed clock skew, seconds. @default 5 */
  clockToleranceSeconds?: number;
  /** The verifier's clock, for tests that need a token to have expired. @default () => new Date() */
  clock?: () => Date;
}

/** Verifies access tokens; see {@link createAccessTokenVerifier}. */
export interface AccessTokenVerifier {
  /** The caller's identity, or an {@link AccessTokenError}. */
  verify(token: string): Promise<Identity>;
}

function refusal(error: unknown): AccessTokenError {
  if (error instanceof AccessTokenError) return error;
  if (error instanceof errors.JWTExpired) {
    return new AccessTokenError('expired', 'Access token has expired', { cause: error });
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'aud':
        return new AccessTokenError(
          'wrong_audience',
          'Access token was issued for another audience',
          { cause: error },
        );
      case 'iss':
        return new AccessTokenError('wrong_issuer', 'Access token was issued by another issuer', {
          cause: error,
        });
      case 'nbf':
      case 'iat':
        return new AccessTokenError('not_yet_valid', 'Access token is not valid yet', {
          cause: error,
        });
      case 'typ':
        return new AccessTokenError('wrong_type', 'Token is not an access token (wrong typ)', {
          cause: error,
        });
      default:
        return new AccessTokenError(
          'missing_claim',
          `Access token claim "${error.claim}" is invalid: ${error.reason}`,
          {
            cause: error,
          },
        );
    }
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new AccessTokenError('bad_signature', 'Access token signature is invalid', {
      cause: error,
    });
  }
  if (
    error instanceof errors.JWKSNoMatchingKey ||
    error instanceof errors.JWKSMultipleMatchingKeys
  ) {
    return new AccessTokenError(
      'unknown_key',
      'Access token is signed with a key the issuer does not publish',
      {
        cause: error,
      },
    );
  }
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) {
    return new AccessTokenError('keys_unavailable', "Cannot load the issuer's signing keys", {
      cause: error,
    });
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return new AccessTokenError(
      'bad_signature',
      'Access token uses a signing algorithm that is not allowed',
      {
        cause: error,
      },
    );
  }
  if (!(error instanceof errors.JOSEError)) {
    // Not jose's verdict on the token: fetching the keys failed (`fetch failed`, the issuer down).
    return new AccessTokenError('keys_unavailable', "Cannot load the issuer's signing keys", {
      cause: error,
    });
  }
  return new AccessTokenError('malformed', 'Access token is not a well-formed signed JWT', {
    cause: error,
  });
}

/**
 * The platform's identity of verified claims: `sub` the user, `email` when present, and the
 * `admin` role when `groupsClaim` lists the `admin` group.
 * @throws {AccessTokenError} `missing_claim` without `sub`.
 */
export function identityFromClaims(payload: JWTPayload, groupsClaim: string): Identity {
  if (!payload.sub) throw new AccessTokenError('missing_claim', 'Access token has no "sub" claim');
  const email = payload['email'];
  const groups = payload[groupsClaim];
  const groupList = Array.isArray(groups)
    ? groups.filter((g): g is string => typeof g === 'string')
    : [];
  return {
    userId: payload.sub,
    ...(typeof email === 'string' && email.length > 0 ? { email } : {}),
    roles: groupList.includes('admin') ? ['admin'] : [],
  };
}

/**
 * A verifier of the issuer's access tokens: signature (RS256, PS256, ES256 or EdDSA, by the
 * issuer's published keys), issuer, audience, expiry and `sub`, and `typ` when asked for.
 */
export function createAccessTokenVerifier(
  options: AccessTokenVerifierOptions,
): AccessTokenVerifier {
  const groupsClaim = options.groupsClaim ?? 'groups';
  let keys: Promise<{ issuer: string; jwks: ReturnType<typeof createRemoteJWKSet> }> | undefined;
  const load = () => {
    keys ??= (async () => {
      let meta: IssuerMetadata;
      try {
        meta = await options.issuerMetadata();
      } catch (error) {
        throw new AccessTokenError(
          'keys_unavailable',
          `Cannot load the issuer's metadata: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        );
      }
      let jwksUri: URL;
      try {
        jwksUri = new URL(meta.jwks_uri ?? '');
      } catch (error) {
        throw new AccessTokenError(
          'keys_unavailable',
          `The discovery metadata of ${meta.issuer} has no valid jwks_uri`,
          { cause: error },
        );
      }
      return { issuer: meta.issuer, jwks: createRemoteJWKSet(jwksUri) };
    })().catch((error: unknown) => {
      keys = undefined;
      throw error;
    });
    return keys;
  };
  return {
    async verify(token) {
      if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) {
        throw new AccessTokenError(
          'malformed',
          'Access token is not a JWT (expected three base64url parts)',
        );
      }
      const { issuer, jwks } = await load();
      try {
        const { payload } = await jwtVerify(token, jwks, {
          issuer,
          audience: options.audience,
          algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'],
          clockTolerance: options.clockToleranceSeconds ?? 5,
          requiredClaims: ['exp', 'sub'],
          ...(options.clock ? { currentDate: options.clock() } : {}),
          ...(options.typ ? { typ: options.typ } : {}),
        });
        return identityFromClaims(payload, groupsClaim);
      } catch (error) {
        throw refusal(error);
      }
    },
  };
}

/**
 * The bearer token of a request; undefined without an Authorization header.
 * @throws {AccessTokenError} `malformed` for an Authorization header that is not `Bearer <token>`.
 */
export function bearerToken(req: Pick<IncomingMessage, 'headers'>): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer +(\S+)$/i.exec(header.trim());
  if (!match?.[1])
    throw new AccessTokenError('malformed', 'Authorization header must be "Bearer <access token>"');
  return match[1];
}
