/**
 * The Interview Graph web app (web/, built by `npm run build:web` into `dist/web/`), served by the
 * gateway at `/`, in development and production alike: the app and the API share one origin, so
 * the session cookie (`SameSite=Lax`, `HttpOnly`) signs in its HTTP requests and, on a
 * same-origin upgrade, its WebSocket (gateway/websocket.ts), with no CORS and no token in
 * JavaScript.
 *
 * - Files of the build are served as they are: `assets/*` carry a content hash in their names,
 *   so they are cached for a year (`immutable`); `index.html` is revalidated every time, so a
 *   new deploy is picked up at the next navigation.
 * - Any other GET of a page (`Accept: text/html`) gets `index.html`: the app routes by the URL
 *   (`/interviews/<id>` works on a reload or from a link). Other requests to unknown paths keep
 *   the gateway's 404 in JSON, so an API client never gets HTML.
 * - The list of files is read once, at start; the files themselves are streamed when asked for.
 * - Pages carry a Content-Security-Policy of this origin only: nothing loads from elsewhere.
 *
 * Without a build, `/` answers 503 with what to run, and the rest of the gateway serves as usual.
 */
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson, type Route } from '../lib/http-server';

/** Content types by extension; other files of the build are not served. */
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
};

/**
 * What the app's pages may load: this origin only (`'self'` covers the same-origin WebSocket),
 * inline style attributes allowed (React's `style`), no framing.
 */
export const WEB_APP_CSP = [
  "default-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "style-src 'self' 'unsafe-inline'",
  "script-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

interface StaticFile {
  file: string;
  size: number;
  type: string;
  immutable: boolean;
}

/** What {@link createWebApp} serves. */
export interface WebApp {
  /** Exact-path routes: `/` and every file of the build. */
  routes: Record<string, Route>;
  /** For the HTTP server's `fallback`: `index.html` for page requests, else a JSON 404. */
  fallback: Route;
  /** Whether a build was found. */
  built: boolean;
}

/** Every file under `dir`, as URL paths (`/assets/index-abc.js`) to their absolute path. */
async function listFiles(dir: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const walk = async (relative: string) => {
    for (const entry of await readdir(path.join(dir, relative), { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const child = path.posix.join(relative, entry.name);
      if (entry.isDirectory()) await walk(child);
      else if (entry.isFile()) found.set(`/${child}`, path.join(dir, child));
    }
  };
  await walk('');
  return found;
}

const acceptsHtml = (req: IncomingMessage) => (req.headers.accept ?? '').includes('text/html');

function methodAllowed(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') return true;
  res.writeHead(405, { allow: 'GET, HEAD' });
  res.end();
  return false;
}

/**
 * The web app's routes from a build in `dir` (e.g. `dist/web`), read now. A missing or empty
 * `dir` is no error: `/` then says how to build it.
 * @throws when `dir` exists but cannot be read.
 */
export async function createWebApp(dir: string): Promise<WebApp> {
  const notFound: Route = (req, res) =>
    sendJson(res, 404, { error: `Not found: ${req.url?.split('?', 1)[0] ?? '/'}` });
  const index = await readFile(path.join(dir, 'index.html')).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  });
  if (!index) {
    const message = Buffer.from(
      `<!doctype html><meta charset="utf-8"><title>Interview Graph</title>` +
        `<p>The web app is not built (no ${path.join(dir, 'index.html')}): run <code>npm run build:web</code>.` +
        ` GraphQL is served at <a href="/graphql">/graphql</a>.</p>`,
    );
    const unbuilt: Route = (req, res) => {
      if (!methodAllowed(req, res)) return;
      res.writeHead(503, {
        'content-type': 'text/html; charset=utf-8',
        'content-length': message.length,
        'cache-control': 'no-store',
      });
      res.end(req.method === 'HEAD' ? undefined : message);
    };
    return { routes: { '/': unbuilt }, fallback: notFound, built: false };
  }

  const sendIndex: Route = (req, res) => {
    if (!methodAllowed(req, res)) return;
    res.writeHead(200, {
      'content-type': CONTENT_TYPES['.html'] as string,
      'content-length': index.length,
      'cache-control': 'no-cache',
      'content-security-policy': WEB_APP_CSP,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'same-origin',
    });
    res.end(req.method === 'HEAD' ? undefined : index);
  };

  const files = new Map<string, StaticFile>();
  for (const [urlPath, file] of await listFiles(dir)) {
    const type = CONTENT_TYPES[path.extname(file)];
    if (!type || urlPath === '/index.html') continue;
    const { size } = await stat(file);
    files.set(urlPath, { file, size, type, immutable: urlPath.startsWith('/assets/') });
  }
  const sendFile =
    (entry: StaticFile): Route =>
    (req, res) => {
      if (!methodAllowed(req, res)) return;
      res.writeHead(200, {
        'content-type': entry.type,
        'content-length': entry.size,
        'cache-control': entry.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
        'x-content-type-options': 'nosniff',
      });
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      // A file that vanished (a redeploy under a running gateway) cuts the response short.
      createReadStream(entry.file)
        .on('error', (error) => res.destroy(error))
        .pipe(res);
    };

  const routes: Record<string, Route> = { '/': sendIndex, '/index.html': sendIndex };
  for (const [urlPath, entry] of files) routes[urlPath] = sendFile(entry);
  return {
    routes,
    // A page of the app's own routing; an asset that is not in this build stays a 404 (an old
    // page asking for a file of the previous deploy must not get HTML as JavaScript).
    fallback: (req, res) =>
      acceptsHtml(req) && !req.url?.startsWith('/assets/')
        ? sendIndex(req, res)
        : notFound(req, res),
    built: true,
  };
}
