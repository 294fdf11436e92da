/**
 * The gateway's sign-in endpoints and the Authentik registration webhook, as exact-path routes
 * for `lib/http-server.ts`. They publish the user events of the platform's design:
 * `user.authenticated` (oauth2 on callback, jwt_refresh on refresh), `user.logged_out` (manual on
 * logout, security when the IdP rejects a refresh, timeout from {@link createSessionSweeper}) and
 * `user.registered` (webhook). A refused request publishes nothing.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { UserEventFactory, type KafkaService } from '../../events';
import { clientAddress, type Route } from '../../lib/http-server';
import type { Logger } from '../../lib/logger';
import { OidcError, type OidcClient } from './oidc';
import { createMemorySignInState, type SignInStateStore } from './sign-in-state';
import {
  clearSessionCookie,
  sessionCookie,
  sessionIdFromRequest,
  type Session,
  type SessionStore,
} from './sessions';

export type EventPublisher = Pick<KafkaService, 'publishEvent'>;

export interface AuthRoutesOptions {
  oidc: OidcClient;
  sessions: SessionStore;
  /** Pending sign-ins and seen webhook deliveries. @default in memory (one instance) */
  state?: SignInStateStore;
  kafka: EventPublisher;
  /** The gateway's public URL (config.identity.publicUrl); https makes the cookie Secure. */
  publicUrl: string;
  /** AUTHENTIK_WEBHOOK_SECRET; without it the webhook answers 503. */
  webhookSecret: string | undefined;
  logger: Logger;
  /** How long a started sign-in may take. @default 600_000 */
  loginTtlMs?: number;
  /** Accepted clock difference of webhook timestamps, seconds. @default 300 */
  webhookToleranceSeconds?: number;
  /**
   * Load balancers whose `X-Forwarded-For` names the client (the events' `ipAddress`).
   * @default none: the socket's peer
   */
  trustedProxies?: readonly string[];
  /** @default Date.now */
  now?: () => number;
}

export const WEBHOOK_SIGNATURE_HEADER = 'x-authentik-signature';
export const WEBHOOK_TIMESTAMP_HEADER = 'x-authentik-timestamp';

/**
 * Body of `POST /webhooks/authentik`:
 * `{ "userId": "<authentik user uid or pk>", "email": "...", "firstName"?, "lastName"?, "company"? }`.
 *
 * Configure Authentik (Events > Notification transports) with mode "Webhook (generic)", the URL
 * `https://<gateway>/webhooks/authentik`, and:
 * - a "Webhook Mapping" for the body, e.g.
 *   `user = notification.event.user; u = User.objects.get(pk=user["pk"])`
 *   `return {"userId": u.uid, "email": u.email, "firstName": u.name.split(" ")[0], "lastName": " ".join(u.name.split(" ")[1:]) or None, "company": u.attributes.get("company")}`
 *   (omit keys instead of sending null: `{k: v for k, v in body.items() if v}`);
 * - a header mapping that signs it:
 *   `ts = str(int(time.time())); raw = json.dumps(body)` (the same serialisation the transport
 *   sends), `sig = hmac.new(SECRET.encode(), f"{ts}.{raw}".encode(), hashlib.sha256).hexdigest()`,
 *   `return {"X-Authentik-Timestamp": ts, "X-Authentik-Signature": sig}`;
 * and bind it through a notification rule to the "model_created" event of the User model
 * (or the enrollment flow's "user_write"), so each registration is sent once.
 */
export const registrationWebhookSchema = z.strictObject({
  userId: z.string().min(1, 'must not be empty'),
  email: z.email({ error: 'must be an email address' }),
  firstName: z.string().min(1).max(200).optional(),
  lastName: z.string().min(1).max(200).optional(),
  company: z.string().min(1).max(200).optional(),
});

