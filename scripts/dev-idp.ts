/**
 * A real OpenID Connect provider (`oidc-provider` 9) for development and tests, standing in for
 * Authentik. It is the same protocol the gateway speaks in production, never a hand-written fake:
 * authorization code with PKCE (required), refresh tokens, revocation, RP-initiated logout, and
 * access tokens issued as JWTs (RFC 9068, `typ: at+jwt`) whose `aud` is the audience the gateway
 * expects (the client id by default, as Authentik does).
 *
 * Users sign in on a minimal login form of ours (email and password of a development account);
 * consent is granted automatically because the only client is the platform itself.
 */
import { generateKeyPairSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import {
  signWebhook,
  WEBHOOK_SIGNATURE_HEADER,
  WEBHOOK_TIMESTAMP_HEADER,
} from '../gateway/auth/webhook';

/** A development user. `sub` becomes the platform's userId. */
export interface DevAccount {
  sub: string;
  email: string;
  password: string;
  name: string;
  groups: string[];
}

/** `dev@example.com` / `dev`, and the admin `admin@example.com` / `admin` (group `admin`). */
export const DEFAULT_DEV_ACCOUNTS: readonly DevAccount[] = [
  { sub: 'dev-user', email: 'dev@example.com', password: 'dev', name: 'Dev User', groups: [] },
  {
    sub: 'dev-admin',
    email: 'admin@example.com',
    password: 'admin',
    name: 'Admin User',
    groups: ['admin'],
  },
];

export interface DevProviderOptions {
  /** 0 picks a free port. @default 0 */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  /** Where RP-initiated logout may send the browser back to. @default [] */
  postLogoutRedirectUris?: string[];
  /** `aud` of the access tokens. @default clientId */
  audience?: string;
  /** Claim carrying the user's groups, in ID and access tokens. @default 'groups' */
  groupsClaim?: string;
  /** @default DEFAULT_DEV_ACCOUNTS */
  accounts?: readonly DevAccount[];
  /** Lifetime of access tokens, in seconds. @default 3600 */
  accessTokenTtlSeconds?: number;
}

export interface DevProvider {
  /** The issuer URL; known once `start` resolved. */
  readonly issuer: string;
  /** The accounts one can sign in with. */
  readonly accounts: readonly DevAccount[];
  start(): Promise<{ issuer: string }>;
  stop(): Promise<void>;
}

/**
 * The resource indicator the access tokens are issued for. Every authorization request gets it
 * by default, so clients need not send `resource`; the token's `aud` is the configured audience.
 */
const RESOURCE = 'urn:interview-graph:api';
/** The scope of the API resource; granted to the platform's client automatically. */
const RESOURCE_SCOPE = 'api';

const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

function loginPage(action: string, email: string, error: string | undefined): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Sign in (development)</title></head>
<body>
<h1>Sign in to Interview Graph (development IdP)</h1>
${error ? `<p role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="${escapeHtml(action)}" autocomplete="off">
  <label>Email <input type="email" name="email" value="${escapeHtml(email)}" required></label>
  <label>Password <input type="password" name="password" required></label>
  <button type="submit">Sign in</button>
</form>
<p>Accounts: dev@example.com / dev, admin@example.com / admin.</p>
</body></html>`;
}

function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > 16_384) {
        reject(new Error('form too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

function passwordMatches(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Creates the provider; nothing listens until `start`. */
export function createDevProvider(options: DevProviderOptions): DevProvider {
  const host = options.host ?? '127.0.0.1';
  const audience = options.audience ?? options.clientId;
  const groupsClaim = options.groupsClaim ?? 'groups';
  const accounts = options.accounts ?? DEFAULT_DEV_ACCOUNTS;
  const bySub = new Map(accounts.map((a) => [a.sub, a]));
  let issuer = '';
  let provider: Provider | undefined;
  let handle: ((req: IncomingMessage, res: ServerResponse) => unknown) | undefined;
  let server: Server | undefined;

  const configuration = (): Configuration => {
    const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      format: 'jwk',
    });
    return {
      clients: [
        {
          client_id: options.clientId,
          client_secret: options.clientSecret,
          redirect_uris: options.redirectUris,
          post_logout_redirect_uris: options.postLogoutRedirectUris ?? [],
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          token_endpoint_auth_method: 'client_secret_basic',
        },
      ],
      jwks: {
        keys: [{ ...signingKey, kid: randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig' }],
      },
      cookies: { keys: [randomBytes(32).toString('base64url')] },
      pkce: { required: () => true },
      scopes: ['openid', 'email', 'profile', 'offline_access', RESOURCE_SCOPE],
      claims: {
        openid: ['sub'],
        email: ['email', 'email_verified'],
        profile: ['name', groupsClaim],
      },
      // The access token belongs to the API, not to userinfo, so the ID token carries the claims.
      conformIdTokenClaims: false,
      findAccount: (_ctx, sub) => {
        const account = bySub.get(sub);
        if (!account) return undefined;
        return {
          accountId: sub,
          claims: () => ({
            sub,
            email: account.email,
            email_verified: true,
            name: account.name,
            [groupsClaim]: account.groups,
          }),
        };
      },
      // A refresh token for the platform's client whether or not offline_access survived: the
      // provider drops offline_access unless the request says prompt=consent, which Authentik
      // does not need and which would force a consent screen on every sign-in.
      issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
      expiresWithSession: () => false,
      extraTokenClaims: (_ctx, token) => {
        const account = 'accountId' in token ? bySub.get(token.accountId) : undefined;
        return account ? { email: account.email, [groupsClaim]: account.groups } : undefined;
      },
      ttl: {
        AccessToken: options.accessTokenTtlSeconds ?? 3600,
        IdToken: 3600,
        Interaction: 3600,
        Session: 14 * 24 * 3600,
        Grant: 14 * 24 * 3600,
        RefreshToken: 14 * 24 * 3600,
      },
      interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
      features: {
        devInteractions: { enabled: false },
        // Only the client a token was issued to may revoke it.
        revocation: {
          enabled: true,
          allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId,
        },
        rpInitiatedLogout: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => RESOURCE,
          useGrantedResource: () => true,
          getResourceServerInfo: (_ctx, resource) => {
            if (resource !== RESOURCE) throw new Error(`unknown resource ${resource}`);
            return {
              scope: RESOURCE_SCOPE,
              audience,
              accessTokenFormat: 'jwt',
              accessTokenTTL: options.accessTokenTtlSeconds ?? 3600,
              jwt: { sign: { alg: 'RS256' } },
            };
          },
        },
      },
      renderError: (ctx: KoaContextWithOIDC, out) => {
        ctx.type = 'json';
        ctx.body = out;
      },
    };
  };

  /** Our login form; consent is granted without asking (the platform is the only client). */
  const interaction = async (p: Provider, req: IncomingMessage, res: ServerResponse) => {
    const details = await p.interactionDetails(req, res);
    const action = `/interaction/${details.uid}`;
    if (details.prompt.name === 'consent') {
      const grant = details.grantId
        ? await p.Grant.find(details.grantId)
        : new p.Grant({ accountId: details.session?.accountId, clientId: options.clientId });
      if (!grant) throw new Error('grant of the interaction not found');
      const missing = details.prompt.details;
      const oidcScope = missing['missingOIDCScope'];
      if (Array.isArray(oidcScope)) grant.addOIDCScope(oidcScope.join(' '));
      const oidcClaims = missing['missingOIDCClaims'];
      if (Array.isArray(oidcClaims)) grant.addOIDCClaims(oidcClaims.map(String));
      const resourceScopes = missing['missingResourceScopes'];
      if (resourceScopes && typeof resourceScopes === 'object') {
        for (const [indicator, scope] of Object.entries(resourceScopes)) {
          if (Array.isArray(scope)) grant.addResourceScope(indicator, scope.join(' '));
        }
      }
      // Access tokens are for the API even when the client asked for no API scope.
      grant.addResourceScope(RESOURCE, RESOURCE_SCOPE);
      const grantId = await grant.save();
      await p.interactionFinished(
        req,
        res,
        { consent: { grantId } },
        { mergeWithLastSubmission: true },
      );
      return;
    }
    const send = (status: number, email: string, error?: string) => {
      const html = loginPage(action, email, error);
      res.writeHead(status, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
      });
      res.end(html);
    };
    if (req.method !== 'POST') return send(200, String(details.params['login_hint'] ?? ''));
    const form = await readForm(req);
    const email = form.get('email') ?? '';
    const account = accounts.find((a) => a.email.toLowerCase() === email.toLowerCase());
    if (!account || !passwordMatches(form.get('password') ?? '', account.password)) {
      return send(401, email, 'Invalid email or password.');
    }
    await p.interactionFinished(
      req,
      res,
      { login: { accountId: account.sub } },
      { mergeWithLastSubmission: false },
    );
  };

  return {
    get issuer() {
      return issuer;
    },
    accounts,
    async start() {
      if (server) throw new Error('development IdP already started');
      const s = createServer((req, res) => {
        const p = provider;
        if (!p || !handle) {
          res.writeHead(503).end();
          return;
        }
        const path = (req.url ?? '/').split('?')[0] ?? '/';
        if (/^\/interaction\/[\w-]+$/.test(path)) {
          interaction(p, req, res).catch((error: unknown) => {
            if (!res.headersSent) {
              res.writeHead(400, { 'content-type': 'application/json' });
              res.end(JSON.stringify({ error: 'interaction_failed', message: String(error) }));
            } else res.destroy();
          });
          return;
        }
        void handle(req, res);
      });
      server = s;
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(options.port ?? 0, host, () => {
          s.off('error', reject);
          resolve();
        });
      });
      const { port } = s.address() as AddressInfo;
      issuer = `http://${host}:${port}`;
      provider = new Provider(issuer, configuration());
      handle = provider.callback();
      return { issuer };
    },
    async stop() {
      const s = server;
      server = undefined;
      provider = undefined;
      handle = undefined;
      if (!s?.listening) return;
      const closed = new Promise<void>((resolve) => s.close(() => resolve()));
      s.closeAllConnections();
      await closed;
    },
  };
}

