/**
 * Idle memory of the gateway, and with idle subscribers:
 * `npm run bench:memory [-- --settle 10 --runs 1 --subscribers 10000 --compiled-only]`.
 *
 * Starts the gateway the way `npm start` does (its environment: Kafka, the development OpenID
 * provider as issuer, the internal token secret, routes to the three subgraphs, which run too,
 * compiled, each its own process with an SQLite database in a temp folder), once per variant,
 * one after the other in the same run:
 *
 *  - `tsx`: `node --import tsx gateway/main.ts`, TypeScript compiled at run time (how `npm start`
 *    ran it before `npm run build`);
 *  - `node`: `node dist/gateway/main.js`, the compiled output with plain node;
 *  - `node + flags`: the compiled output with config/services.ts's flags (how `npm start`,
 *    the image and docker-compose.yml run it now);
 *  - `production`: the same with NODE_ENV=production (no GraphiQL, no introspection).
 *
 * Each gateway gets no request (but the readiness probes it sends its subgraphs every 5 s) and
 * is measured `--settle` seconds after its `/ready` answered 200: VmRSS from /proc (the
 * process's resident memory), V8's heap and the number of module files loaded (a preload
 * reports `require.cache`). With `--runs` above 1 every figure is the median.
 *
 * Subscribers (`--subscribers N`, default 10,000; 0 skips): right after the idle reading, the
 * `node + flags` gateway (how production runs it) and, unless `--compiled-only`, the `tsx` one
 * get N graphql-transport-ws connections from 2 subscriber processes, each with a development
 * `x-identity` of its own and one `myInterviewEvents` subscription (memory-subscribers.ts);
 * VmRSS once `/metrics` `gateway_subscriptions` shows N (+ 2 s), and after they all closed.
 * Target: under 200 MB with 10,000. (`production` refuses x-identity, so it gets none: it differs
 * from `node + flags` by NODE_ENV only.) Each process needs about N descriptors: `ulimit -n`
 * is checked first.
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
import { createDevProvider } from '../scripts/dev-idp';
import { GATEWAY_NODE_FLAGS } from '../config/services';
import { buildOnce, spawnNode, waitForOk, type SpawnedProcess } from '../test/compiled';
import { freePort } from '../test/helpers';
import {
  measureSubscribers,
  openFilesLimit,
  stopAllClients,
  type SubscribersReading,
} from './memory-subscribers';
import { median } from './lib/stats';
import { markdownTable } from './lib/table';
import { createTeardown } from './lib/teardown';
import { vmRssMb } from './lib/usage';
import { deleteWithPrefix, startBenchBroker } from './platform/broker';

interface Variant {
  name: string;
  args: string[];
  env: Record<string, string>;
  /** Gets the subscribers reading after the idle one. */
  subscribers: boolean;
}

interface Sample {
  rssMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
  modules: number;
  subscribers?: SubscribersReading;
}