/** Signature of a webhook body: hex HMAC-SHA256 over `${timestamp}.${rawBody}`. */
export function signWebhook(secret: string, timestamp: string, rawBody: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex');
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

const fail = (
  res: ServerResponse,
  status: number,
  error: string,
  message: string,
  headers?: Record<string, string>,
) => sendJson(res, status, { error, message }, headers);

function readRaw(req: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        resolve(undefined);
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(size > limit ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Only same-origin paths: `/x`, not `//host` or `/\host`. */
export function safeReturnTo(value: string | null): string {
  if (!value || !value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\'))
    return '/';
  return /[\r\n]/.test(value) ? '/' : value;
}

function methodNotAllowed(
  req: IncomingMessage,
  res: ServerResponse,
  allowed: 'GET' | 'POST',
): boolean {
  if (req.method === allowed) return false;
  fail(res, 405, 'method_not_allowed', `Use ${allowed}`, { allow: allowed });
  return true;
}

export function createAuthRoutes(options: AuthRoutesOptions): Record<string, Route> {
  const { oidc, sessions, kafka, logger } = options;
  const now = options.now ?? Date.now;
  const loginTtlMs = options.loginTtlMs ?? 600_000;
  const toleranceSeconds = options.webhookToleranceSeconds ?? 300;
  const trustedProxies = options.trustedProxies ?? [];
  const cookieOptions = { secure: new URL(options.publicUrl).protocol === 'https:' };
  const store = options.state ?? createMemorySignInState(now);

  const requestUrl = (req: IncomingMessage) => new URL(req.url ?? '/', options.publicUrl);

  const sessionOf = async (req: IncomingMessage): Promise<Session | undefined> => {
    const id = sessionIdFromRequest(req);
    return id ? sessions.get(id) : undefined;
  };

  const login: Route = async (req, res) => {
    if (methodNotAllowed(req, res, 'GET')) return;
    const returnTo = safeReturnTo(requestUrl(req).searchParams.get('returnTo'));
    let request;
    try {
      request = await oidc.authorizationRequest();
    } catch (error) {
      const e = error instanceof OidcError ? error : undefined;
      logger.error('sign-in could not start', { error });
      return fail(
        res,
        502,
        e?.code ?? 'unavailable',
        'The identity provider is unavailable; try again shortly',
      );
    }
    await store.putPendingLogin(request.state, {
      nonce: request.nonce,
      codeVerifier: request.codeVerifier,
      returnTo,
      expiresAt: now() + loginTtlMs,
    });
    res.writeHead(302, { location: request.url.href, 'cache-control': 'no-store' });
    res.end();
  };

  const callback: Route = async (req, res) => {
    if (methodNotAllowed(req, res, 'GET')) return;
    const url = requestUrl(req);
    const state = url.searchParams.get('state');
    // Single use, whatever the outcome: taken (removed) here, on whichever instance.
    const started = state ? await store.takePendingLogin(state) : undefined;
    if (!state || !started) {
      return fail(
        res,
        400,
        'invalid_state',
        'Unknown or expired sign-in state; start again at /auth/login',
      );
    }
    let result;
    try {
      result = await oidc.exchangeCode(url, { state, ...started });
    } catch (error) {
      if (error instanceof OidcError) {
        logger.warn('sign-in refused', { code: error.code, reason: error.message });
        return fail(res, error.status, error.code, error.message);
      }
      throw error;
    }
    if (!result.email) {
      return fail(
        res,
        401,
        'missing_email',
        'The identity provider sent no email for this user (grant the email scope)',
      );
    }
    const session = await sessions.create({
      userId: result.userId,
      email: result.email,
      tokens: result.tokens,
    });
    const ipAddress = clientAddress(req, trustedProxies);
    const userAgent = req.headers['user-agent'];
    await kafka.publishEvent(
      'user-events',
      UserEventFactory.createUserAuthenticated(result.userId, result.email, session.ref, {
        authMethod: 'oauth2',
        ...(ipAddress ? { ipAddress } : {}),
        ...(userAgent ? { userAgent } : {}),
      }),
    );
    res.writeHead(302, {
      location: started.returnTo,
      'set-cookie': sessionCookie(session, cookieOptions, now()),
      'cache-control': 'no-store',
    });
    res.end();
  };

  const refresh: Route = async (req, res) => {
    if (methodNotAllowed(req, res, 'POST')) return;
    const session = await sessionOf(req);
    if (!session) return fail(res, 401, 'no_session', 'Not signed in (no or expired session)');
    if (!session.tokens.refreshToken) {
      return fail(res, 401, 'no_refresh_token', 'This session has no refresh token; sign in again');
    }
    let tokens;
    try {
      tokens = await oidc.refresh(session.tokens.refreshToken);
    } catch (error) {
      if (error instanceof OidcError && error.code === 'invalid_grant') {
        // The IdP revoked or expired the grant: the session must not live on.
        await sessions.delete(session.id);
        await kafka.publishEvent(
          'user-events',
          UserEventFactory.createUserLoggedOut(session.userId, session.ref, 'security'),
        );
        return fail(res, 401, 'refresh_rejected', `${error.message}; sign in again`, {
          'set-cookie': clearSessionCookie(cookieOptions),
        });
      }
      if (error instanceof OidcError) return fail(res, error.status, error.code, error.message);
      throw error;
    }
    const updated = await sessions.updateTokens(session.id, tokens);
    if (!updated) return fail(res, 401, 'no_session', 'The session ended during the refresh');
    const ipAddress = clientAddress(req, trustedProxies);
    const userAgent = req.headers['user-agent'];
    await kafka.publishEvent(
      'user-events',
      UserEventFactory.createUserAuthenticated(session.userId, session.email, session.ref, {
        authMethod: 'jwt_refresh',
        ...(ipAddress ? { ipAddress } : {}),
        ...(userAgent ? { userAgent } : {}),
      }),
    );
    sendJson(res, 200, {
      accessToken: tokens.accessToken,
      tokenType: 'Bearer',
      expiresAt: new Date(tokens.expiresAt).toISOString(),
      expiresIn: Math.max(0, Math.floor((tokens.expiresAt - now()) / 1000)),
    });
  };

  const logout: Route = async (req, res) => {
    if (methodNotAllowed(req, res, 'POST')) return;
    const clear = { 'set-cookie': clearSessionCookie(cookieOptions) };
    const session = await sessionOf(req);
    if (!session)
      return sendJson(res, 200, { loggedOut: false, message: 'No active session' }, clear);
    await sessions.delete(session.id);
    // Best effort: the session is gone either way; a failed revocation is logged.
    const revocations = [
      ...(session.tokens.refreshToken
        ? [oidc.revoke(session.tokens.refreshToken, 'refresh_token')]
        : []),
      oidc.revoke(session.tokens.accessToken, 'access_token'),
    ];
    for (const outcome of await Promise.allSettled(revocations)) {
      if (outcome.status === 'rejected')
        logger.warn('token revocation failed', { error: outcome.reason });
    }
    await kafka.publishEvent(
      'user-events',
      UserEventFactory.createUserLoggedOut(session.userId, session.ref, 'manual'),
    );
    const endSession = await oidc
      .endSessionUrl(session.tokens.idToken, options.publicUrl)
      .catch(() => undefined);
    sendJson(
      res,
      200,
      { loggedOut: true, ...(endSession ? { endSessionUrl: endSession.href } : {}) },
      clear,
    );
  };

  const webhook: Route = async (req, res) => {
    if (methodNotAllowed(req, res, 'POST')) return;
    const secret = options.webhookSecret;
    if (!secret)
      return fail(
        res,
        503,
        'not_configured',
        'AUTHENTIK_WEBHOOK_SECRET is not set; the webhook is disabled',
      );
    const raw = await readRaw(req, 65_536);
    if (raw === undefined) return fail(res, 413, 'too_large', 'Webhook body is larger than 64 KiB');
    const signature = req.headers[WEBHOOK_SIGNATURE_HEADER];
    const timestamp = req.headers[WEBHOOK_TIMESTAMP_HEADER];
    if (typeof signature !== 'string' || typeof timestamp !== 'string') {
      return fail(
        res,
        401,
        'unsigned',
        `Missing ${WEBHOOK_SIGNATURE_HEADER} or ${WEBHOOK_TIMESTAMP_HEADER} header`,
      );
    }
    if (!/^\d{1,12}$/.test(timestamp)) {
      return fail(res, 401, 'bad_timestamp', `${WEBHOOK_TIMESTAMP_HEADER} must be unix seconds`);
    }
    if (Math.abs(now() / 1000 - Number(timestamp)) > toleranceSeconds) {
      return fail(
        res,
        401,
        'stale_timestamp',
        `Webhook timestamp is more than ${toleranceSeconds} s away from now`,
      );
    }
    const expected = Buffer.from(signWebhook(secret, timestamp, raw), 'hex');
    const given = /^[0-9a-f]{64}$/i.test(signature)
      ? Buffer.from(signature, 'hex')
      : Buffer.alloc(0);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return fail(res, 401, 'bad_signature', 'Webhook signature does not match the body');
    }
    const key = signature.toLowerCase();
    if (!(await store.firstDelivery(key, now() + 2 * toleranceSeconds * 1000)))
      return fail(res, 401, 'replayed', 'This webhook delivery was already received');
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return fail(res, 400, 'invalid_body', 'Webhook body is not JSON');
    }
    const parsed = registrationWebhookSchema.safeParse(json);
    if (!parsed.success) {
      const fields = parsed.error.issues.map(
        (i) => `${i.path.join('.') || '(body)'}: ${i.message}`,
      );
      return sendJson(res, 400, {
        error: 'invalid_body',
        message: `Invalid webhook body: ${fields.join('; ')}`,
        fields,
      });
    }
    const { userId, email, ...profile } = parsed.data;
    const event = UserEventFactory.createUserRegistered(userId, email, profile);
    await kafka.publishEvent('user-events', event);
    sendJson(res, 202, { accepted: true, eventId: event.eventId });
  };

  return {
    '/auth/login': login,
    '/auth/callback': callback,
    '/auth/refresh': refresh,
    '/auth/logout': logout,
    '/webhooks/authentik': webhook,
  };
}

export interface SessionSweeperOptions {
  sessions: SessionStore;
  kafka: EventPublisher;
  logger: Logger;
  /** @default 60_000 */
  intervalMs?: number;
}

/** Ends expired sessions and publishes `user.logged_out` with reason `timeout` for each. */
export function createSessionSweeper(options: SessionSweeperOptions): {
  start(): void;
  stop(): Promise<void>;
  sweep(now?: number): Promise<number>;
} {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  const sweep = async (at?: number) => {
    const expired = await options.sessions.takeExpired(at);
    for (const s of expired) {
      await options.kafka.publishEvent(
        'user-events',
        UserEventFactory.createUserLoggedOut(s.userId, s.ref, 'timeout'),
      );
    }
    return expired.length;
  };
  return {
    sweep,
    start() {
      timer ??= setInterval(() => {
        running = sweep().catch((error: unknown) => {
          options.logger.error('session sweep failed', { error });
          return 0;
        });
      }, options.intervalMs ?? 60_000);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}
