/**
 * The web app's build (`npm run build:web`: index.html and hashed assets in dist/web/, which
 * the gateway serves at `/`) and dev server (`npm run dev:web`, with the gateway on :4000 behind
 * its proxy, so the session cookie and the WebSocket stay same-origin).
 *
 * JSX goes through Vite's built-in oxc transform (no React plugin); without Fast Refresh, the
 * dev server reloads the page on a change.
 */
import { defineConfig } from 'vite';

/** The gateway `npm run gateway` / `npm run start:dev` listens on. */
const GATEWAY = 'http://127.0.0.1:4000';

export default defineConfig({
  root: import.meta.dirname,
  // Absolute asset URLs: deep links (/interviews/<id>) get index.html from the gateway's fallback.
  base: '/',
  // Pre-bundled dependencies beside the others, not in a web/node_modules/.
  cacheDir: '../node_modules/.vite',
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
  },
  server: {
    // The same host as the gateway: the session cookie (set by 127.0.0.1:4000 on sign-in) is
    // sent to every port of its host, so a page from here is signed in too.
    host: '127.0.0.1',
    port: 5173,
    strictPort: true,
    proxy: {
      // The gateway accepts the cookie on a WebSocket only from its own origin: say so.
      '/graphql': { target: GATEWAY, ws: true, headers: { origin: GATEWAY } },
      '/auth': { target: GATEWAY },
    },
  },
});
