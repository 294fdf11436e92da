/** Waiting for a condition that something else makes true, by polling it. */
import { setTimeout as sleep } from 'node:timers/promises';

/** Whether `condition` held before `timeoutMs` passed, asking every `everyMs`. */
async function until(
  condition: () => Promise<boolean>,
  timeoutMs: number,
  everyMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
}

/**
 * Polls `condition` every `everyMs` until it holds; fails naming `what` after `timeoutMs`. An
 * error of `condition` fails it at once.
 * @param everyMs - 100 by default
 */
export async function waitFor(
  what: string | (() => string),
  condition: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 100,
): Promise<void> {
  if (!(await until(condition, timeoutMs, everyMs))) {
    throw new Error(
      `timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`,
    );
  }
}

/**
 * Polls `condition` every `everyMs` until it holds (true) or `timeoutMs` has passed (false); an
 * error of `condition` counts as not yet.
 * @param everyMs - 200 by default
 */
export function poll(
  condition: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 200,
): Promise<boolean> {
  return until(() => condition().catch(() => false), timeoutMs, everyMs);
}
