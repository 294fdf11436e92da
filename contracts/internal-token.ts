/**
 * The gateway's proof to a subgraph that a request came through it, and who the caller is.
 *
 * The gateway signs a short-lived JWS (HS256, key `INTERNAL_TOKEN_SECRET`) for every subgraph
 * request and sends it in the `x-internal-token` header; a subgraph refuses any request without
 * a valid one. A dedicated header, not `authorization`, because `authorization: Bearer` carries
 * end users' tokens at the gateway, and the two must never be mistaken for each other.
 *
 * Claims: `iss` {@link INTERNAL_TOKEN_ISSUER}, `aud` {@link INTERNAL_TOKEN_AUDIENCE}, `iat`,
 * `exp`; for a user `sub` (the user id), `email`, `roles`; for an anonymous caller `anon: true`,
 * so that "anonymous, through the gateway" differs from "not through the gateway".
 *
 * A token is not bound to one request: within its lifetime it can be replayed by whoever reads
 * it off the internal network. The short lifetime bounds that.
 */
import { webcrypto } from 'node:crypto';
import { errors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { UnauthenticatedError } from './errors';
import { identitySchema, type Identity } from './identity';

export const INTERNAL_TOKEN_HEADER = 'x-internal-token';
export const INTERNAL_TOKEN_ISSUER = 'interview-graph-gateway';
export const INTERNAL_TOKEN_AUDIENCE = 'interview-graph-subgraph';
const ALGORITHM = 'HS256';
/** Shortest secret accepted; config/index.ts asks for the same. */
const MIN_SECRET_LENGTH = 32;
/** Clock difference tolerated between the gateway's and a subgraph's host. */
const CLOCK_TOLERANCE_SECONDS = 5;

/** Why a token was refused. */
export type InternalTokenProblem =
  | 'missing'
  | 'malformed'
  | 'bad-signature'
  | 'expired'
  | 'wrong-issuer'
  | 'wrong-audience'
  | 'invalid-claims';

/** A request without a valid internal token: answered 401 `UNAUTHENTICATED` with the reason. */
export class InternalTokenError extends UnauthenticatedError {
  override readonly name = 'InternalTokenError';
  constructor(
    readonly problem: InternalTokenProblem,
    reason: string,
  ) {
    super(
      problem === 'missing'
        ? `Missing ${INTERNAL_TOKEN_HEADER}: subgraphs only accept requests from the gateway`
        : `Invalid ${INTERNAL_TOKEN_HEADER}: ${reason}`,
    );
  }
}

/** Throws unless `secret` is long enough to sign internal tokens with; call it at start. */
export function assertInternalTokenSecret(secret: string): void {
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new Error(`The internal token secret must be at least ${MIN_SECRET_LENGTH} characters`);
  }
}

// One imported key per secret (in practice one per process): importing costs more than an
// HS256 signature, and jose would import a raw Uint8Array again on every call.
const keys = new Map<string, Promise<webcrypto.CryptoKey>>();

function keyFor(secret: string): Promise<webcrypto.CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    assertInternalTokenSecret(secret);
    key = webcrypto.subtle.importKey(
      'raw',
      new TextEncoder().encode(secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    );
    keys.set(secret, key);
  }
  return key;
}

export interface SignInternalTokenOptions {
  /** Lifetime of the token. @default 60 */
  ttlSeconds?: number;
  /** When the token counts as issued (tests sign tokens that are already expired). @default now */
  issuedAt?: Date;
}

/**
 * Signs the internal token for one request through the gateway.
 * @param identity The caller, or `null` for an anonymous caller (the token says `anon: true`).
 * @returns A compact JWS for the {@link INTERNAL_TOKEN_HEADER} header.
 */
export async function signInternalToken(
  secret: string,
  identity: Identity | null,
  options: SignInternalTokenOptions = {},
): Promise<string> {
  const iat = Math.floor((options.issuedAt ?? new Date()).getTime() / 1000);
  const claims: JWTPayload = identity
    ? { ...(identity.email === undefined ? {} : { email: identity.email }), roles: identity.roles }
    : { anon: true };
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .setIssuer(INTERNAL_TOKEN_ISSUER)
    .setAudience(INTERNAL_TOKEN_AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(iat + (options.ttlSeconds ?? 60));
  if (identity) jwt.setSubject(identity.userId);
  return jwt.sign(await keyFor(secret));
}

/**
 * Checks an internal token: signature, algorithm, issuer, audience, expiry, and the identity
 * claims' shape.
 * @param token The header's value; `undefined` or empty when the request had none.
 * @returns The caller, or `null` for an anonymous caller who came through the gateway.
 * @throws {InternalTokenError} naming what is wrong.
 */
export async function verifyInternalToken(
  secret: string,
  token: string | undefined,
): Promise<Identity | null> {
  if (token === undefined || token.trim() === '') throw new InternalTokenError('missing', '');
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, await keyFor(secret), {
      algorithms: [ALGORITHM],
      issuer: INTERNAL_TOKEN_ISSUER,
      audience: INTERNAL_TOKEN_AUDIENCE,
      requiredClaims: ['iat', 'exp'],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    }));
  } catch (error) {
    throw tokenError(error);
  }

  if (payload.anon !== undefined) {
    if (payload.anon !== true || payload.sub !== undefined) {
      throw new InternalTokenError(
        'invalid-claims',
        'an anonymous token must say anon: true and name no user',
      );
    }
    return null;
  }
  const identity = identitySchema.safeParse({
    userId: payload.sub,
    ...(payload.email === undefined ? {} : { email: payload.email }),
    roles: payload.roles,
  });
  if (!identity.success) {
    const problems = identity.error.issues.map((i) => {
      const claim = i.path[0] === 'userId' ? 'sub' : i.path.join('.');
      return `${claim}: ${i.message}`;
    });
    throw new InternalTokenError('invalid-claims', `bad identity claims (${problems.join('; ')})`);
  }
  return identity.data;
}

function tokenError(error: unknown): InternalTokenError {
  if (error instanceof errors.JWTExpired) {
    const exp = typeof error.payload.exp === 'number' ? error.payload.exp : undefined;
    return new InternalTokenError(
      'expired',
      `expired${exp === undefined ? '' : ` at ${new Date(exp * 1000).toISOString()}`}`,
    );
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new InternalTokenError('bad-signature', "signature not made with the gateway's key");
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') {
      return new InternalTokenError('wrong-issuer', `issuer is not ${INTERNAL_TOKEN_ISSUER}`);
    }
    if (error.claim === 'aud') {
      return new InternalTokenError('wrong-audience', `audience is not ${INTERNAL_TOKEN_AUDIENCE}`);
    }
    return new InternalTokenError('invalid-claims', error.message);
  }
  if (
    error instanceof errors.JWSInvalid ||
    error instanceof errors.JWTInvalid ||
    error instanceof errors.JOSEAlgNotAllowed ||
    error instanceof errors.JOSENotSupported
  ) {
    return new InternalTokenError(
      'malformed',
      `not a token signed by the gateway (${error.message})`,
    );
  }
  if (error instanceof errors.JOSEError) {
    return new InternalTokenError('malformed', error.message);
  }
  throw error;
}
