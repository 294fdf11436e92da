/**
 * What the local broker needs of the machine: running a command to completion, telling whether a
 * pid still runs, and reading a file that may not be there.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';

/** The outcome of `run`. */
export interface RunResult {
  /** Exit code; `null` when killed or timed out. */
  code: number | null;
  /** stdout then stderr. */
  output: string;
  /** The command was not found on PATH (ENOENT). */
  missing: boolean;
}

/**
 * Runs a command to completion, folding stderr into the output; never throws.
 * @param timeoutMs - how long before the command is killed; 600_000 (10 minutes) by default
 */
export function run(command: string, args: string[], timeoutMs = 600_000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const output = `${stdout}${stderr}`;
        if (error === null) return resolve({ code: 0, output, missing: false });
        const code = typeof error.code === 'number' ? error.code : null;
        resolve({ code, output, missing: error.code === 'ENOENT' });
      },
    );
  });
}

/** Whether `pid` names a running process, ours or not. */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, it just is not ours.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether `pid` runs and, where /proc can tell, its command line mentions `needle`: pid files
 * outlive container restarts, after which their pids may belong to anything.
 */
export function isLiveProcess(pid: number, needle: string): boolean {
  if (!isAlive(pid)) return false;
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle);
  } catch {
    return true;
  }
}

/** A file's text, or `undefined` when it cannot be read (missing, most often). */
export async function readOrUndefined(file: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}
