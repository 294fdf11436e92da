/**
 * Gateway throughput, side by side: `npm run bench:gateway [-- --graph public|platform|both
 * --duration 20 --connections 50]`.
 *
 * Two workloads (`--graph`, default both, one after the other), each run against
 *   (a) ours:  `createGateway` from gateway/ (undici keep-alive pool, limits, masking, CORS);
 *   (b) plain: `@apollo/gateway` + `@apollo/server` `startStandaloneServer`, all defaults;
 * on the same subgraphs, in one run:
 *   - public: The Guild's public gateways benchmark (four subgraphs, one nested query answered
 *     with 87.6 KB, data in ../shared/bench/gateways-benchmark/), every response compared with
 *     expected-response.json;
 *   - platform: our own users, interviews and reporting subgraphs (SQLite, Kafka, outbox,
 *     consumers; a throw-away local broker unless KAFKA_BROKERS is set), seeded through events
 *     and GraphQL, and a dashboard query per user with the user's development `x-identity`
 *     header, which both gateways pass on to the subgraphs in a signed internal token; every
 *     response compared with that user's answer fetched up front (bench/platform/).
 * Subgraphs, each gateway, and the load generator run in processes of their own
 * (bench/gateways-benchmark/, bench/platform/), so a gateway's CPU and memory are its own.
 * The gateways are measured one after the other, never at the same time (`--rounds N` alternates
 * their order), with a bounded number of connections, a warm-up, then a fixed window. A run with
 * mismatches or errors is invalid.
 *
 * Everything binds to 127.0.0.1, and every process, broker, topic and temp folder started or
 * created is stopped or deleted at the end (also on Ctrl-C or an error).
 */
import { join, resolve } from 'node:path';
import {
  childStats as stats,
  spawnChild,
  type Child,
  type LoadResult,
} from './gateways-benchmark/processes';
import { integerFlag, parseFlags } from './lib/args';
import { markdownTable } from './lib/table';
import { createTeardown } from './lib/teardown';
import { sampleEvery } from './lib/usage';
import { preparePlatformGraph } from './platform/graph';
import { runBench } from './run';

type GatewayKind = 'ours' | 'plain';
type Graph = 'public' | 'platform';

const GRAPH_TITLES: Record<Graph, string> = {
  public: "public graph (The Guild's gateways benchmark: accounts, inventory, products, reviews)",
  platform: 'platform graph (users, interviews, reporting)',
};

interface Options {
  duration: number;
  warmup: number;
  connections: number;
  rounds: number;
  only: GatewayKind[];
  graphs: Graph[];
  /** Seeded users of the platform graph. */
  users: number;
  cpuProf: boolean;
}

function parseOptions(): Options {
  const values = parseFlags(
    {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      rounds: { type: 'string' },
      only: { type: 'string' },
      graph: { type: 'string', default: 'both' },
      users: { type: 'string' },
      'cpu-prof': { type: 'boolean', default: false },
    },
    'usage: npm run bench:gateway -- [--graph public|platform|both=both] [--duration S=20]\n' +
      '         [--warmup S=5] [--connections N=50] [--rounds N=1] [--only ours|plain]\n' +
      '         [--users N=20] [--cpu-prof]\n' +
      '  --users: users seeded in the platform graph (3 interviews each), queried in rotation\n' +
      '  --cpu-prof writes V8 CPU profiles of each gateway process to .data/cpu-prof/<kind>-<time>/\n',
  );
  const only = values.only;
  if (only !== undefined && only !== 'ours' && only !== 'plain') {
    throw new Error(`--only must be ours or plain (got ${only})`);
  }
  const graph = values.graph;
  if (graph !== 'public' && graph !== 'platform' && graph !== 'both') {
    throw new Error(`--graph must be public, platform or both (got ${graph})`);
  }
  return {
    duration: integerFlag('duration', values.duration, 20),
    warmup: integerFlag('warmup', values.warmup, 5, 0),
    connections: integerFlag('connections', values.connections, 50),
    rounds: integerFlag('rounds', values.rounds, 1),
    only: only === undefined ? ['ours', 'plain'] : [only],
    graphs: graph === 'both' ? ['public', 'platform'] : [graph],
    users: integerFlag('users', values.users, 20),
    cpuProf: values['cpu-prof'],
  };
}

