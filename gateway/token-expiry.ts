/**
 * When a caller's credentials stop being valid, for the connections that outlive a request: the
 * WebSocket (websocket.ts) closes, and a subscription stream over HTTP (http-subscriptions/)
 * ends, at the Bearer access token's `exp`. The token was verified by the gateway's
 * `Authenticate` just before, so its `exp` is read here without checking it again.
 */
import { decodeJwt } from 'jose';

/** The `exp` (ms) of a bearer token that was just verified; undefined if it has none. */
export function expiresAt(authorization: string | undefined): number | undefined {
  const token = /^Bearer +(\S+)$/i.exec(authorization?.trim() ?? '')?.[1];
  if (!token) return undefined;
  try {
    const { exp } = decodeJwt(token);
    return exp === undefined ? undefined : exp * 1000;
  } catch {
    return undefined;
  }
}

/** Runs `run` at `time` (ms); returns the cancel. setTimeout caps at ~24.8 days, so it re-arms. */
export function at(time: number, run: () => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    const wait = time - Date.now();
    if (wait <= 0) {
      timer = undefined;
      run();
      return;
    }
    timer = setTimeout(arm, Math.min(wait, 2_147_483_647));
    timer.unref();
  };
  arm();
  return () => clearTimeout(timer);
}
