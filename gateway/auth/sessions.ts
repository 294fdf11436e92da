/**
 * Server-side sessions for browser sign-ins. The browser holds only an opaque id in the
 * `ig_session` cookie; tokens never leave the gateway. The id is a credential: events, logs and
 * the database name a session by its {@link sessionRef} instead. The in-memory store suits one
 * gateway process (and tests); the gateway's database store (store.ts) is shared by every
 * instance and survives restarts.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { OidcTokens } from './oidc';

/** The cookie that carries a browser's session id. */
export const SESSION_COOKIE = 'ig_session';

/** A signed-in browser's session: who, its tokens, and until when. */
export interface Session {
  /** 32 random bytes, base64url: the cookie's value. Empty for a session taken as expired. */
  id: string;
  /** The public name of the session: {@link sessionRef} of its id. */
  ref: string;
  userId: string;
  email: string;
  tokens: OidcTokens;
  /** Epoch milliseconds. */
  createdAt: number;
  /** Epoch milliseconds; the session is gone after this. */
  expiresAt: number;
}

/** What a sign-in gives a store to create a session from; the store picks id and times. */
export type NewSession = Pick<Session, 'userId' | 'email' | 'tokens'>;

/**
 * Where sessions live: in memory ({@link createMemorySessionStore}) or in the gateway's database
 * (store.ts).
 */
export interface SessionStore {
  create(data: NewSession): Promise<Session>;
  /** The live session, or undefined when unknown or expired. */
  get(id: string): Promise<Session | undefined>;
  /** Replaces the tokens (after a refresh); undefined when the session is gone. */
  updateTokens(id: string, tokens: OidcTokens): Promise<Session | undefined>;
  /** Removes and returns the session. */
  delete(id: string): Promise<Session | undefined>;
  /** Removes and returns every session expired at `now`, for the sweeper to announce. */
  takeExpired(now?: number): Promise<Session[]>;
  /** Removes and returns every session of the user (an account suspended by its erasure). */
  endSessionsOf(userId: string): Promise<Session[]>;
  /** Marks the account suspended (its erasure runs): signing in is refused until restored. */
  suspendAccount(userId: string): Promise<void>;
  /** Lifts the suspension (the erasure saga compensated). */
  restoreAccount(userId: string): Promise<void>;
  isSuspended(userId: string): Promise<boolean>;
}

/** What {@link createMemorySessionStore} takes. */
export interface MemorySessionStoreOptions {
  /** Absolute session lifetime. @default 8 hours */
  ttlMs?: number;
  /** @default Date.now */
  now?: () => number;
}

/** A new session id: 32 random bytes, base64url (43 characters), the cookie's value. */
export const newSessionId = (): string => randomBytes(32).toString('base64url');

/** What names a session outside the cookie (events, logs, the database): SHA-256 of its id, hex. */
export const sessionRef = (id: string): string => createHash('sha256').update(id).digest('hex');

/**
 * Sessions in this process's memory, for one gateway instance and tests: they are lost at a
 * restart and unknown to other instances. Expired sessions stay until `takeExpired` takes them.
 */
export function createMemorySessionStore(options: MemorySessionStoreOptions = {}): SessionStore {
  const ttlMs = options.ttlMs ?? 8 * 60 * 60 * 1000;
  const now = options.now ?? Date.now;
  const sessions = new Map<string, Session>();
  const suspended = new Set<string>();
  const live = (id: string) => {
    const session = sessions.get(id);
    return session && session.expiresAt > now() ? session : undefined;
  };
  return {
    async create(data) {
      const createdAt = now();
      const id = newSessionId();
      const session: Session = {
        ...data,
        id,
        ref: sessionRef(id),
        createdAt,
        expiresAt: createdAt + ttlMs,
      };
      sessions.set(session.id, session);
      return { ...session };
    },
    async get(id) {
      const session = live(id);
      return session && { ...session };
    },
    async updateTokens(id, tokens) {
      const session = live(id);
      if (!session) return undefined;
      session.tokens = tokens;
      return { ...session };
    },
    async delete(id) {
      const session = sessions.get(id);
      sessions.delete(id);
      return session;
    },
    async takeExpired(at = now()) {
      const expired = [...sessions.values()].filter((s) => s.expiresAt <= at);
      for (const s of expired) sessions.delete(s.id);
      return expired;
    },
    async endSessionsOf(userId) {
      const ended = [...sessions.values()].filter((s) => s.userId === userId);
      for (const s of ended) sessions.delete(s.id);
      return ended;
    },
    async suspendAccount(userId) {
      suspended.add(userId);
    },
    async restoreAccount(userId) {
      suspended.delete(userId);
    },
    async isSuspended(userId) {
      return suspended.has(userId);
    },
  };
}

/** How the session cookie is set, and cleared. */
export interface CookieOptions {
  /** Set when the gateway's public URL is https. */
  secure: boolean;
  /** @default 'lax' */
  sameSite?: 'lax' | 'strict' | 'none';
}

const SAME_SITE = { lax: 'SameSite=Lax', strict: 'SameSite=Strict', none: 'SameSite=None' };

/** The attributes both cookies share. @throws for SameSite=None without Secure */
function attributes(options: CookieOptions): string[] {
  const sameSite = options.sameSite ?? 'lax';
  if (sameSite === 'none' && !options.secure) {
    throw new Error('A SameSite=None session cookie must be Secure (an https public URL)');
  }
  return ['HttpOnly', SAME_SITE[sameSite], 'Path=/'];
}

/**
 * `Set-Cookie` value for a session: HttpOnly, SameSite (Lax unless configured), Path=/, Secure
 * on https.
 */
export function sessionCookie(
  session: Pick<Session, 'id' | 'expiresAt'>,
  options: CookieOptions,
  now = Date.now(),
): string {
  const maxAge = Math.max(0, Math.floor((session.expiresAt - now) / 1000));
  return [
    `${SESSION_COOKIE}=${session.id}`,
    ...attributes(options),
    `Max-Age=${maxAge}`,
    ...(options.secure ? ['Secure'] : []),
  ].join('; ');
}

/** `Set-Cookie` value that removes the session cookie. */
export function clearSessionCookie(options: CookieOptions): string {
  return [
    `${SESSION_COOKIE}=`,
    ...attributes(options),
    'Max-Age=0',
    ...(options.secure ? ['Secure'] : []),
  ].join('; ');
}

/** The session id from the request's `Cookie` header, if any. */
export function sessionIdFromRequest(req: Pick<IncomingMessage, 'headers'>): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const at = part.indexOf('=');
    if (at === -1) continue;
    if (part.slice(0, at).trim() === SESSION_COOKIE) {
      const value = part.slice(at + 1).trim();
      return /^[A-Za-z0-9_-]{43}$/.test(value) ? value : undefined;
    }
  }
  return undefined;
}
