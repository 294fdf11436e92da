/**
 * What processes use: CPU time and RSS of any process by pid (from /proc, Linux), this process's
 * own, and a sampler that reads them at an interval over a measured window.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

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

/** CPU time and RSS of a process at one moment, as `sampleProcess` reads them. */
export interface ProcessSample {
  /** utime + stime of the process (all its threads), ms; NaN when it is gone. */
  cpuMs: number;
  rssBytes: number;
}

/** CPU time and RSS of process `pid` now, from `/proc/<pid>/stat` and `/proc/<pid>/statm`. */
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

/** VmRSS of a running process in MB (MiB), from `/proc/<pid>/status`; undefined elsewhere. */
export function vmRssMb(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

/** This process's RSS and CPU time (user + system, µs) now: what a child answers `stats` with. */
export function ownUsage(): { rssBytes: number; cpuMicros: number } {
  const cpu = process.cpuUsage();
  return { rssBytes: process.memoryUsage.rss(), cpuMicros: cpu.user + cpu.system };
}

/** CPU time (user + system) this process has used since `start` (`process.cpuUsage()`), ms. */
export function cpuMsSince(start: NodeJS.CpuUsage): number {
  const cpu = process.cpuUsage(start);
  return (cpu.user + cpu.system) / 1000;
}

/** A running `sampleEvery`. */
export interface Sampler {
  /** Ends the sampling; resolves once the sample under way (if any) is done. */
  stop(): Promise<void>;
}

/**
 * Calls `sample` every `intervalMs` (after `delayMs`, if given) until `stop()`: for the peak RSS
 * of a measured window, say. A sample that throws ends the sampling quietly; what was read
 * until then stands.
 */
export function sampleEvery(
  intervalMs: number,
  sample: () => Promise<void> | void,
  options: { delayMs?: number } = {},
): Sampler {
  let sampling = true;
  const loop = (async () => {
    if (options.delayMs !== undefined) await sleep(options.delayMs);
    while (sampling) {
      await sample();
      await sleep(intervalMs);
    }
  })().catch(() => undefined);
  return {
    async stop() {
      sampling = false;
      await loop;
    },
  };
}
