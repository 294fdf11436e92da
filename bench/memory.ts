/**
 * Idle memory of the gateway: `npm run bench:memory [-- --settle 10 --runs 1]`.
 *
 * Starts the gateway the way `npm start` does (its environment: Kafka, the development OpenID
 * provider as issuer, the internal token secret, routes to the three subgraphs, which run too,
 * compiled, each its own process with an SQLite database in a temp folder), once per variant,
 * one after the other in the same run:
 *
 *  - `tsx`: `node --import tsx gateway/main.ts`, TypeScript compiled at run time (how `npm start`
 *    ran it before `npm run build`);
 *  - `node`: `node dist/gateway/main.js`, the compiled output with plain node;
 *  - `node + flags`: the compiled output with gateway/node-flags.ts's flags (how `npm start`,
 *    the image and docker-compose.yml run it now);
 *  - `production`: the same with NODE_ENV=production (no GraphiQL, no introspection).
 *
 * Each gateway gets no request (but the readiness probes it sends its subgraphs every 5 s) and
 * is measured `--settle` seconds after its `/ready` answered 200: VmRSS from /proc (the
 * process's resident memory), V8's heap and the number of module files loaded (a preload
 * reports `require.cache`). With `--runs` above 1 every figure is the median.
 *
 * Kafka: the cluster in KAFKA_BROKERS, or a throw-away local broker when it is unset. Topics
 * and groups live under a random prefix and are deleted at the end; the temp folder is removed.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config';
import { createDevProvider } from '../gateway/auth/dev-provider';
import { GATEWAY_NODE_FLAGS } from '../gateway/node-flags';
import { buildOnce, spawnNode, waitForOk, type SpawnedProcess } from '../test/compiled';
import { freePort } from '../test/helpers';
import { deleteWithPrefix, startBenchBroker } from './platform/broker';

interface Variant {
  name: string;
  args: string[];
  env: Record<string, string>;
}

interface Sample {
  rssMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
  modules: number;
}

const MB = 1024 * 1024;

/** VmRSS of a running process, from /proc (Linux); undefined elsewhere. */
function vmRssMb(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] ?? NaN)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      settle: { type: 'string', default: '10' },
      runs: { type: 'string', default: '1' },
    },
  });
  const settleMs = Number(values.settle) * 1000;
  const runs = Math.max(1, Number(values.runs));
  const config = loadConfig();
  const log = (line: string) => console.error(`[bench] ${line}`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ig-bench-memory-'));
  const prefix = `bench-${randomBytes(4).toString('hex')}.`;
  const cleanups: (() => Promise<unknown>)[] = [
    async () => fs.rmSync(dir, { recursive: true, force: true }),
  ];
  const processes: SpawnedProcess[] = [];
  try {
    log('npm run build');
    await buildOnce();
    const broker = await startBenchBroker(path.join(dir, 'kafka'), log);
    cleanups.unshift(() => broker.stop());
    cleanups.unshift(() => deleteWithPrefix(broker.brokers, prefix));

    const internalTokenSecret = randomBytes(48).toString('base64url');
    const ports = {
      users: await freePort(),
      interviews: await freePort(),
      reporting: await freePort(),
    };
    const common: Record<string, string> = {
      NODE_ENV: 'development',
      LOG_LEVEL: 'error',
      KAFKA_BROKERS: broker.brokers.join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      DATA_DIR: path.join(dir, 'data'),
      INTERNAL_TOKEN_SECRET: internalTokenSecret,
      USERS_PORT: String(ports.users),
      INTERVIEWS_PORT: String(ports.interviews),
      REPORTING_PORT: String(ports.reporting),
      GATEWAY_SUBGRAPH_URLS: Object.entries(ports)
        .map(([name, port]) => `${name}=http://127.0.0.1:${port}/graphql`)
        .join(','),
    };

    log('starting the three subgraphs (compiled)');
    for (const [name, port] of Object.entries(ports)) {
      const subgraph = spawnNode({ args: [`dist/subgraphs/${name}/main.js`], env: common });
      processes.push(subgraph);
      await waitForOk(subgraph, `http://127.0.0.1:${port}/ready`, 90_000);
    }

    // As `npm start`: the development IdP as the issuer.
    const gatewayPort = await freePort();
    const publicUrl = `http://127.0.0.1:${gatewayPort}`;
    const clientSecret = randomBytes(32).toString('base64url');
    const idp = createDevProvider({
      clientId: config.identity.clientId,
      clientSecret,
      redirectUris: [`${publicUrl}/auth/callback`],
      postLogoutRedirectUris: [publicUrl],
    });
    const { issuer } = await idp.start();
    cleanups.unshift(() => idp.stop());
    const gatewayEnv: Record<string, string> = {
      ...common,
      GATEWAY_PORT: String(gatewayPort),
      PUBLIC_URL: publicUrl,
      OIDC_ISSUER: issuer,
      OIDC_CLIENT_SECRET: clientSecret,
      AUTHENTIK_WEBHOOK_SECRET: randomBytes(24).toString('base64url'),
    };

    const variants: Variant[] = [
      { name: 'tsx', args: ['--import', 'tsx', 'gateway/main.ts'], env: gatewayEnv },
      { name: 'node', args: ['dist/gateway/main.js'], env: gatewayEnv },
      {
        name: 'node + flags',
        args: [...GATEWAY_NODE_FLAGS, 'dist/gateway/main.js'],
        env: gatewayEnv,
      },
      {
        name: 'production',
        args: [...GATEWAY_NODE_FLAGS, 'dist/gateway/main.js'],
        env: { ...gatewayEnv, NODE_ENV: 'production' },
      },
    ];

    const samples = new Map<string, Sample[]>(variants.map((v) => [v.name, []]));
    for (let run = 1; run <= runs; run++) {
      for (const variant of variants) {
        log(`run ${run}/${runs}: ${variant.name} (node ${variant.args.join(' ')})`);
        const gateway = spawnNode({ args: variant.args, env: variant.env, probe: true });
        try {
          await waitForOk(gateway, `${publicUrl}/ready`, 90_000);
          await sleep(settleMs);
          const rss = vmRssMb(gateway.child.pid);
          const report = await gateway.probe();
          samples.get(variant.name)?.push({
            rssMb: rss ?? report.memory.rss / MB,
            heapUsedMb: report.memory.heapUsed / MB,
            heapTotalMb: report.memory.heapTotal / MB,
            externalMb: report.memory.external / MB,
            modules: report.modules.length,
          });
        } finally {
          await gateway.stop();
        }
      }
    }

    const fmt = (n: number) => n.toFixed(1);
    const rows = variants.map((v) => {
      const s = samples.get(v.name) ?? [];
      const m = (pick: (x: Sample) => number) => median(s.map(pick));
      return [
        v.name,
        `node ${v.args.join(' ')}${v.env.NODE_ENV === 'production' ? ' (NODE_ENV=production)' : ''}`,
        fmt(m((x) => x.rssMb)),
        fmt(m((x) => x.heapUsedMb)),
        fmt(m((x) => x.heapTotalMb)),
        fmt(m((x) => x.externalMb)),
        String(Math.round(m((x) => x.modules))),
      ];
    });
    const header = [
      'gateway',
      'command',
      'RSS MB',
      'heap used',
      'heap total',
      'external',
      'modules',
    ];
    const widths = header.map((h, i) =>
      Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)),
    );
    const line = (cells: string[]) =>
      `| ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
    console.log(
      `\nIdle gateway memory, ${settleMs / 1000} s after /ready, ${runs} run(s)${runs > 1 ? ' (medians)' : ''}; Kafka ${broker.description}; Node ${process.version}\n`,
    );
    console.log(line(header));
    console.log(
      `|${widths.map((w, i) => (i < 2 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
    );
    for (const row of rows) console.log(line(row));
    const tsx = median((samples.get('tsx') ?? []).map((x) => x.rssMb));
    const now = median((samples.get('node + flags') ?? []).map((x) => x.rssMb));
    console.log(
      `\nnpm start's gateway now: ${fmt(now)} MB RSS idle, ${fmt(tsx - now)} MB less than under tsx.`,
    );
  } finally {
    await Promise.all(processes.map((p) => p.stop()));
    for (const cleanup of cleanups)
      await cleanup().catch((e: unknown) => log(`cleanup: ${String(e)}`));
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exit(1);
  },
);
