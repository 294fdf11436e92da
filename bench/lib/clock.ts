/**
 * The benches' two clocks: a monotonic one for durations inside one process, and the wall clock
 * with sub-millisecond resolution for times compared across processes.
 */

/** Monotonic time, ns (`process.hrtime.bigint()`): for durations within this process. */
export function nowNs(): bigint {
  return process.hrtime.bigint();
}

/** Milliseconds from `start` to `end`, both taken with `nowNs`; `end` is now by default. */
export function msSince(start: bigint, end: bigint = nowNs()): number {
  return Number(end - start) / 1e6;
}

/** Wall-clock time in ms with sub-millisecond resolution, comparable across processes. */
export function wallClock(): number {
  return performance.timeOrigin + performance.now();
}
