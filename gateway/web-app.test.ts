import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createWebApp, WEB_APP_CSP, type WebApp } from './web-app';

/** Serves `app` the way lib/http-server.ts does: exact routes, then the fallback. */
async function serve(app: WebApp): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const pathname = (req.url ?? '/').split('?', 1)[0] ?? '/';
    void (app.routes[pathname] ?? app.fallback)(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('the web app at /', () => {
  let dir: string;
  let url: string;
  let server: Server;
  const page = { accept: 'text/html,application/xhtml+xml' };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ig-web-'));
    await mkdir(path.join(dir, 'assets'));
    await writeFile(path.join(dir, 'index.html'), '<!doctype html><div id="root"></div>');
    await writeFile(path.join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
    await writeFile(path.join(dir, 'favicon.svg'), '<svg/>');
    await writeFile(path.join(dir, '.secret'), 'no');
    ({ url, server } = await serve(await createWebApp(dir)));
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('serves index.html at / with a same-origin CSP, revalidated every time', async () => {
    const res = await fetch(`${url}/`, { headers: page });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('content-security-policy')).toBe(WEB_APP_CSP);
    expect(await res.text()).toContain('<div id="root">');
  });

  it("answers the app's own routes with index.html, so a reload of /interviews/<id> works", async () => {
    const res = await fetch(`${url}/interviews/i-1?tab=answers`, { headers: page });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<div id="root">');
  });

  it('serves hashed assets for a year and other files revalidated', async () => {
    const asset = await fetch(`${url}/assets/index-abc123.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await asset.text()).toBe('console.log(1)');
    const icon = await fetch(`${url}/favicon.svg`);
    expect(icon.headers.get('content-type')).toBe('image/svg+xml');
    expect(icon.headers.get('cache-control')).toBe('no-cache');
    await icon.arrayBuffer();
  });

  it('keeps 404 in JSON for API clients, missing assets and hidden files', async () => {
    for (const [target, headers] of [
      ['/nothing', { accept: 'application/json' }],
      ['/assets/index-old.js', page],
      ['/.secret', {}],
    ] as const) {
      const res = await fetch(`${url}${target}`, { headers });
      expect([target, res.status]).toEqual([target, 404]);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      await res.arrayBuffer();
    }
  });

  it('answers only GET and HEAD', async () => {
    const post = await fetch(`${url}/`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const head = await fetch(`${url}/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBeGreaterThan(10);
  });

  it('says how to build it when there is no build', async () => {
    const missing = path.join(dir, 'not-built');
    const app = await createWebApp(missing);
    expect(app.built).toBe(false);
    const other = await serve(app);
    try {
      const res = await fetch(`${other.url}/`, { headers: page });
      expect(res.status).toBe(503);
      expect(await res.text()).toContain('npm run build:web');
      const unknown = await fetch(`${other.url}/interviews`, { headers: page });
      expect(unknown.status).toBe(404);
      await unknown.arrayBuffer();
    } finally {
      await new Promise((resolve) => other.server.close(resolve));
    }
  });
});
