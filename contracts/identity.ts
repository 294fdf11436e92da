/**
 * Who is calling: the contract between the gateway and the subgraphs. The gateway authenticates
 * the caller (a Bearer access token or the sign-in session, gateway/auth/) and forwards the
 * identity to subgraphs in a short-lived token it signs (`internal-token.ts`); subgraphs never
 * see end-user credentials, read the identity from nothing else, and authorize with the
 * `require*` helpers below.
 *
 * `x-identity` (plain JSON, see {@link parseIdentityHeader}) lets a development client or test
 * tell the gateway who it is without signing in; the gateway accepts it only outside
 * production, and subgraphs ignore it.
 */
import { z } from 'zod';
import { ForbiddenError, UnauthenticatedError } from './errors';

export const IDENTITY_HEADER = 'x-identity';

/** The shape of an identity, wherever it comes from. */
export const identitySchema = z.strictObject({
  userId: z.string().min(1),
  email: z.email().optional(),
  roles: z.array(z.string().min(1)).default([]),
});

export type Identity = z.output<typeof identitySchema>;

/** Thrown for a malformed `x-identity` header sent to the gateway. */
export class InvalidIdentityError extends UnauthenticatedError {
  constructor(reason: string) {
    super(`Invalid ${IDENTITY_HEADER} header: ${reason}`);
  }
}

/** The `x-identity` header's value for `identity`. */
export function encodeIdentity(identity: Identity): string {
  return JSON.stringify(identity);
}

/**
 * The identity a development `x-identity` header asserts, or null when there is none.
 * @throws {InvalidIdentityError} for a header that is not one identity's JSON.
 */
export function parseIdentityHeader(raw: string | string[] | undefined): Identity | null {
  if (raw === undefined) return null;
  if (Array.isArray(raw)) throw new InvalidIdentityError('sent more than once');
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new InvalidIdentityError('not JSON');
  }
  const parsed = identitySchema.safeParse(json);
  if (!parsed.success)
    throw new InvalidIdentityError(parsed.error.issues.map((i) => i.message).join('; '));
  return parsed.data;
}

/** Whether `identity` has the admin role. */
export const isAdmin = (identity: Identity | null): boolean =>
  identity?.roles.includes('admin') ?? false;

/** The identity, or UNAUTHENTICATED. */
export function requireIdentity(identity: Identity | null): Identity {
  if (!identity) throw new UnauthenticatedError();
  return identity;
}

/** The identity of an admin, or FORBIDDEN. */
export function requireAdmin(identity: Identity | null): Identity {
  const who = requireIdentity(identity);
  if (!isAdmin(who)) throw new ForbiddenError('Only administrators may do this');
  return who;
}

/** Passes for the user themself or an admin; FORBIDDEN otherwise. */
export function requireSelfOrAdmin(identity: Identity | null, userId: string): Identity {
  const who = requireIdentity(identity);
  if (who.userId !== userId && !isAdmin(who)) {
    throw new ForbiddenError(`You may only access your own data, not user ${userId}'s`);
  }
  return who;
}