/** What the registration webhook (`/webhooks/authentik`) is told of a new user. */
export interface Registration {
  userId: string;
  email: string;
  firstName?: string;
  lastName?: string;
}

/**
 * Tells the gateway of a new user as Authentik's registration webhook does: a delivery to
 * `/webhooks/authentik` signed with `secret`. The gateway answers 202 once `user.registered` is
 * on its way to the users service.
 */
export function registerByWebhook(
  publicUrl: string,
  secret: string,
  user: Registration,
): Promise<Response> {
  const body = JSON.stringify(user);
  const timestamp = String(Math.floor(Date.now() / 1000));
  return fetch(`${publicUrl}/webhooks/authentik`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      [WEBHOOK_TIMESTAMP_HEADER]: timestamp,
      [WEBHOOK_SIGNATURE_HEADER]: signWebhook(secret, timestamp, body),
    },
    body,
  });
}

/** An account's registration: `sub` is the userId, `name` gives first and last name. */
export function registrationOf(account: DevAccount): Registration {
  const [firstName, ...rest] = account.name.split(' ');
  return {
    userId: account.sub,
    email: account.email,
    ...(firstName ? { firstName } : {}),
    ...(rest.length > 0 ? { lastName: rest.join(' ') } : {}),
  };
}

/**
 * Registers the development accounts at the gateway, as the IdP's webhook would for new users,
 * so that signing in with them finds a user (`me` is not null). The users service keeps the
 * profile of an account registered before as it is, so this runs at every start.
 * @throws when the gateway refuses a delivery, saying which and why
 */
export async function registerDevAccounts(
  publicUrl: string,
  secret: string,
  accounts: readonly DevAccount[] = DEFAULT_DEV_ACCOUNTS,
): Promise<void> {
  for (const account of accounts) {
    const res = await registerByWebhook(publicUrl, secret, registrationOf(account));
    if (res.status !== 202) {
      throw new Error(
        `Registering ${account.email} at ${publicUrl}/webhooks/authentik failed: ${res.status} ${await res.text()}`,
      );
    }
    await res.arrayBuffer();
  }
}
