/**
 * Load generator of the gateway benchmark, in its own process:
 *
 *   node --import tsx bench/gateways-benchmark/load.ts --url URL [--connections 50]
 *     [--warmup 5] [--duration 20] [--workload FILE]
 *
 * `--connections` closed loops (one request in flight per connection, keep-alive, no pipelining)
 * send the workload's requests for `--warmup` + `--duration` seconds; only responses completed in
 * the `--duration` window count. The workload is the public benchmark's query checked against
 * expected-response.json, or a JSON file of {@link Workload} (`--workload`, e.g. the platform
 * graph's: one request per user, sent in rotation). Every response is checked against its
 * request's expected body: byte for byte, or after JSON parse and re-serialisation (so a trailing
 * newline does not matter but key order does). Sends `{ type: 'result' }` to the parent (or
 * prints it) and exits. Requests are bounded: each loop stops at the deadline.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { percentile } from '../lib/stats';
import { toParent, type LoadResult } from './processes';
import { BENCHMARK_DIR } from './subgraphs';

/** One request of a workload and the body it must be answered with. */
export interface LoadCase {
  /** Extra request headers (e.g. `x-identity`); content-type and accept are always JSON. */
  headers: Record<string, string>;
  /** The JSON request body. */
  body: string;
  /** The expected response body. */
  expected: string;
}

/** Requests sent in rotation: request n goes out as `cases[n % cases.length]`. */
export interface Workload {
  cases: LoadCase[];
}

/** Where `runLoad` sends its load, how much, and for how long. */
export interface LoadOptions {
  url: string;
  connections: number;
  warmupSeconds: number;
  durationSeconds: number;
  /** @default the public benchmark's query and expected-response.json */
  workload?: Workload;
}

/** The public gateways benchmark: one query, one expected response. */
export function publicWorkload(dir = BENCHMARK_DIR): Workload {
  const query = readFileSync(join(dir, 'query.graphql'), 'utf8');
  return {
    cases: [
      {
        headers: {},
        body: JSON.stringify({ query, operationName: 'TestQuery' }),
        expected: readFileSync(join(dir, 'expected-response.json'), 'utf8'),
      },
    ],
  };
}

/** Reads a workload file written by the benchmark (bench/platform/). */
export function readWorkload(file: string): Workload {
  const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
  const cases = (parsed as { cases?: unknown }).cases;
  const isCase = (c: unknown): c is LoadCase => {
    if (typeof c !== 'object' || c === null) return false;
    const { headers, body, expected } = c as Record<string, unknown>;
    return (
      typeof body === 'string' &&
      typeof expected === 'string' &&
      typeof headers === 'object' &&
      headers !== null &&
      Object.values(headers).every((v) => typeof v === 'string')
    );
  };
  if (!Array.isArray(cases) || cases.length === 0 || !cases.every(isCase)) {
    throw new Error(`${file}: not a workload ({ cases: [{ headers, body, expected }, ...] })`);
  }
  return { cases };
}

/**
 * Runs `connections` closed loops against `url` for the warm-up and the measured window, every
 * response checked against its case's expected body; see the file's header.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const cases = (options.workload ?? publicWorkload()).cases.map((c) => ({
    headers: { ...c.headers, 'content-type': 'application/json', accept: 'application/json' },
    body: c.body,
    expected: c.expected.trimEnd(),
    expectedNormal: JSON.stringify(JSON.parse(c.expected)),
  }));
  if (cases.length === 0) throw new Error('empty workload');
  let sent = 0;
  const url = new URL(options.url);
  const pool = new Pool(url.origin, {
    connections: options.connections,
    pipelining: 1,
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
  });

  const start = performance.now();
  const measureFrom = start + options.warmupSeconds * 1000;
  const deadline = measureFrom + options.durationSeconds * 1000;
  const latencies: number[] = [];
  let errors = 0;
  let mismatches = 0;
  let firstProblem: string | undefined;
  const problem = (what: string) => {
    firstProblem ??= what.slice(0, 300);
  };

  const loop = async () => {
    while (performance.now() < deadline) {
      const request = cases[sent % cases.length];
      sent += 1;
      if (request === undefined) break;
      const sentAt = performance.now();
      let status = 0;
      let text = '';
      let failed: string | undefined;
      try {
        const response = await pool.request({
          path: url.pathname + url.search,
          method: 'POST',
          headers: request.headers,
          body: request.body,
        });
        status = response.statusCode;
        text = await response.body.text();
      } catch (error) {
        failed = (error as Error).message;
      }
      const doneAt = performance.now();
      if (doneAt < measureFrom || doneAt > deadline) continue;
      latencies.push(doneAt - sentAt);
      if (failed !== undefined || status !== 200) {
        errors += 1;
        problem(failed ?? `HTTP ${status}: ${text}`);
        // A refused connection fails at once; do not spin.
        if (failed !== undefined) await sleep(10);
        continue;
      }
      if (text.trimEnd() === request.expected) continue;
      let normal: string | undefined;
      try {
        normal = JSON.stringify(JSON.parse(text));
      } catch {
        normal = undefined;
      }
      if (normal !== request.expectedNormal) {
        mismatches += 1;
        problem(`unexpected body (${text.length} bytes): ${text}`);
      }
    }
  };
  await Promise.all(Array.from({ length: options.connections }, loop));
  await pool.close();

  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    seconds: options.durationSeconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies.at(-1) ?? NaN,
    errors,
    mismatches,
    ...(firstProblem === undefined ? {} : { firstProblem }),
  };
}

if (require.main === module) {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      connections: { type: 'string', default: '50' },
      warmup: { type: 'string', default: '5' },
      duration: { type: 'string', default: '20' },
      workload: { type: 'string' },
    },
  });
  if (values.url === undefined) throw new Error('--url is required');
  // Stop with the benchmark that started it (its IPC channel closes), not at the deadline.
  if (process.send) process.on('disconnect', () => process.exit(1));
  runLoad({
    url: values.url,
    connections: Number(values.connections),
    warmupSeconds: Number(values.warmup),
    durationSeconds: Number(values.duration),
    ...(values.workload === undefined ? {} : { workload: readWorkload(values.workload) }),
  }).then(
    async (result) => {
      if (process.send) await toParent({ type: 'result', result });
      else console.log(JSON.stringify(result));
      process.exit(0);
    },
    async (error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      await toParent({ type: 'error', message });
      console.error(message);
      process.exit(1);
    },
  );
}