interface Run {
  kind: GatewayKind;
  load: LoadResult;
  /** Highest RSS sampled during the measured window. */
  rssMb: number;
  /** CPU time of the gateway process in the measured window, as a share of one core. */
  cpuPercent: number;
  /** Same for the subgraphs' process: near 100 means they, not the gateway, set the pace. */
  subgraphsCpuPercent: number;
  /**
   * Gateway CPU time per answered request: what the gateway itself costs, and the figure that
   * other load on the machine (which steals CPU and so lowers RPS) disturbs least.
   */
  cpuMsPerRequest: number;
}

const HERE = join(__dirname, 'gateways-benchmark');
const children = new Set<Child>();

/** Starts a child process: `file` relative to gateways-benchmark/, or absolute. */
function start(file: string, args: string[], nodeArgs: string[] = []): Child {
  const child = spawnChild(resolve(HERE, file), args, nodeArgs);
  children.add(child);
  return child;
}

async function stop(child: Child): Promise<void> {
  await child.stop();
  children.delete(child);
}

/**
 * Stops every child, then runs the cleanup steps of a workload (broker, topics, temp folder) in
 * reverse order; a failing step does not skip the others.
 */
const cleanup = createTeardown({
  before: async () => {
    await Promise.all([...children].map(stop));
  },
});
const teardown = (): Promise<void> => cleanup.run();

/** The subgraphs of one workload, running, and how to point a gateway and the load at them. */
interface Workload {
  graph: Graph;
  /** The subgraphs' process. */
  subgraphs: Child;
  /** Arguments of gateway-process.ts besides `--kind`. */
  gatewayArgs: string[];
  /** Arguments of load.ts besides the URL and timing. */
  loadArgs: string[];
}

async function measure(kind: GatewayKind, workload: Workload, options: Options): Promise<Run> {
  const { subgraphs } = workload;
  // One folder per run; tsx's loader thread writes a (small) profile of its own beside the
  // main thread's.
  const profileDir = join('.data', 'cpu-prof', `${workload.graph}-${kind}-${Date.now()}`);
  const nodeArgs = options.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
  if (options.cpuProf) console.log(`  CPU profile of ${kind} -> ${profileDir}/`);
  const gateway = start('gateway-process.ts', ['--kind', kind, ...workload.gatewayArgs], nodeArgs);
  try {
    const { url } = await gateway.next('listening', 60_000);
    const load = start('load.ts', [
      '--url',
      url,
      '--connections',
      String(options.connections),
      '--warmup',
      String(options.warmup),
      '--duration',
      String(options.duration),
      ...workload.loadArgs,
    ]);
    const result = load.next('result', (options.warmup + options.duration + 120) * 1000);
    // RSS peak and CPU time over the measured window (from the end of the warm-up).
    let rss = 0;
    let baseline: { cpuMicros: number; subgraphsCpuMicros: number; at: number } | undefined;
    const sampler = sampleEvery(
      1000,
      async () => {
        const sample = await stats(gateway);
        baseline ??= {
          cpuMicros: sample.cpuMicros,
          subgraphsCpuMicros: (await stats(subgraphs)).cpuMicros,
          at: Date.now(),
        };
        rss = Math.max(rss, sample.rssBytes);
      },
      { delayMs: options.warmup * 1000 },
    );
    let loadResult: LoadResult;
    try {
      loadResult = (await result).result;
    } finally {
      await sampler.stop();
      await stop(load);
    }
    const after = await stats(gateway);
    const subgraphsAfter = await stats(subgraphs);
    const from = baseline ?? { cpuMicros: 0, subgraphsCpuMicros: 0, at: Date.now() };
    const seconds = Math.max(0.001, (Date.now() - from.at) / 1000);
    const percent = (micros: number) => (micros / 1e6 / seconds) * 100;
    return {
      kind,
      load: loadResult,
      rssMb: Math.max(rss, after.rssBytes) / 1024 / 1024,
      cpuPercent: percent(after.cpuMicros - from.cpuMicros),
      subgraphsCpuPercent: percent(subgraphsAfter.cpuMicros - from.subgraphsCpuMicros),
      cpuMsPerRequest:
        (after.cpuMicros - from.cpuMicros) /
        1000 /
        ((loadResult.requests / loadResult.seconds) * seconds),
    };
  } finally {
    await stop(gateway);
  }
}

