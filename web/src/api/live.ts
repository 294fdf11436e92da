/**
 * Live subscriptions over graphql-ws (`ws(s)://<host>/graphql`; the browser sends the session
 * cookie on the same-origin upgrade, so `connectionParams` is empty).
 *
 * Reconnection is ours, not graphql-ws's: on a retry graphql-ws sends the subscription's first
 * payload again, without the cursor of what arrived since, and it gives up on `4401` (token
 * expired). So the client never retries (`retryAttempts: 0`) and {@link LiveClient.live} runs
 * each subscription as attempts (live-state.ts): when the socket closes, the attempt is
 * disposed; after a backoff (and `POST /auth/refresh` first on `4401`) a new attempt subscribes
 * with `extensions: { cursor }`, the last cursor received, and the gateway replays exactly the
 * events missed meanwhile. Results are delivered once per `extensions.eventId`.
 */
import { createClient, type Client } from 'graphql-ws';
import type { TypedDocumentString } from '../gql/graphql';
import { LiveState, type LiveStateOptions, type LiveStatus, type ResultMeta } from './live-state';
import { GraphQLRequestError, responseErrors } from './request';
import type { SessionStore } from './session';

export interface LiveHandlers<TResult> {
  /** A result's data, once per event, in the order received. */
  onResult(data: TResult, meta: ResultMeta): void;
  /** `connecting` first, then `live`, `reconnecting`, `live`, ... */
  onStatus?(status: LiveStatus): void;
  /** A result's errors, or why the gateway refused the subscription (it is not retried then). */
  onError?(error: Error): void;
  /** Events may have been missed (the cursor expired, or the gateway dropped some): refetch. */
  onGap?(): void;
}

/** Subscribes; returns the function that ends the subscription. */
export type Live = <TResult, TVariables extends Record<string, unknown>>(
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
  handlers: LiveHandlers<TResult>,
) => () => void;

export interface LiveClient {
  live: Live;
  /** Ends every subscription and closes the socket. */
  dispose(): void;
}

export interface LiveClientOptions extends LiveStateOptions {
  /** Refreshed on a `4401` close before reconnecting. */
  session: SessionStore;
  /** @default ws(s)://<location.host>/graphql */
  url?: string | (() => string);
  /** For tests outside the browser. @default the global WebSocket */
  webSocketImpl?: unknown;
  /** How long an unused socket stays open (page to page). @default 5_000 */
  lazyCloseTimeoutMs?: number;
}

/** Errors that end a subscription for good (no retry); others are retried. */
const RETRIABLE_CODES = new Set(['SERVICE_UNAVAILABLE', 'GATEWAY_STOPPING', 'RATE_LIMITED']);
/** The gateway cannot resume from the cursor: start again from now. */
const CURSOR_REFUSED_CODES = new Set(['CURSOR_EXPIRED', 'BAD_CURSOR']);

function defaultUrl(): string {
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${window.location.host}/graphql`;
}

/** The code of a CloseEvent (or anything shaped like one). */
function closeCode(event: unknown): number | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const { code } = event as { code?: unknown };
  return typeof code === 'number' ? code : undefined;
}

/** `WebSocket.OPEN`, also where there is no global WebSocket (Node 20, in tests). */
const OPEN = 1;

/** What the client tells each running subscription about the socket. */
interface Runner {
  connected(): void;
  closed(code: number | undefined): void;
}

export function createLiveClient(options: LiveClientOptions): LiveClient {
  const runners = new Set<Runner>();
  /** The acknowledged socket, while there is one. */
  let socket: { readyState: number } | undefined;
  const isOpen = () => socket?.readyState === OPEN;

  const client: Client = createClient({
    url: options.url ?? defaultUrl,
    connectionParams: {},
    lazy: true,
    lazyCloseTimeout: options.lazyCloseTimeoutMs ?? 5_000,
    // Retrying is live()'s (see the module's comment), forever, with backoff.
    retryAttempts: 0,
    ...(options.webSocketImpl ? { webSocketImpl: options.webSocketImpl } : {}),
    on: {
      connected: (opened) => {
        socket = opened as { readyState: number };
        for (const runner of [...runners]) runner.connected();
      },
      closed: (event) => {
        socket = undefined;
        const code = closeCode(event);
        for (const runner of [...runners]) runner.closed(code);
      },
    },
  });

  function live<TResult, TVariables extends Record<string, unknown>>(
    document: TypedDocumentString<TResult, TVariables>,
    variables: TVariables,
    handlers: LiveHandlers<TResult>,
  ): () => void {
    const state = new LiveState(options);
    const query = document.toString();
    let attempt = 0;
    let unsubscribe: (() => void) | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    let reported: LiveStatus | undefined;

    const report = () => {
      if (state.status === reported) return;
      reported = state.status;
      handlers.onStatus?.(state.status);
    };

    /** The attempt is over: dispose it, and try again after the plan's delay. */
    const lose = (lostAttempt: number, code?: number) => {
      const plan = state.lost(lostAttempt, code);
      if (!plan) return;
      unsubscribe?.();
      unsubscribe = undefined;
      report();
      void (async () => {
        if (plan.refresh && (await options.session.refresh()) === 'signed-out') {
          handlers.onError?.(new Error('Signed out: sign in again for live updates'));
          return;
        }
        if (!stopped) timer = setTimeout(start, plan.delayMs);
      })();
    };

    /** Ends the attempt for good: the gateway refused the subscription itself. */
    const refuse = (refusedAttempt: number, error: Error) => {
      if (!state.lost(refusedAttempt)) return;
      unsubscribe = undefined;
      handlers.onError?.(error);
    };

    const start = () => {
      if (stopped) return;
      const begun = state.begin();
      const current = begun.attempt;
      attempt = current;
      unsubscribe = client.subscribe<TResult>(
        { query, variables, ...(begun.extensions ? { extensions: begun.extensions } : {}) },
        {
          next: (result) => {
            const meta = state.result(current, result.extensions);
            report();
            if (!meta) return;
            if (result.errors?.length) {
              handlers.onError?.(new GraphQLRequestError(responseErrors(result)));
            }
            if (result.data) handlers.onResult(result.data, meta);
            if (meta.dropped > 0) handlers.onGap?.();
          },
          error: (error: unknown) => {
            // An array is the gateway's `error` message for this operation; anything else is
            // the connection (a CloseEvent, or the socket's error event).
            if (!Array.isArray(error)) return lose(current, closeCode(error));
            const errors = responseErrors({ errors: error });
            if (errors.some((e) => e.code !== undefined && CURSOR_REFUSED_CODES.has(e.code))) {
              state.forgetCursor();
              handlers.onGap?.();
              return lose(current);
            }
            if (errors.some((e) => e.code !== undefined && RETRIABLE_CODES.has(e.code))) {
              return lose(current);
            }
            refuse(current, new GraphQLRequestError(errors));
          },
          // The gateway ended the stream (it is not meant to end): resume it.
          complete: () => lose(current),
        },
      );
      if (isOpen()) state.connected(current);
      report();
    };

    const runner: Runner = {
      connected: () => {
        state.connected(attempt);
        report();
      },
      closed: (code) => lose(attempt, code),
    };
    runners.add(runner);
    start();

    return () => {
      stopped = true;
      runners.delete(runner);
      clearTimeout(timer);
      unsubscribe?.();
      unsubscribe = undefined;
    };
  }

  return {
    live,
    dispose: () => {
      runners.clear();
      void client.dispose();
    },
  };
}
