/**
 * Open-loop pacing: calls made at a rate, each at its time, whether or not the earlier ones have
 * finished, so a slow system under test shows up as latency instead of slowing the load down.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { msSince, nowNs, wallClock } from './clock';

/** What `pace` paces. */
export interface PaceOptions {
  /** Calls of `issue` in all. */
  count: number;
  /** Calls per second. */
  rate: number;
  /** Makes call `index` (0-based). Not awaited: what it starts runs on while the schedule goes on. */
  issue(index: number): void;
  /**
   * Whether another call may be made now (room in a bounded window, say); while it says no, the
   * calls due wait for the next tick. A throw from it ends `pace` with that error.
   * @default always yes
   */
  ready?(): boolean;
}

/**
 * Makes `count` calls at `rate` per second. Each tick makes every call that has fallen due (more
 * than one when the event loop was late), then sleeps until the next one is due.
 * @returns `behindMs`: the furthest the calls fell behind their schedule, ms.
 */
export async function pace(options: PaceOptions): Promise<{ behindMs: number }> {
  const { count, rate, issue, ready = () => true } = options;
  let behindMs = 0;
  const t0 = nowNs();
  let issued = 0;
  while (issued < count) {
    const elapsedMs = msSince(t0);
    const due = Math.min(count, Math.floor((elapsedMs * rate) / 1000) + 1);
    if (due - issued > 1) behindMs = Math.max(behindMs, elapsedMs - (issued * 1000) / rate);
    while (issued < due && ready()) {
      issue(issued);
      issued++;
    }
    await sleep(Math.max(0, (issued * 1000) / rate - msSince(t0)));
  }
  return { behindMs };
}

/**
 * Resolves at `at` on the wall clock (`wallClock`, ms), or at once when that has passed: call `k`
 * of a schedule is made at `sleepUntil(first + k * interval)`, late or not.
 */
export async function sleepUntil(at: number): Promise<void> {
  const wait = at - wallClock();
  if (wait > 0) await sleep(wait);
}