function table(runs: Run[]): string {
  const head = [
    'gateway',
    'RPS',
    'p50 ms',
    'p99 ms',
    'errors',
    'mismatches',
    'RSS MB',
    'CPU %',
    'CPU ms/req',
    'subgraphs CPU %',
  ];
  const rows = runs.map((r) => [
    r.kind,
    (r.load.requests / r.load.seconds).toFixed(1),
    r.load.p50.toFixed(1),
    r.load.p99.toFixed(1),
    String(r.load.errors),
    String(r.load.mismatches),
    r.rssMb.toFixed(0),
    r.cpuPercent.toFixed(0),
    r.cpuMsPerRequest.toFixed(1),
    r.subgraphsCpuPercent.toFixed(0),
  ]);
  return markdownTable(head, rows);
}

/** Starts a workload's subgraphs (and for the platform: broker, seed data, supergraph). */
async function startWorkload(graph: Graph, options: Options): Promise<Workload> {
  if (graph === 'public') {
    const subgraphs = start('subgraphs.ts', ['--port', '0']);
    const { url } = await subgraphs.next('listening', 60_000);
    return { graph, subgraphs, gatewayArgs: ['--subgraphs', url], loadArgs: [] };
  }
  const started = Date.now();
  const platform = await preparePlatformGraph({
    spawn: (file, args) => start(file, args),
    stop,
    defer: cleanup.defer,
    log: (line) => console.log(line),
    users: options.users,
  });
  console.log(`  platform ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { graph, ...platform };
}

interface GraphResult {
  graph: Graph;
  runs: Run[];
}

async function runGraph(graph: Graph, options: Options): Promise<GraphResult> {
  console.log(`\n${GRAPH_TITLES[graph]}: starting subgraphs ...`);
  const runs: Run[] = [];
  try {
    const workload = await startWorkload(graph, options);
    for (let round = 0; round < options.rounds; round += 1) {
      const order = round % 2 === 0 ? options.only : [...options.only].reverse();
      for (const kind of order) {
        console.log(`${graph}, round ${round + 1}: ${kind} ...`);
        const run = await measure(kind, workload, options);
        runs.push(run);
        if (run.load.firstProblem !== undefined) {
          console.log(`  first problem: ${run.load.firstProblem}`);
        }
      }
    }
  } finally {
    // The next workload starts with nothing of this one left running (broker included).
    await teardown();
  }
  return { graph, runs };
}

const valid = (r: Run) => r.load.errors === 0 && r.load.mismatches === 0 && r.load.requests > 0;

function report({ graph, runs }: GraphResult, options: Options): void {
  console.log(`\n${GRAPH_TITLES[graph]}\n\n${table(runs)}\n`);
  for (const r of runs.filter((run) => !valid(run))) {
    console.log(`INVALID: ${r.kind} had ${r.load.errors} errors, ${r.load.mismatches} mismatches`);
  }
  const rps = (kind: GatewayKind) => {
    const mine = runs.filter((r) => r.kind === kind);
    return mine.reduce((sum, r) => sum + r.load.requests / r.load.seconds, 0) / mine.length;
  };
  if (options.only.length === 2) {
    console.log(
      `${graph}: ours/plain RPS ratio: ${(rps('ours') / rps('plain')).toFixed(2)}${runs.every(valid) ? '' : ' (INVALID: see above)'}`,
    );
  }
}

async function main(): Promise<void> {
  const options = parseOptions();
  console.log(
    `Gateway benchmark (${options.graphs.join(' + ')}): ${options.connections} connections, ${options.warmup} s warm-up + ${options.duration} s measured, ${options.rounds} round(s)`,
  );
  const results: GraphResult[] = [];
  for (const graph of options.graphs) results.push(await runGraph(graph, options));
  for (const result of results) report(result, options);
  if (!results.every((r) => r.runs.every(valid))) process.exitCode = 1;
}

runBench('bench:gateway', main, teardown);
