/**
 * Verifies the IdP's access tokens (JWTs) presented as `Authorization: Bearer ...`, against the
 * issuer's published keys (`jose` `createRemoteJWKSet`, which caches and re-fetches on an unknown
 * `kid`). Checks signature, issuer, audience and expiry, and maps the claims to the platform's
 * {@link Identity}. Every refusal is an {@link AccessTokenError} saying what was wrong.
 */
import type { IncomingMessage } from 'node:http';
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import { z } from 'zod';
import type { Identity } from '../../contracts/identity';

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

export interface AccessTokenVerifierOptions {
  /** Issuer URL; the JWKS location comes from its discovery document unless `jwksUri` is given. */
  issuer: string;
  /** Expected `aud` (config.identity.audience). */
  audience: string;
  /** Claim holding the groups; `admin` grants the admin role. @default 'groups' */
  groupsClaim?: string;
  /** Skips discovery. */
  jwksUri?: string;
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

export interface AccessTokenVerifier {
  /** The caller's identity, or an {@link AccessTokenError}. */
  verify(token: string): Promise<Identity>;
}

const discoverySchema = z.object({ issuer: z.string().min(1), jwks_uri: z.url() });

async function discover(issuer: string): Promise<z.output<typeof discoverySchema>> {
  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: 'application/json' } });
  } catch (error) {
    throw new AccessTokenError('keys_unavailable', `Cannot reach the issuer at ${url}`, {
      cause: error,
    });
  }
  if (!response.ok) {
    throw new AccessTokenError(
      'keys_unavailable',
      `Issuer discovery at ${url} answered ${response.status}`,
    );
  }
  const parsed = discoverySchema.safeParse(await response.json());
  if (!parsed.success) {
    throw new AccessTokenError(
      'keys_unavailable',
      `Issuer discovery at ${url} has no valid jwks_uri`,
    );
  }
  return parsed.data;
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
  return new AccessTokenError('malformed', 'Access token is not a well-formed signed JWT', {
    cause: error,
  });
}

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

export function createAccessTokenVerifier(
  options: AccessTokenVerifierOptions,
): AccessTokenVerifier {
  const groupsClaim = options.groupsClaim ?? 'groups';
  let keys: Promise<{ issuer: string; jwks: ReturnType<typeof createRemoteJWKSet> }> | undefined;
  const load = () => {
    keys ??= (async () => {
      const meta = options.jwksUri
        ? { issuer: options.issuer, jwks_uri: options.jwksUri }
        : await discover(options.issuer);
      return { issuer: meta.issuer, jwks: createRemoteJWKSet(new URL(meta.jwks_uri)) };
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
