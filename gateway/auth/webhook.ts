/**
 * The Authentik registration webhook, `POST /webhooks/authentik`: a signed delivery publishes
 * `user.registered` (registrationMethod `authentik`) and is answered 202; anything else is refused
 * with a code of the registry (contracts/errors.ts) and publishes nothing.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { UserEventFactory } from '../../events';
import { locale, timeZone } from '../../events/catalog/user';
import { sendJson, type Route } from '../../lib/http-server';
import { methodNotAllowed, readRaw, sendError } from './http';
import type { EventPublisher } from './routes';
import { createMemorySignInState, type SignInStateStore } from './sign-in-state';

/** The header with the hex HMAC-SHA256 of `${timestamp}.${rawBody}` ({@link signWebhook}). */
export const WEBHOOK_SIGNATURE_HEADER = 'x-authentik-signature';
/** The header with the delivery's unix seconds, part of what is signed. */
export const WEBHOOK_TIMESTAMP_HEADER = 'x-authentik-timestamp';

/** The webhook's path. */
export const AUTHENTIK_WEBHOOK_PATH = '/webhooks/authentik';

/** Largest body accepted, bytes. */
const MAX_BODY_BYTES = 65_536;

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
  /** The user's language and time zone (`user.registered` 2.0); `en` and `UTC` when absent. */
  locale: locale.optional(),
  timeZone: timeZone.optional(),
});

/** Signature of a webhook body: hex HMAC-SHA256 over `${timestamp}.${rawBody}`. */
export function signWebhook(secret: string, timestamp: string, rawBody: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex');
}

/** What the webhook checks deliveries with and publishes to. */
export interface WebhookRoutesOptions {
  /** AUTHENTIK_WEBHOOK_SECRET; without it the webhook answers 503 `WEBHOOK_NOT_CONFIGURED`. */
  secret: string | undefined;
  kafka: EventPublisher;
  /** Where seen deliveries are kept, to refuse a replay. @default in memory (one instance) */
  state?: Pick<SignInStateStore, 'firstDelivery'>;
  /** Accepted clock difference of webhook timestamps, seconds. @default 300 */
  toleranceSeconds?: number;
  /** @default Date.now */
  now?: () => number;
}

/**
 * `POST /webhooks/authentik` as an exact-path route for `lib/http-server.ts`. Refusals:
 * `BAD_WEBHOOK_SIGNATURE` (missing or not matching), `BAD_WEBHOOK_TIMESTAMP` (missing, not unix
 * seconds, more than `toleranceSeconds` off), `WEBHOOK_REPLAYED`, `PAYLOAD_TOO_LARGE` (over
 * 64 KiB), `INVALID_BODY` (with `fields`), `WEBHOOK_NOT_CONFIGURED`, `METHOD_NOT_ALLOWED`.
 */
export function createWebhookRoutes(options: WebhookRoutesOptions): Record<string, Route> {
  const { kafka } = options;
  const now = options.now ?? Date.now;
  const toleranceSeconds = options.toleranceSeconds ?? 300;
  const state = options.state ?? createMemorySignInState(now);

  const webhook: Route = async (req, res) => {
    if (methodNotAllowed(req, res, 'POST')) return;
    const secret = options.secret;
    if (!secret) {
      return sendError(
        res,
        'WEBHOOK_NOT_CONFIGURED',
        'AUTHENTIK_WEBHOOK_SECRET is not set; the webhook is disabled',
      );
    }
    const raw = await readRaw(req, MAX_BODY_BYTES);
    if (raw === undefined) {
      return sendError(res, 'PAYLOAD_TOO_LARGE', 'Webhook body is larger than 64 KiB');
    }
    const signature = req.headers[WEBHOOK_SIGNATURE_HEADER];
    const timestamp = req.headers[WEBHOOK_TIMESTAMP_HEADER];
    if (typeof signature !== 'string') {
      return sendError(res, 'BAD_WEBHOOK_SIGNATURE', `Missing ${WEBHOOK_SIGNATURE_HEADER} header`);
    }
    if (typeof timestamp !== 'string') {
      return sendError(res, 'BAD_WEBHOOK_TIMESTAMP', `Missing ${WEBHOOK_TIMESTAMP_HEADER} header`);
    }
    if (!/^\d{1,12}$/.test(timestamp)) {
      return sendError(
        res,
        'BAD_WEBHOOK_TIMESTAMP',
        `${WEBHOOK_TIMESTAMP_HEADER} must be unix seconds`,
      );
    }
    if (Math.abs(now() / 1000 - Number(timestamp)) > toleranceSeconds) {
      return sendError(
        res,
        'BAD_WEBHOOK_TIMESTAMP',
        `Webhook timestamp is more than ${toleranceSeconds} s away from now`,
      );
    }
    const expected = Buffer.from(signWebhook(secret, timestamp, raw), 'hex');
    const given = /^[0-9a-f]{64}$/i.test(signature)
      ? Buffer.from(signature, 'hex')
      : Buffer.alloc(0);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return sendError(res, 'BAD_WEBHOOK_SIGNATURE', 'Webhook signature does not match the body');
    }
    // A signature is good for the tolerance either side of its timestamp: kept that long.
    const key = signature.toLowerCase();
    if (!(await state.firstDelivery(key, now() + 2 * toleranceSeconds * 1000))) {
      return sendError(res, 'WEBHOOK_REPLAYED', 'This webhook delivery was already received');
    }
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return sendError(res, 'INVALID_BODY', 'Webhook body is not JSON');
    }
    const parsed = registrationWebhookSchema.safeParse(json);
    if (!parsed.success) {
      const fields = parsed.error.issues.map(
        (i) => `${i.path.join('.') || '(body)'}: ${i.message}`,
      );
      return sendError(res, 'INVALID_BODY', `Invalid webhook body: ${fields.join('; ')}`, {
        details: { fields },
      });
    }
    const { userId, email, ...profile } = parsed.data;
    const event = UserEventFactory.createUserRegistered(userId, email, profile);
    await kafka.publishEvent('user-events', event);
    sendJson(res, 202, { accepted: true, eventId: event.eventId });
  };

  return { [AUTHENTIK_WEBHOOK_PATH]: webhook };
}
