/**
 * Load generator of the gateway benchmark, in its own process:
 *
 *   node --import tsx bench/gateways-benchmark/load.ts --url URL [--connections 50]
 *     [--warmup 5] [--duration 20]
 *
 * `--connections` closed loops (one request in flight per connection, keep-alive, no pipelining)
 * send the benchmark's query for `--warmup` + `--duration` seconds; only responses completed in
 * the `--duration` window count. Every response is checked against expected-response.json: the
 * body must equal it byte for byte, or after JSON parse and re-serialisation (so a trailing
 * newline does not matter but key order does). Sends `{ type: 'result' }` to the parent (or
 * prints it) and exits. Requests are bounded: each loop stops at the deadline.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { toParent, type LoadResult } from './processes';
import { BENCHMARK_DIR } from './subgraphs';

export interface LoadOptions {
  url: string;
  connections: number;
  warmupSeconds: number;
  durationSeconds: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? NaN;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const query = readFileSync(join(BENCHMARK_DIR, 'query.graphql'), 'utf8');
  const expectedRaw = readFileSync(join(BENCHMARK_DIR, 'expected-response.json'), 'utf8');
  const expected = expectedRaw.trimEnd();
  const expectedNormal = JSON.stringify(JSON.parse(expectedRaw));
  const body = JSON.stringify({ query, operationName: 'TestQuery' });
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
      const sentAt = performance.now();
      let status = 0;
      let text = '';
      let failed: string | undefined;
      try {
        const response = await pool.request({
          path: url.pathname + url.search,
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body,
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
      if (text.trimEnd() === expected) continue;
      let normal: string | undefined;
      try {
        normal = JSON.stringify(JSON.parse(text));
      } catch {
        normal = undefined;
      }
      if (normal !== expectedNormal) {
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
    },
  });
  if (values.url === undefined) throw new Error('--url is required');
  runLoad({
    url: values.url,
    connections: Number(values.connections),
    warmupSeconds: Number(values.warmup),
    durationSeconds: Number(values.duration),
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
