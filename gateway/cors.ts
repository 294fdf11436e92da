/**
 * CORS for browser clients on other origins (Apollo Studio / Sandbox, the web frontend).
 *
 * Allowed origins get their own origin echoed back with credentials allowed (a literal `*` cannot
 * be combined with credentials); a preflight `OPTIONS` is answered here with 204 and the methods
 * and headers a GraphQL client sends, including `apollo-require-preflight` (Apollo Server's CSRF
 * prevention) and `content-type`. A preflight from any other origin gets 403 and no CORS headers,
 * so the browser refuses the request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface CorsOptions {
  /** Allowed origins, exactly as browsers send them (`https://studio.apollographql.com`); `*` for any. */
  origins: string[];
  /** How long browsers may cache a preflight answer. @default 600 */
  maxAgeSeconds?: number;
}

const ALLOWED_METHODS = 'GET, POST, OPTIONS';
const ALLOWED_HEADERS = [
  'content-type',
  'apollo-require-preflight',
  'x-apollo-operation-name',
  'apollographql-client-name',
  'apollographql-client-version',
  'authorization',
  // Multipart subscriptions' Accept has quotes (`subscriptionSpec="1.0"`), which makes it unsafe.
  'accept',
  // An EventSource-like client resuming over SSE; the development identity (ignored in production).
  'last-event-id',
  'x-identity',
].join(', ');

/**
 * Returns a handler to run before routing: it sets CORS headers on `res` for allowed origins and
 * returns `true` when it answered the request itself (a preflight), `false` to carry on.
 */
export function createCors(options: CorsOptions) {
  const any = options.origins.includes('*');
  const allowed = new Set(options.origins);
  const maxAge = String(options.maxAgeSeconds ?? 600);
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const origin = req.headers.origin;
    const isAllowed = origin !== undefined && (any || allowed.has(origin));
    if (origin !== undefined) res.setHeader('vary', 'Origin');
    if (isAllowed) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-allow-credentials', 'true');
    }
    if (req.method !== 'OPTIONS') return false;
    if (origin !== undefined && !isAllowed) {
      res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`Origin ${origin} is not allowed`);
      return true;
    }
    res.setHeader('access-control-allow-methods', ALLOWED_METHODS);
    res.setHeader('access-control-allow-headers', ALLOWED_HEADERS);
    res.setHeader('access-control-max-age', maxAge);
    res.setHeader('allow', ALLOWED_METHODS);
    res.writeHead(204);
    res.end();
    return true;
  };
}
