/**
 * The gateway's OpenID Connect client (`openid-client` 6): discovery, authorization requests with
 * PKCE (S256), state and nonce, the code exchange with ID token validation, refresh, revocation
 * and RP-initiated logout. Failures become {@link OidcError}s with a code of the registry
 * (contracts/errors.ts, hence an HTTP status) and a reason, so routes answer with a clear message
 * instead of a stack.
 */
import * as client from 'openid-client';
import { ERROR_CODES, type ErrorCode } from '../../contracts/errors';

/** The relying party's registration at the issuer. */
export interface OidcClientOptions {
  /** Issuer URL; its discovery document is fetched on first use. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The gateway's `/auth/callback` URL, registered at the issuer. */
  redirectUri: string;
  /** @default 'openid email profile offline_access' */
  scope?: string;
  /**
   * Allow an `http:` issuer. Only for a development IdP on the loopback interface.
   * @default true for http://127.0.0.1 and http://localhost issuers, false otherwise
   */
  allowInsecure?: boolean;
}

/** What the gateway keeps (server-side) between `/auth/login` and `/auth/callback`. */
export interface AuthorizationRequest {
  url: URL;
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** The tokens of a sign-in or a refresh, as a session keeps them. */
export interface OidcTokens {
  accessToken: string;
  refreshToken: string | undefined;
  idToken: string | undefined;
  /** Access token expiry, epoch milliseconds. */
  expiresAt: number;
}

/** A completed sign-in: the tokens and who signed in. */
export interface OidcLogin {
  tokens: OidcTokens;
  /** From the validated ID token. */
  userId: string;
  email: string | undefined;
  claims: Record<string, unknown>;
}

/** What went wrong with the IdP, in more detail than the {@link OidcErrorCode}. */
export type OidcErrorReason =
  | 'state_mismatch'
  | 'nonce_mismatch'
  | 'invalid_grant'
  | 'idp_error'
  | 'missing_code'
  | 'invalid_response'
  | 'unavailable';

/** The registry's codes of an {@link OidcError} (contracts/errors.ts). */
export type OidcErrorCode = Extract<ErrorCode, 'BAD_CALLBACK' | 'IDP_REFUSED' | 'IDP_UNAVAILABLE'>;

const CODE_OF_REASON: Record<OidcErrorReason, OidcErrorCode> = {
  state_mismatch: 'BAD_CALLBACK',
  missing_code: 'BAD_CALLBACK',
  nonce_mismatch: 'IDP_REFUSED',
  invalid_grant: 'IDP_REFUSED',
  idp_error: 'IDP_REFUSED',
  invalid_response: 'IDP_REFUSED',
  unavailable: 'IDP_UNAVAILABLE',
};

/**
 * A refused or failed exchange with the IdP: `code` is what a client is answered with (and
 * `status`, the registry's HTTP status of it), `reason` what happened, for logs and for the
 * routes' own decisions (`invalid_grant` ends a session).
 */
export class OidcError extends Error {
  override readonly name = 'OidcError';
  readonly code: OidcErrorCode;
  readonly status: number;
  constructor(
    readonly reason: OidcErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = CODE_OF_REASON[reason];
    this.status = ERROR_CODES[this.code].httpStatus;
  }
}

/** The gateway's side of the OpenID Connect flows; failures are {@link OidcError}s. */
export interface OidcClient {
  /** Fetches the discovery document (once; retried after a failure). */
  discover(): Promise<client.Configuration>;
  /** The discovery document's metadata (`issuer`, `jwks_uri`, ...), as {@link discover} got it. */
  serverMetadata(): Promise<client.ServerMetadata>;
  /** A fresh authorization request: URL plus the state, nonce and PKCE verifier to keep. */
  authorizationRequest(extra?: Record<string, string>): Promise<AuthorizationRequest>;
  /** Exchanges the code in `callbackUrl`, checking state, nonce and the ID token. */
  exchangeCode(
    callbackUrl: URL,
    expected: Pick<AuthorizationRequest, 'state' | 'nonce' | 'codeVerifier'>,
  ): Promise<OidcLogin>;
  /** Refresh grant; `invalid_grant` means the IdP revoked or expired the refresh token. */
  refresh(refreshToken: string): Promise<OidcTokens>;
  /** Revokes a token at the IdP (RFC 7009); a no-op when the IdP has no revocation endpoint. */
  revoke(token: string, hint: 'access_token' | 'refresh_token'): Promise<void>;
  /** RP-initiated logout URL, or undefined when the IdP has no end-session endpoint. */
  endSessionUrl(
    idToken: string | undefined,
    postLogoutRedirectUri?: string,
  ): Promise<URL | undefined>;
}

function isLoopback(url: URL): boolean {
  return url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
}

function tokensOf(
  response: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers,
): OidcTokens {
  const expiresIn = response.expiresIn() ?? 300;
  return {
    accessToken: response.access_token,
    refreshToken: response.refresh_token,
    idToken: response.id_token,
    expiresAt: Date.now() + expiresIn * 1000,
  };
}

/** Turns openid-client's errors into OidcErrors that say what was wrong. */
export function toOidcError(error: unknown, during: 'code' | 'refresh' | 'revoke'): OidcError {
  if (error instanceof OidcError) return error;
  if (error instanceof client.AuthorizationResponseError) {
    return new OidcError(
      'idp_error',
      `The identity provider refused the sign-in: ${error.error}${error.error_description ? ` (${error.error_description})` : ''}`,
      { cause: error },
    );
  }
  if (error instanceof client.ResponseBodyError) {
    const what =
      during === 'refresh' ? 'refresh token' : during === 'code' ? 'authorization code' : 'token';
    return new OidcError(
      error.error === 'invalid_grant' ? 'invalid_grant' : 'idp_error',
      `The identity provider refused the ${what}: ${error.error}${error.error_description ? ` (${error.error_description})` : ''}`,
      { cause: error },
    );
  }
  if (error instanceof client.ClientError) {
    // openid-client wraps oauth4webapi's error, whose cause names the offending claim.
    const messages: string[] = [];
    let claim: string | undefined;
    for (
      let at: unknown = error;
      at && typeof at === 'object';
      at = (at as { cause?: unknown }).cause
    ) {
      if (at instanceof Error) messages.push(at.message);
      if ('claim' in at && typeof at.claim === 'string') claim = at.claim;
      if (messages.length > 5) break;
    }
    const said = messages.join(' / ');
    if (claim === 'nonce' || /"nonce"/.test(said)) {
      return new OidcError(
        'nonce_mismatch',
        'The ID token nonce does not match this sign-in (replayed or mixed-up response)',
        { cause: error },
      );
    }
    if (claim === 'state' || /"state"/.test(said)) {
      return new OidcError('state_mismatch', 'The state parameter does not match this sign-in', {
        cause: error,
      });
    }
    if (
      error.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' ||
      error.code === 'OAUTH_RESPONSE_IS_NOT_JSON'
    ) {
      return new OidcError(
        'unavailable',
        `The identity provider is unavailable: ${error.message}`,
        { cause: error },
      );
    }
    return new OidcError(
      'invalid_response',
      `Invalid response from the identity provider: ${said}`,
      { cause: error },
    );
  }
  return new OidcError(
    'unavailable',
    `Could not reach the identity provider: ${error instanceof Error ? error.message : String(error)}`,
    { cause: error },
  );
}

/** Creates the client; discovery happens on first use. */
export function createOidcClient(options: OidcClientOptions): OidcClient {
  const issuer = new URL(options.issuer);
  const allowInsecure = options.allowInsecure ?? isLoopback(issuer);
  const scope = options.scope ?? 'openid email profile offline_access';
  let configuration: Promise<client.Configuration> | undefined;

  const discover = () => {
    configuration ??= client
      .discovery(
        issuer,
        options.clientId,
        undefined,
        client.ClientSecretBasic(options.clientSecret),
        allowInsecure ? { execute: [client.allowInsecureRequests] } : undefined,
      )
      .catch((error: unknown) => {
        configuration = undefined;
        throw new OidcError(
          'unavailable',
          `OpenID discovery failed for ${issuer.href}: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        );
      });
    return configuration;
  };

  return {
    discover,
    serverMetadata: async () => (await discover()).serverMetadata(),
    async authorizationRequest(extra = {}) {
      const config = await discover();
      const codeVerifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const nonce = client.randomNonce();
      const url = client.buildAuthorizationUrl(config, {
        ...extra,
        redirect_uri: options.redirectUri,
        response_type: 'code',
        scope,
        state,
        nonce,
        code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
      });
      return { url, state, nonce, codeVerifier };
    },
    async exchangeCode(callbackUrl, expected) {
      const config = await discover();
      if (callbackUrl.searchParams.get('state') !== expected.state) {
        throw new OidcError('state_mismatch', 'The state parameter does not match this sign-in');
      }
      if (!callbackUrl.searchParams.has('code') && !callbackUrl.searchParams.has('error')) {
        throw new OidcError('missing_code', 'The callback carries no authorization code');
      }
      try {
        const response = await client.authorizationCodeGrant(config, callbackUrl, {
          pkceCodeVerifier: expected.codeVerifier,
          expectedState: expected.state,
          expectedNonce: expected.nonce,
          idTokenExpected: true,
        });
        const claims = response.claims();
        if (!claims) throw new OidcError('invalid_response', 'The IdP returned no ID token');
        return {
          tokens: tokensOf(response),
          userId: claims.sub,
          email: typeof claims['email'] === 'string' ? claims['email'] : undefined,
          claims: { ...claims },
        };
      } catch (error) {
        throw toOidcError(error, 'code');
      }
    },
    async refresh(refreshToken) {
      const config = await discover();
      try {
        const response = await client.refreshTokenGrant(config, refreshToken);
        const tokens = tokensOf(response);
        // Providers may keep the refresh token unchanged and omit it from the response.
        return { ...tokens, refreshToken: tokens.refreshToken ?? refreshToken };
      } catch (error) {
        throw toOidcError(error, 'refresh');
      }
    },
    async revoke(token, hint) {
      const config = await discover();
      if (!config.serverMetadata().revocation_endpoint) return;
      try {
        await client.tokenRevocation(config, token, { token_type_hint: hint });
      } catch (error) {
        throw toOidcError(error, 'revoke');
      }
    },
    async endSessionUrl(idToken, postLogoutRedirectUri) {
      const config = await discover();
      if (!config.serverMetadata().end_session_endpoint) return undefined;
      return client.buildEndSessionUrl(config, {
        ...(idToken ? { id_token_hint: idToken } : {}),
        ...(postLogoutRedirectUri ? { post_logout_redirect_uri: postLogoutRedirectUri } : {}),
      });
    },
  };
}
