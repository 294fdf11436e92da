/**
 * The platform's real entry points as child processes for `bench:pipeline` (test/processes.ts
 * starts them, as the tests do), and CPU time and RSS of any process by pid, from
 * `/proc/<pid>/stat` and `/proc/<pid>/statm` (Linux).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export { freePort } from '../../test/helpers';
export { spawnService, type ServiceProcess } from '../../test/processes';

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
