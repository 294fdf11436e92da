/**
 * A tiny browser for sign-in tests: cookies, the first form of a page, and the walk through an
 * OpenID provider's login pages back to the relying party's callback.
 */
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../config';
import { createDevProvider, registerByWebhook, type DevProvider } from '../scripts/dev-idp';
import { freePort } from './helpers';

export { registerByWebhook } from '../scripts/dev-idp';

export class CookieJar {
  private readonly cookies = new Map<string, string>();
  store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      if (/max-age=0/i.test(line) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

const unescapeHtml = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** The first form of a page: its action and fields (hidden ones with their values). */
export function parseForm(html: string): { action: string; fields: Map<string, string> } {
  const form = /<form\b[^>]*\baction="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (!form?.[1] || form[2] === undefined)
    throw new Error(`no form in page: ${html.slice(0, 300)}`);
  const fields = new Map<string, string>();
  for (const input of form[2].matchAll(/<input\b[^>]*>/gi)) {
    const name = /\bname="([^"]*)"/i.exec(input[0])?.[1];
    if (name) fields.set(name, unescapeHtml(/\bvalue="([^"]*)"/i.exec(input[0])?.[1] ?? ''));
  }
  return { action: unescapeHtml(form[1]), fields };
}

/**
 * Plays the browser at the IdP from an authorization URL until the IdP redirects back to the
 * gateway's callback; returns that callback URL without requesting it.
 */
export async function authorizeAtIdp(
  authorizationUrl: string,
  email: string,
  password: string,
  callbackUrl: string,
): Promise<URL> {
  const jar = new CookieJar();
  let url = new URL(authorizationUrl);
  for (let step = 0; step < 20; step++) {
    if (url.href.startsWith(callbackUrl)) return url;
    const res = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header() } });
    jar.store(res);
    if (res.status >= 300 && res.status < 400) {
      url = new URL(res.headers.get('location') ?? '', url);
      continue;
    }
    const html = await res.text();
    if (res.status !== 200) throw new Error(`IdP answered ${res.status}: ${html}`);
    // The login form (or a consent form, should the IdP ask): submit it with its fields.
    const { action, fields } = parseForm(html);
    if (fields.has('email')) fields.set('email', email);
    if (fields.has('password')) fields.set('password', password);
    const submitted = await fetch(new URL(action, url), {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams([...fields]).toString(),
    });
    jar.store(submitted);
    if (submitted.status < 300 || submitted.status >= 400) {
      throw new Error(`login form answered ${submitted.status}: ${await submitted.text()}`);
    }
    url = new URL(submitted.headers.get('location') ?? '', url);
  }
  throw new Error('too many redirects at the IdP');
}

/**
 * A full sign-in at the gateway: `/auth/login`, the IdP's login form, the callback. Returns the
 * callback's response, its `ig_session` Set-Cookie line, and the `name=value` to send back.
 */
export async function signInAtGateway(
  publicUrl: string,
  email: string,
  password: string,
  headers: Record<string, string> = {},
): Promise<{ login: Response; callback: Response; setCookie: string; session: string }> {
  const login = await fetch(`${publicUrl}/auth/login`, { redirect: 'manual' });
  const callbackUrl = await authorizeAtIdp(
    login.headers.get('location') ?? '',
    email,
    password,
    `${publicUrl}/auth/callback`,
  );
  const callback = await fetch(callbackUrl, { redirect: 'manual', headers });
  const setCookie = callback.headers.getSetCookie().find((c) => c.startsWith('ig_session=')) ?? '';
  return { login, callback, setCookie, session: setCookie.split(';')[0] ?? '' };
}

/** A running development IdP and the sign-in settings of the gateway that uses it. */
export interface TestIdp {
  provider: DevProvider;
  issuer: string;
  clientSecret: string;
  /** The gateway's port and origin, for PUBLIC_URL. */
  port: number;
  publicUrl: string;
  /** The secret of the gateway's Authentik webhook (random). */
  webhookSecret: string;
}

/**
 * The development IdP (oidc-provider) for a gateway that will listen on a free port known now:
 * its redirect URI must be registered before the gateway starts. Stop `provider` when done.
 * The result is also the `signIn` option of `startTestPlatform` and `startPlatformProcesses`.
 */
export async function startTestIdp(
  options: Partial<Parameters<typeof createDevProvider>[0]> = {},
): Promise<TestIdp> {
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const clientSecret = randomBytes(24).toString('hex');
  const provider = createDevProvider({
    clientId: loadConfig().identity.clientId,
    clientSecret,
    redirectUris: [`${publicUrl}/auth/callback`],
    ...options,
  });
  const { issuer } = await provider.start();
  const webhookSecret = randomBytes(24).toString('hex');
  return { provider, issuer, clientSecret, port, publicUrl, webhookSecret };
}

/**
 * The development account as a new user meets it: registered through the webhook (as Authentik
 * would), then signed in at the gateway. Returns the session cookie to send back. A second call
 * within the same second sends the very same signed delivery, which the gateway refuses as
 * `WEBHOOK_REPLAYED`: the first one registered the account, so that counts as registered.
 * @throws when the webhook refuses otherwise or the sign-in sets no `ig_session` cookie
 */
export async function signInAsDevUser(publicUrl: string, webhookSecret: string): Promise<string> {
  const registered = await registerByWebhook(publicUrl, webhookSecret, {
    userId: 'dev-user',
    email: 'dev@example.com',
    firstName: 'Dev',
  });
  if (registered.status !== 202) {
    const body = await registered.text();
    if (!body.includes('"WEBHOOK_REPLAYED"'))
      throw new Error(`the registration webhook answered ${registered.status}, not 202: ${body}`);
  }
  const { session } = await signInAtGateway(publicUrl, 'dev@example.com', 'dev');
  if (!/^ig_session=/.test(session)) throw new Error('the sign-in set no ig_session cookie');
  return session;
}
