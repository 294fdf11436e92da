/**
 * The compiled platform (`npm run build` into dist/) for tests and benchmarks: builds it once per
 * process, and spawns an entry point with plain `node`, optionally with a preload that reports
 * what the process loaded and its memory (`probe`).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../lib/project-root';

export const DIST = path.join(PROJECT_ROOT, 'dist');

let built: Promise<void> | undefined;

/**
 * Runs `npm run build` (incremental tsc, a few seconds when nothing changed), once per process.
 * @throws with the compiler's output when the build fails.
 */
export function buildOnce(): Promise<void> {
  built ??= promisify(execFile)('npm', ['run', '--silent', 'build'], {
    cwd: PROJECT_ROOT,
    maxBuffer: 16 * 1024 * 1024,
  }).then(
    () => undefined,
    (error: Error & { stdout?: string; stderr?: string }) => {
      throw new Error(`npm run build failed: ${error.message}\n${error.stdout}${error.stderr}`);
    },
  );
  return built;
}

/** What the probe preload reports about the process it ran in. */
export interface ProbeReport {
  /** Every module file loaded (require.cache, CommonJS and ESM loaded by require). */
  modules: string[];
  memory: NodeJS.MemoryUsage;
}

/**
 * A CommonJS preload (`node -r <file>`) writing a ProbeReport to `$MODULE_PROBE_OUT` on SIGUSR2
 * and when the process exits, atomically (a rename). Kept free of dependencies so it changes nothing it measures.
 */
const PROBE_SOURCE = `'use strict';
const fs = require('node:fs');
const out = process.env.MODULE_PROBE_OUT;
const report = () => {
  try {
    // Written aside, then renamed: a reader waiting for the file never sees half of it.
    fs.writeFileSync(out + '.tmp', JSON.stringify({ modules: Object.keys(require.cache), memory: process.memoryUsage() }));
    fs.renameSync(out + '.tmp', out);
  } catch {}
};
process.on('SIGUSR2', report);
process.on('exit', report);
`;

export interface SpawnedProcess {
  child: ChildProcess;
  /** What it printed so far. */
  output(): string;
  /** The probe's report: asks the process for a fresh one first when it still runs. */
  probe(): Promise<ProbeReport>;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

export interface SpawnOptions {
  /** Arguments to node: flags, then the entry point (e.g. `dist/gateway/main.js`). */
  args: string[];
  env: Record<string, string>;
  /** Preload the module probe. @default false */
  probe?: boolean;
}

/** Spawns node in the project root with only `env` (and PATH) as its environment. */
export function spawnNode(options: SpawnOptions): SpawnedProcess {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ig-probe-'));
  const preload = path.join(dir, 'probe.cjs');
  const reportFile = path.join(dir, 'report.json');
  fs.writeFileSync(preload, PROBE_SOURCE);
  const child = spawn(
    process.execPath,
    [...(options.probe ? ['-r', preload] : []), ...options.args],
    {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH ?? '', MODULE_PROBE_OUT: reportFile, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const running = () => child.exitCode === null && child.signalCode === null;
  const readReport = () => JSON.parse(fs.readFileSync(reportFile, 'utf8')) as ProbeReport;
  return {
    child,
    output: () => output,
    async probe() {
      if (!options.probe) throw new Error('spawned without the probe');
      if (running()) {
        fs.rmSync(reportFile, { force: true });
        child.kill('SIGUSR2');
        const deadline = Date.now() + 5_000;
        while (!fs.existsSync(reportFile) && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      return readReport();
    },
    async stop() {
      if (running()) child.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `GET url` until it answers 200; fails with the process's output after `timeoutMs`. */
export async function waitForOk(
  process: SpawnedProcess,
  url: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (process.child.exitCode !== null) {
      throw new Error(
        `exited with ${process.child.exitCode} before ${url} answered:\n${process.output()}`,
      );
    }
    const response = await fetch(url).catch(() => undefined);
    if (response?.status === 200) return;
    if (Date.now() > deadline) {
      throw new Error(`${url} did not answer 200 in ${timeoutMs} ms:\n${process.output()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