const MB = 1024 * 1024;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      settle: { type: 'string', default: '10' },
      runs: { type: 'string', default: '1' },
      subscribers: { type: 'string', default: '10000' },
      'compiled-only': { type: 'boolean', default: false },
    },
  });
  const settleMs = Number(values.settle) * 1000;
  const runs = Math.max(1, Number(values.runs));
  const subscribers = Math.max(0, Math.floor(Number(values.subscribers)));
  if (!Number.isFinite(subscribers)) throw new Error(`--subscribers: not a number`);
  const compiledOnly = values['compiled-only'];
  const config = loadConfig();
  const log = (line: string) => console.error(`[bench] ${line}`);

  if (subscribers > 0) {
    // The gateway holds about one descriptor per connection, each client process half of them.
    const limit = openFilesLimit();
    const needed = subscribers + 256;
    if (limit === undefined) log('open files limit: unknown (no /proc/self/limits)');
    else if (limit < needed) {
      throw new Error(
        `open files limit (ulimit -n) ${limit} is below the ~${needed} the gateway needs for ${subscribers} subscribers: raise it (\`ulimit -n ${needed}\`) or lower --subscribers`,
      );
    } else log(`open files limit (ulimit -n) ${limit} >= ~${needed} needed: fine`);
  }

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ig-bench-memory-'));
  const prefix = `bench-${randomBytes(4).toString('hex')}.`;
  cleanups.defer(async () => fs.rmSync(dir, { recursive: true, force: true }));
  try {
    log('npm run build');
    await buildOnce();
    const broker = await startBenchBroker(path.join(dir, 'kafka'), log);
    cleanups.defer(() => broker.stop());
    cleanups.defer(() => deleteWithPrefix(broker.brokers, prefix));

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
    cleanups.defer(() => idp.stop());
    const gatewayEnv: Record<string, string> = {
      ...common,
      GATEWAY_PORT: String(gatewayPort),
      PUBLIC_URL: publicUrl,
      OIDC_ISSUER: issuer,
      OIDC_CLIENT_SECRET: clientSecret,
      AUTHENTIK_WEBHOOK_SECRET: randomBytes(24).toString('base64url'),
    };

    const variants: Variant[] = [
      {
        name: 'tsx',
        args: ['--import', 'tsx', 'gateway/main.ts'],
        env: gatewayEnv,
        subscribers: subscribers > 0 && !compiledOnly,
      },
      { name: 'node', args: ['dist/gateway/main.js'], env: gatewayEnv, subscribers: false },
      {
        name: 'node + flags',
        args: [...GATEWAY_NODE_FLAGS, 'dist/gateway/main.js'],
        env: gatewayEnv,
        subscribers: subscribers > 0,
      },
      {
        name: 'production',
        args: [...GATEWAY_NODE_FLAGS, 'dist/gateway/main.js'],
        env: { ...gatewayEnv, NODE_ENV: 'production' },
        subscribers: false,
      },
    ];

    const samples = new Map<string, Sample[]>(variants.map((v) => [v.name, []]));
    for (let run = 1; run <= runs; run++) {
      for (const variant of variants) {
        log(`run ${run}/${runs}: ${variant.name} (node ${variant.args.join(' ')})`);
        const gateway = spawnNode({ args: variant.args, env: variant.env, probe: true });
        processes.push(gateway);
        try {
          await waitForOk(gateway, `${publicUrl}/ready`, 90_000);
          await sleep(settleMs);
          const rss = vmRssMb(gateway.child.pid);
          const report = await gateway.probe();
          const sample: Sample = {
            rssMb: rss ?? report.memory.rss / MB,
            heapUsedMb: report.memory.heapUsed / MB,
            heapTotalMb: report.memory.heapTotal / MB,
            externalMb: report.memory.external / MB,
            modules: report.modules.length,
          };
          if (variant.subscribers) {
            log(`  ${subscribers} subscribers, one myInterviewEvents each, as users of their own`);
            const rssNow = async () =>
              vmRssMb(gateway.child.pid) ?? (await gateway.probe()).memory.rss / MB;
            sample.subscribers = await measureSubscribers({
              gatewayUrl: publicUrl,
              count: subscribers,
              rssMb: rssNow,
              log,
            });
            for (const problem of sample.subscribers.problems) log(`  problem: ${problem}`);
          }
          samples.get(variant.name)?.push(sample);
        } finally {
          await gateway.stop();
          processes.splice(processes.indexOf(gateway), 1);
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
    console.log(
      `\nIdle gateway memory, ${settleMs / 1000} s after /ready, ${runs} run(s)${runs > 1 ? ' (medians)' : ''}; Kafka ${broker.description}; Node ${process.version}\n`,
    );
    console.log(markdownTable(header, rows, { left: 2, markLeft: true }));
    const tsx = median((samples.get('tsx') ?? []).map((x) => x.rssMb));
    const now = median((samples.get('node + flags') ?? []).map((x) => x.rssMb));
    console.log(
      `\nnpm start's gateway now: ${fmt(now)} MB RSS idle, ${fmt(tsx - now)} MB less than under tsx.`,
    );
    if (subscribers > 0) {
      const measured = variants.filter((v) => v.subscribers);
      reportSubscribers(measured, samples, subscribers);
      const problems = measured.flatMap((v) =>
        (samples.get(v.name) ?? []).flatMap((s) => s.subscribers?.problems ?? []),
      );
      if (problems.length > 0) {
        for (const p of problems) console.log(`PROBLEM: ${p}`);
        process.exitCode = 1;
      }
    }
  } finally {
    await teardown();
  }
}

/** Prints the subscribers table (medians over the runs). */
function reportSubscribers(variants: Variant[], samples: Map<string, Sample[]>, n: number): void {
  const TARGET_N = 10_000;
  const TARGET_MB = 200;
  const fmt = (x: number) => x.toFixed(1);
  const rows = variants.map((v) => {
    const s = (samples.get(v.name) ?? []).filter((x) => x.subscribers !== undefined);
    const m = (pick: (x: Sample, r: SubscribersReading) => number) =>
      median(s.map((x) => pick(x, x.subscribers as SubscribersReading)));
    const idle = m((x) => x.rssMb);
    const withAll = m((_, r) => r.rssWithMb);
    const atGateway = m((_, r) => r.atGateway);
    const perConnectionKiB = ((withAll - idle) * 1024) / Math.max(1, atGateway);
    let target: string;
    if (atGateway < n) target = `NOT met (${atGateway} of ${n} subscribed)`;
    else if (n >= TARGET_N) target = withAll < TARGET_MB ? 'met' : 'NOT met';
    else {
      const projected = idle + (perConnectionKiB * TARGET_N) / 1024;
      target = `n/a at ${n} (${fmt(projected)} MB projected at ${TARGET_N}: ${projected < TARGET_MB ? 'would be met' : 'would NOT be met'})`;
    }
    return [
      v.name,
      fmt(idle),
      fmt(withAll),
      perConnectionKiB.toFixed(1),
      fmt(m((_, r) => r.rssAfterCloseMb)),
      `${fmt(m((_, r) => r.openSeconds))} s`,
      target,
    ];
  });
  const header = [
    'gateway',
    'idle RSS MB',
    `RSS with ${n} subscribers MB`,
    'KiB per connection',
    'RSS after close MB',
    'open time',
    `target (< ${TARGET_MB} MB with ${TARGET_N})`,
  ];
  const text = (i: number) => i === 0 || i === header.length - 1;
  console.log(
    `\nGateway RSS with ${n} idle subscribers (graphql-transport-ws, one myInterviewEvents subscription each, each as a user of its own, from 2 client processes), read 2 s after /metrics gateway_subscriptions showed them all; after close: once the gateway dropped them all, + 1 s\n`,
  );
  console.log(markdownTable(header, rows, { left: text, markLeft: true }));
}

// What is running, for the clean-up at the end, on an error or on a signal: the subscriber
// and gateway processes first, then the steps, last-registered first.
const processes: SpawnedProcess[] = [];
const cleanups = createTeardown({
  before: async () => {
    await stopAllClients();
    await Promise.all(processes.map((p) => p.stop()));
  },
  onError: (e) => console.error(`[bench] cleanup: ${String(e)}`),
});
const teardown = (): Promise<void> => cleanups.run();

const onSignal = () => void teardown().then(() => process.exit(130));
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.stack : error);
    void teardown().then(() => process.exit(1));
  },
);
