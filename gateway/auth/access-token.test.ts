/**
 * The access-token verifier against a real HTTP server publishing a JWKS, with the issuer's
 * metadata passed in (as sign-in passes openid-client's): an issuer that cannot be reached for a
 * moment makes verification fail with `keys_unavailable` (503 for the request), and the next
 * verification asks again.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import type { GraphQLError } from 'graphql';
import { AccessTokenError, createAccessTokenVerifier, type IssuerMetadata } from './access-token';
import { createRequestAuthenticator } from './authenticate';
import { createMemorySessionStore } from './sessions';

const ISSUER = 'https://issuer.example.com';
const AUDIENCE = 'interview-graph';

let server: Server;
let jwksUri: string;
let privateKey: CryptoKey;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  privateKey = pair.privateKey;
  const jwks = JSON.stringify({
    keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }],
  });
  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(jwks);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  jwksUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const token = () =>
  new SignJWT({ email: 'dev@example.com', groups: ['admin'] })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject('dev-user')
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(privateKey);

/** Metadata that fails while `down` is true, as a discovery of an unreachable issuer does. */
function flakyIssuer() {
  const state = { down: true, asked: 0 };
  const issuerMetadata = async (): Promise<IssuerMetadata> => {
    state.asked++;
    if (state.down) throw new Error('connect ECONNREFUSED 127.0.0.1:9');
    return { issuer: ISSUER, jwks_uri: jwksUri };
  };
  return { state, issuerMetadata };
}

describe('createAccessTokenVerifier', () => {
  it('verifies with the keys the metadata points at and maps the claims', async () => {
    const verifier = createAccessTokenVerifier({
      issuerMetadata: async () => ({ issuer: ISSUER, jwks_uri: jwksUri }),
      audience: AUDIENCE,
    });
    await expect(verifier.verify(await token())).resolves.toEqual({
      userId: 'dev-user',
      email: 'dev@example.com',
      roles: ['admin'],
    });
  });

  it('fails with keys_unavailable while the issuer cannot be reached, and asks again after', async () => {
    const { state, issuerMetadata } = flakyIssuer();
    const verifier = createAccessTokenVerifier({ issuerMetadata, audience: AUDIENCE });
    const jwt = await token();
    const refused = await verifier.verify(jwt).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(AccessTokenError);
    expect(refused).toMatchObject({
      reason: 'keys_unavailable',
      message: expect.stringMatching(/ECONNREFUSED/),
    });
    state.down = false;
    await expect(verifier.verify(jwt)).resolves.toMatchObject({ userId: 'dev-user' });
    await expect(verifier.verify(jwt)).resolves.toMatchObject({ userId: 'dev-user' });
    expect(state.asked).toBe(2); // once refused, then kept
  });

  it('fails with keys_unavailable for metadata without a jwks_uri', async () => {
    const verifier = createAccessTokenVerifier({
      issuerMetadata: async () => ({ issuer: ISSUER }),
      audience: AUDIENCE,
    });
    await expect(verifier.verify(await token())).rejects.toMatchObject({
      reason: 'keys_unavailable',
      message: expect.stringMatching(/jwks_uri/),
    });
  });

  it('fails with keys_unavailable, not malformed, while the keys cannot be fetched', async () => {
    const verifier = createAccessTokenVerifier({
      issuerMetadata: async () => ({ issuer: ISSUER, jwks_uri: 'http://127.0.0.1:9/jwks' }),
      audience: AUDIENCE,
    });
    await expect(verifier.verify(await token())).rejects.toMatchObject({
      reason: 'keys_unavailable',
    });
    await expect(verifier.verify('a.b.c')).rejects.toMatchObject({ reason: 'malformed' });
  });

  it('makes the request 503 SERVICE_UNAVAILABLE meanwhile, not 401', async () => {
    const { issuerMetadata } = flakyIssuer();
    const authenticate = createRequestAuthenticator({
      verifier: createAccessTokenVerifier({ issuerMetadata, audience: AUDIENCE }),
      sessions: createMemorySessionStore(),
    });
    const req = { headers: { authorization: `Bearer ${await token()}` } } as IncomingMessage;
    const error = (await authenticate(req).catch((e: unknown) => e)) as GraphQLError;
    expect(error.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE', http: { status: 503 } });
  });

  it('refuses a valid Bearer token of a suspended account (403 ACCOUNT_SUSPENDED), until it is restored', async () => {
    const sessions = createMemorySessionStore();
    let clock = 0;
    const authenticate = createRequestAuthenticator({
      verifier: createAccessTokenVerifier({
        issuerMetadata: async () => ({ issuer: ISSUER, jwks_uri: jwksUri }),
        audience: AUDIENCE,
      }),
      sessions,
      suspensionCacheMs: 1_000,
      now: () => clock,
    });
    const req = { headers: { authorization: `Bearer ${await token()}` } } as IncomingMessage;
    expect((await authenticate(req))?.userId).toBe('dev-user');
    await sessions.suspendAccount('dev-user');
    // Known not suspended for a second more, then asked again.
    expect((await authenticate(req))?.userId).toBe('dev-user');
    clock = 1_000;
    const error = (await authenticate(req).catch((e: unknown) => e)) as GraphQLError;
    expect(error.extensions).toEqual({ code: 'ACCOUNT_SUSPENDED', http: { status: 403 } });
    expect(error.message).toMatch(/suspended while its erasure runs/);
    await sessions.restoreAccount('dev-user');
    clock = 2_000;
    expect((await authenticate(req))?.userId).toBe('dev-user');
  });
});
