/**
 * Starts the broker's JVM so that it never outlives the node process that started it, even one
 * killed by SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';

/** How long `stop()` and the watchdog wait after SIGTERM before SIGKILL. */
export const STOP_GRACE_MS = 20_000;

/**
 * Runs `command` in place of a small `sh` that first forks a watchdog reading the stdin pipe from
 * this process. When that pipe closes (this node process exited, even by SIGKILL), the watchdog
 * sends SIGTERM, then SIGKILL after 20 s. Because `sh` then `exec`s the command, the child's pid is
 * the java pid, and signals from `stop()` reach java directly. `$$` in the watchdog subshell is the
 * pid of that shell, i.e. java's after the exec.
 *
 * The child gets its own process group (detached), so a terminal's Ctrl+C reaches only node,
 * which then stops the broker in order instead of racing it. Its stdout and stderr are appended
 * to `logFile`.
 */
export function spawnWithWatchdog(command: string, args: string[], logFile: string): ChildProcess {
  const script = [
    // Background lists get /dev/null as stdin in a non-interactive sh: keep the pipe on fd 3.
    'exec 3<&0 0</dev/null',
    '{',
    '  while read -r _ <&3; do :; done',
    '  kill -TERM $$ 2>/dev/null || exit 0',
    '  i=0',
    '  while kill -0 $$ 2>/dev/null; do',
    `    if [ "$i" -ge ${STOP_GRACE_MS / 1000} ]; then kill -KILL $$ 2>/dev/null; exit 0; fi`,
    '    sleep 1; i=$((i + 1))',
    '  done',
    '} &',
    'exec "$@" 3<&-',
  ].join('\n');
  const out = fs.openSync(logFile, 'a');
  try {
    return spawn('sh', ['-c', script, 'local-kafka-watchdog', command, ...args], {
      stdio: ['pipe', out, out],
      detached: true,
    });
  } finally {
    // The child holds its own copy of the descriptor.
    fs.closeSync(out);
  }
}
