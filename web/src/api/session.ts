/**
 * The browser's view of its gateway session (the `ig_session` cookie, which scripts cannot
 * read): `GET /auth/session` says who is signed in and when the access token expires,
 * `POST /auth/refresh` renews it, `POST /auth/logout` ends it. Sign-in is a navigation to
 * `/auth/login?returnTo=<path>`, which comes back to that path.
 *
 * The store refreshes a minute before the token expires, so requests rarely meet an expired
 * token; request.ts and live.ts call {@link SessionStore.refresh} when they do anyway. One
 * refresh runs at a time: callers arriving meanwhile share its outcome.
 */

/** What `GET /auth/session` answers for a signed-in browser. */
export interface Session {
  userId: string;
  email: string;
  roles: string[];
  /** When the access token expires (ISO 8601). */
  expiresAt: string;
  /** Whether POST /auth/refresh can renew the token; true when the gateway does not say. */
  refreshable: boolean;
}

export type SessionState =
  { status: 'loading' } | { status: 'signed-out' } | { status: 'signed-in'; session: Session };

/** `refreshed`; `signed-out` when the gateway refused (401); `failed` when it could not answer. */
export type RefreshOutcome = 'refreshed' | 'signed-out' | 'failed';

export interface SessionStore {
  getState(): SessionState;
  /** Calls `listener` after every change of state; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
  /** Asks the gateway who is signed in. */
  load(): Promise<void>;
  /** Renews the access token (one request at a time). */
  refresh(): Promise<RefreshOutcome>;
  /** The gateway said the session is gone (e.g. a 401 `no_session`). */
  markSignedOut(): void;
  /** Ends the session at the gateway (and at the IdP when it says where), then leaves. */
  signOut(): Promise<void>;
  /** Cancels the refresh timer. */
  stop(): void;
}

export interface SessionStoreOptions {
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** How long before the token's expiry to refresh it. @default 60_000 */
  refreshAheadMs?: number;
  /** Retry delay after a refresh the gateway could not answer. @default 15_000 */
  retryMs?: number;
  /** @default Date.now */
  now?: () => number;
  /** Where sign-out navigates. @default location.assign */
  assign?: (url: string) => void;
}

/** The sign-in URL that comes back to `returnTo` (a same-origin path). */
export function signInHref(returnTo: string): string {
  return `/auth/login?returnTo=${encodeURIComponent(returnTo)}`;
}

/** The gateway's session JSON, or undefined when it is not one. */
export function parseSession(json: unknown): Session | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const { userId, email, roles, expiresAt, refreshable } = json as Record<string, unknown>;
  if (typeof userId !== 'string' || typeof email !== 'string' || typeof expiresAt !== 'string') {
    return undefined;
  }
  if (Number.isNaN(Date.parse(expiresAt))) return undefined;
  return {
    userId,
    email,
    roles: Array.isArray(roles) ? roles.filter((r): r is string => typeof r === 'string') : [],
    expiresAt,
    refreshable: refreshable !== false,
  };
}

/** setTimeout's longest delay (2^31 - 1 ms); longer ones fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

export function createSessionStore(options: SessionStoreOptions = {}): SessionStore {
  const doFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const refreshAheadMs = options.refreshAheadMs ?? 60_000;
  const retryMs = options.retryMs ?? 15_000;
  const now = options.now ?? Date.now;
  const assign = options.assign ?? ((url: string) => window.location.assign(url));

  let state: SessionState = { status: 'loading' };
  const listeners = new Set<() => void>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let refreshing: Promise<RefreshOutcome> | undefined;

  const post = (path: string) =>
    doFetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { accept: 'application/json' },
    });

  function setState(next: SessionState): void {
    state = next;
    clearTimeout(timer);
    timer = undefined;
    if (next.status === 'signed-in' && next.session.refreshable) {
      const due = Date.parse(next.session.expiresAt) - refreshAheadMs - now();
      schedule(Math.max(0, due));
    }
    for (const listener of [...listeners]) listener();
  }

  function schedule(delayMs: number): void {
    clearTimeout(timer);
    timer = setTimeout(() => void refresh(), Math.min(delayMs, MAX_TIMER_MS));
  }

  async function load(): Promise<void> {
    try {
      const response = await doFetch('/auth/session', {
        credentials: 'same-origin',
        headers: { accept: 'application/json' },
      });
      const session = response.ok ? parseSession(await response.json()) : undefined;
      setState(session ? { status: 'signed-in', session } : { status: 'signed-out' });
    } catch {
      // The gateway cannot be reached: show signed out rather than loading for ever.
      setState({ status: 'signed-out' });
    }
  }

  async function doRefresh(): Promise<RefreshOutcome> {
    let response: Response;
    try {
      response = await post('/auth/refresh');
    } catch {
      if (state.status === 'signed-in') schedule(retryMs);
      return 'failed';
    }
    if (response.status === 401) {
      setState({ status: 'signed-out' });
      return 'signed-out';
    }
    const body: unknown = await response.json().catch(() => undefined);
    const expiresAt =
      typeof body === 'object' && body !== null
        ? (body as Record<string, unknown>).expiresAt
        : undefined;
    if (!response.ok || typeof expiresAt !== 'string') {
      if (state.status === 'signed-in') schedule(retryMs);
      return 'failed';
    }
    if (state.status === 'signed-in') {
      setState({ status: 'signed-in', session: { ...state.session, expiresAt } });
    } else {
      await load();
    }
    return 'refreshed';
  }

  function refresh(): Promise<RefreshOutcome> {
    refreshing ??= doRefresh().finally(() => (refreshing = undefined));
    return refreshing;
  }

  async function signOut(): Promise<void> {
    let target = '/';
    try {
      const response = await post('/auth/logout');
      const body: unknown = await response.json();
      const url =
        typeof body === 'object' && body !== null
          ? (body as Record<string, unknown>).endSessionUrl
          : undefined;
      if (typeof url === 'string') target = url;
    } catch {
      // Leave anyway: the cookie is the gateway's to clear, and `/` asks again who is signed in.
    }
    setState({ status: 'signed-out' });
    assign(target);
  }

  return {
    getState: () => state,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    load,
    refresh,
    markSignedOut: () => {
      if (state.status !== 'signed-out') setState({ status: 'signed-out' });
    },
    signOut,
    stop: () => clearTimeout(timer),
  };
}
