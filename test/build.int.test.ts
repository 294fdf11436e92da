/**
 * `npm run build` and what runs from it: dist/ holds the compiled entry points and the files
 * the runtime reads beside them (and no tests or benchmarks), the compiled gateway starts with
 * plain `node` and loads no TypeScript compiler, and a production gateway never loads the
 * development OpenID provider (scripts/dev-idp.ts, oidc-provider).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFERRED_TELEMETRY_MODULES } from '../gateway/apollo-telemetry';
import { runtimeAssets } from '../scripts/build-assets';
import { buildOnce, DIST, spawnNode, waitForOk, type SpawnedProcess } from './compiled';
import { deleteTopicsWithPrefix, freePort, randomName, testBrokers } from './helpers';
import { TEST_INTERNAL_TOKEN_SECRET } from './subgraph-helpers';

/** Modules only development needs; a production process must load none of them. */
const DEVELOPMENT_ONLY = /\/(dev-idp\.(js|ts)|node_modules\/oidc-provider\/)/;
/** Loaded only when Apollo's telemetry is on (gateway/apollo-telemetry.ts). */
const TELEMETRY_ONLY = new RegExp(
  `/node_modules/(${DEFERRED_TELEMETRY_MODULES.map((m) => m.replace('/', '\\/')).join('|')})/`,
);
/** What compiles TypeScript at run time. */
const TYPESCRIPT_AT_RUN_TIME = /\/node_modules\/(tsx|esbuild|typescript|@swc)\//;

const ENTRY_POINTS = [
  'gateway/main.js',
  'subgraphs/users/main.js',
  'subgraphs/interviews/main.js',
  'subgraphs/reporting/main.js',
  'notifications/main.js',
  'scripts/start.js',
];

const running: SpawnedProcess[] = [];
const prefix = `${randomName('build')}.`;

beforeAll(() => buildOnce(), 180_000);

afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop()));
});

afterAll(() => deleteTopicsWithPrefix(prefix));

/** dist/ files below `dir`, relative to dist/. */
function distFiles(dir = DIST): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? distFiles(full) : [path.relative(DIST, full)];
  });
}

describe('npm run build', () => {
  it('compiles the entry points, and copies the files the runtime reads beside them', () => {
    for (const entry of ENTRY_POINTS) expect(fs.existsSync(path.join(DIST, entry))).toBe(true);
    const assets = runtimeAssets();
    expect(assets).toEqual(expect.arrayContaining(['subgraphs/users/schema.graphql']));
    for (const asset of assets) {
      expect(fs.readFileSync(path.join(DIST, asset), 'utf8')).toBe(
        fs.readFileSync(path.resolve(DIST, '..', asset), 'utf8'),
      );
    }
  });

  it('leaves tests, benchmarks and compose checks out', () => {
    const files = distFiles();
    expect(files.filter((f) => /\.test\.js$|^(bench|test|deploy)\//.test(f))).toEqual([]);
  });
});

describe('the compiled gateway', () => {
  async function startGateway(env: Record<string, string>): Promise<{
    gateway: SpawnedProcess;
    url: string;
  }> {
    const port = await freePort();
    const gateway = spawnNode({
      args: ['dist/gateway/main.js'],
      probe: true,
      env: {
        LOG_LEVEL: 'warn',
        INTERNAL_TOKEN_SECRET: TEST_INTERNAL_TOKEN_SECRET,
        GATEWAY_PORT: String(port),
        ...env,
      },
    });
    running.push(gateway);
    const url = `http://127.0.0.1:${port}`;
    await waitForOk(gateway, `${url}/health`);
    return { gateway, url };
  }

  it('starts with plain node and answers /health, with no TypeScript compiler loaded', async () => {
    const { gateway, url } = await startGateway({ NODE_ENV: 'development' });
    expect(await (await fetch(`${url}/health`)).json()).toMatchObject({ status: 'ok' });
    const { modules } = await gateway.probe();
    expect(modules.some((m) => m.endsWith('/dist/gateway/main.js'))).toBe(true);
    expect(modules.filter((m) => TYPESCRIPT_AT_RUN_TIME.test(m))).toEqual([]);
  }, 60_000);

  const production = () => ({
    NODE_ENV: 'production',
    KAFKA_BROKERS: testBrokers().join(','),
    KAFKA_TOPIC_PREFIX: prefix,
    // Sign-in is required in production; the issuer is only asked when someone signs in.
    OIDC_ISSUER: 'http://127.0.0.1:9/issuer',
    OIDC_CLIENT_SECRET: 'test-client-secret',
    AUTHENTIK_WEBHOOK_SECRET: 'test-webhook-secret-0123456789',
  });

  it('serves the web app of dist/web at /, in production too', async () => {
    const index = fs.readFileSync(path.join(DIST, 'web', 'index.html'), 'utf8');
    const script = /<script type="module"[^>]* src="(\/assets\/[^"]+\.js)"/.exec(index)?.[1];
    expect(script).toBeDefined();
    const { url } = await startGateway(production());
    const page = await fetch(`${url}/interviews`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toBe(index);
    const asset = await fetch(`${url}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect((await asset.text()).length).toBeGreaterThan(10_000);
  }, 60_000);

  it('in production, loads neither the development IdP, oidc-provider nor Apollo telemetry', async () => {
    const { gateway } = await startGateway(production());
    const { modules } = await gateway.probe();
    // The sign-in it does need is loaded: the check looks at the right list.
    expect(modules.some((m) => m.endsWith('/dist/gateway/auth/sign-in.js'))).toBe(true);
    expect(modules.filter((m) => DEVELOPMENT_ONLY.test(m))).toEqual([]);
    expect(modules.filter((m) => TELEMETRY_ONLY.test(m))).toEqual([]);
  }, 60_000);

  it('loads the deferred telemetry modules when Apollo telemetry is turned on', async () => {
    const { gateway } = await startGateway({ ...production(), APOLLO_TELEMETRY_DISABLED: 'false' });
    const { modules } = await gateway.probe();
    const loaded = DEFERRED_TELEMETRY_MODULES.filter((name) =>
      modules.some((m) => m.includes(`/node_modules/${name}/`)),
    );
    expect(loaded).toEqual(DEFERRED_TELEMETRY_MODULES);
  }, 60_000);

  it('(the check sees the development IdP when it is loaded, as import() loads it)', async () => {
    const child = spawnNode({
      args: ['-e', "import('./dist/scripts/dev-idp.js').then(() => process.exit(0))"],
      probe: true,
      env: {},
    });
    running.push(child);
    await new Promise((resolve) => child.child.once('exit', resolve));
    const { modules } = await child.probe();
    expect(modules.some((m) => m.endsWith('/dist/scripts/dev-idp.js'))).toBe(true);
    expect(modules.some((m) => m.includes('/node_modules/oidc-provider/'))).toBe(true);
  }, 30_000);
});
