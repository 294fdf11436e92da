/**
 * The platform's real entry points as child processes for `bench:pipeline`, as `npm start`
 * (scripts/start.ts) and test/processes.ts run them: each `main.ts` configured by its
 * environment, ready when `/ready` answers 200; and CPU time and RSS of any process by pid, from
 * `/proc/<pid>/stat` and `/proc/<pid>/statm` (Linux).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const REPO_ROOT = path.resolve(__dirname, '../..');

export interface ServiceProcess {
  name: string;
  baseUrl: string;
  child: ChildProcess;
  /** The last lines the process printed, for failure messages. */
  output(): string;
  /** SIGTERM, SIGKILL after 15 s; resolves once it exited. */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (free when asked; the service binds it moments later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Spawns `entry` (e.g. `gateway/main.ts`) with exactly `env` and waits until `/ready` is 200. */
export async function spawnService(
  name: string,
  entry: string,
  port: number,
  env: Record<string, string>,
  readyTimeoutMs = 120_000,
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Keep the tail only: a service at LOG_LEVEL=warn may still print for a long run.
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const stop = async () => {
    if (gone()) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (gone()) {
      throw new Error(`${name} exited (code ${child.exitCode}) before it was ready:\n${output}`);
    }
    const ready = await fetch(`${baseUrl}/ready`).catch(() => undefined);
    if (ready?.status === 200) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${name} was not ready after ${readyTimeoutMs / 1000} s:\n${output}`);
    }
    await sleep(250);
  }
  return { name, baseUrl, child, output: () => output, stop };
}

let ticksPerSecond: number | undefined;

/** USER_HZ: the unit of utime and stime in /proc/<pid>/stat (100 on nearly every Linux). */
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    } catch {
      ticksPerSecond = 100;
    }
    if (!(ticksPerSecond > 0)) ticksPerSecond = 100;
  }
  return ticksPerSecond;
}

export interface ProcessSample {
  /** utime + stime of the process (all its threads), ms; NaN when it is gone. */
  cpuMs: number;
  rssBytes: number;
}

/** CPU time and RSS of process `pid` now. */
export function sampleProcess(pid: number | undefined): ProcessSample {
  if (pid === undefined) return { cpuMs: Number.NaN, rssBytes: Number.NaN };
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const pages = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
    return { cpuMs: ((utime + stime) / clockTicks()) * 1000, rssBytes: pages * 4096 };
  } catch {
    return { cpuMs: Number.NaN, rssBytes: Number.NaN };
  }
}
