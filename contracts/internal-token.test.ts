import { randomBytes } from 'node:crypto';
import { decodeJwt, SignJWT } from 'jose';
import {
  INTERNAL_TOKEN_AUDIENCE,
  INTERNAL_TOKEN_ISSUER,
  InternalTokenError,
  signInternalToken,
  verifyInternalToken,
  type InternalTokenProblem,
} from './internal-token';

const secret = randomBytes(48).toString('base64url');
const alice = { userId: 'u-alice', email: 'alice@example.com', roles: ['admin'] };

/** The error `promise` rejects with: an InternalTokenError with this problem. */
async function refused(promise: Promise<unknown>, problem: InternalTokenProblem) {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InternalTokenError);
  const tokenError = error as InternalTokenError;
  expect(tokenError.problem).toBe(problem);
  expect(tokenError.code).toBe('UNAUTHENTICATED');
  return tokenError;
}

/** A token with the right issuer, audience and lifetime unless `claims` says otherwise. */
function handMade(claims: Record<string, unknown>, key = secret) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: INTERNAL_TOKEN_ISSUER,
    aud: INTERNAL_TOKEN_AUDIENCE,
    iat: now,
    exp: now + 60,
    ...claims,
  })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(key));
}

it('round-trips a user: sub, email and roles', async () => {
  const token = await signInternalToken(secret, alice);
  expect(await verifyInternalToken(secret, token)).toEqual(alice);
  const claims = decodeJwt(token);
  expect(claims).toMatchObject({
    iss: INTERNAL_TOKEN_ISSUER,
    aud: INTERNAL_TOKEN_AUDIENCE,
    sub: 'u-alice',
    roles: ['admin'],
  });
  expect(claims.exp).toBe((claims.iat ?? 0) + 60);
  expect(claims.anon).toBeUndefined();
});

it('round-trips a user without an email', async () => {
  const bob = { userId: 'u-bob', roles: [] };
  expect(await verifyInternalToken(secret, await signInternalToken(secret, bob))).toEqual(bob);
});

it('gives an anonymous caller a token that says so, verified as null', async () => {
  const token = await signInternalToken(secret, null);
  expect(decodeJwt(token)).toMatchObject({ anon: true });
  expect(decodeJwt(token).sub).toBeUndefined();
  expect(await verifyInternalToken(secret, token)).toBeNull();
});

it('honours ttlSeconds', async () => {
  const token = await signInternalToken(secret, alice, { ttlSeconds: 5 });
  const claims = decodeJwt(token);
  expect(claims.exp).toBe((claims.iat ?? 0) + 5);
});

it('refuses a missing or empty token', async () => {
  const error = await refused(verifyInternalToken(secret, undefined), 'missing');
  expect(error.message).toBe(
    'Missing x-internal-token: subgraphs only accept requests from the gateway',
  );
  await refused(verifyInternalToken(secret, ''), 'missing');
});

it('refuses an expired token, saying when it expired', async () => {
  const token = await signInternalToken(secret, alice, {
    ttlSeconds: 60,
    issuedAt: new Date(Date.now() - 120_000),
  });
  const error = await refused(verifyInternalToken(secret, token), 'expired');
  expect(error.message).toMatch(/^Invalid x-internal-token: expired at \d{4}-\d\d-\d\dT/);
});

it('refuses a tampered token', async () => {
  const token = await signInternalToken(secret, { userId: 'u-mallory', roles: [] });
  const [header, , signature] = token.split('.');
  const payload = Buffer.from(
    JSON.stringify({ ...decodeJwt(token), sub: 'u-alice', roles: ['admin'] }),
  ).toString('base64url');
  const error = await refused(
    verifyInternalToken(secret, `${header}.${payload}.${signature}`),
    'bad-signature',
  );
  expect(error.message).toBe("Invalid x-internal-token: signature not made with the gateway's key");
});

it('refuses a token signed with another key', async () => {
  const other = await signInternalToken(randomBytes(48).toString('base64url'), alice);
  await refused(verifyInternalToken(secret, other), 'bad-signature');
});

it('refuses the wrong audience or issuer', async () => {
  const audience = await refused(
    verifyInternalToken(secret, await handMade({ aud: 'someone-else' })),
    'wrong-audience',
  );
  expect(audience.message).toBe(
    'Invalid x-internal-token: audience is not interview-graph-subgraph',
  );
  await refused(verifyInternalToken(secret, await handMade({ iss: 'mallory' })), 'wrong-issuer');
});

it('refuses what is not a signed token, or uses another algorithm', async () => {
  await refused(verifyInternalToken(secret, 'not-a-token'), 'malformed');
  await refused(verifyInternalToken(secret, '{"userId":"u-alice"}'), 'malformed');
  const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(
    JSON.stringify(decodeJwt(await signInternalToken(secret, alice))),
  ).toString('base64url')}.`;
  await refused(verifyInternalToken(secret, unsigned), 'malformed');
});

it('refuses tokens whose identity claims are wrong', async () => {
  await refused(verifyInternalToken(secret, await handMade({ roles: [] })), 'invalid-claims');
  await refused(
    verifyInternalToken(secret, await handMade({ sub: 'u-1', roles: 'admin' })),
    'invalid-claims',
  );
  await refused(
    verifyInternalToken(secret, await handMade({ anon: true, sub: 'u-1' })),
    'invalid-claims',
  );
  await refused(verifyInternalToken(secret, await handMade({ exp: undefined })), 'invalid-claims');
});

it('refuses a secret shorter than 32 characters', async () => {
  await expect(signInternalToken('short', alice)).rejects.toThrow(/at least 32 characters/);
});
