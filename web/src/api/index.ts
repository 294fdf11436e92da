/**
 * The web app's connection to the gateway: the session (session.ts), queries and mutations
 * (request.ts) and live subscriptions (live.ts), created together by {@link createApi}.
 */
import { createLiveClient, type Live } from './live';
import { createRequest, type Request } from './request';
import { createSessionStore, type SessionStore } from './session';

export { GraphQLRequestError } from './request';
export type { Request } from './request';
export type { Live, LiveHandlers } from './live';
export type { LiveStatus, ResultMeta } from './live-state';
export { signInHref } from './session';
export type { Session, SessionState, SessionStore } from './session';

export interface Api {
  session: SessionStore;
  request: Request;
  live: Live;
  /** Stops the refresh timer and closes the socket. */
  stop(): void;
}

/** One per page load (main.tsx); components reach it through `useApi()`. */
export function createApi(): Api {
  const session = createSessionStore();
  const request = createRequest({ session });
  const liveClient = createLiveClient({ session });
  return {
    session,
    request,
    live: liveClient.live,
    stop: () => {
      session.stop();
      liveClient.dispose();
    },
  };
}
