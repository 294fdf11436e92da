/**
 * The platform's one exponential backoff: the wait before retry `attempt` doubles from
 * `initialMs` up to `maxMs`, and jitter spreads it so that replicas which failed together (a
 * broker or a mail server went away under all of them) do not retry together too.
 *
 * Pure but for the default random source: pass `random` for a reproducible delay.
 */

/**
 * How much of the exponential ceiling `c` is randomised:
 * - `full`: anywhere in `[0, c]`, the widest spread, for many clients contending for one resource;
 * - `equal`: in `[c / 2, c]`, so a retry never comes right after the failure;
 * - `none`: exactly `c`.
 */
export type Jitter = 'full' | 'equal' | 'none';

/** The shape of a backoff. */
export interface BackoffOptions {
  /** The ceiling of the first retry's delay, in ms. */
  initialMs: number;
  /** The most any delay can be, in ms. */
  maxMs: number;
  /** @default 'full' */
  jitter?: Jitter;
  /** A number in `[0, 1)`, as `Math.random` returns. @default Math.random */
  random?: () => number;
}

/**
 * Beyond this many doublings the ceiling is `maxMs` for any sensible `initialMs`; stopping here
 * keeps `2 ** n` finite however long a dependency stays down.
 */
const MAX_DOUBLINGS = 52;

/**
 * The delay before retry `attempt` (1 for the first retry), in whole ms: the ceiling
 * `min(maxMs, initialMs * 2 ** (attempt - 1))`, jittered as `options.jitter` says.
 * @throws {RangeError} when `attempt` is not an integer from 1, or a duration is negative.
 */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const { initialMs, maxMs, jitter = 'full', random = Math.random } = options;
  if (!Number.isInteger(attempt) || attempt < 1) {
    throw new RangeError(`backoff attempt must be an integer from 1, not ${attempt}`);
  }
  if (!(initialMs >= 0) || !(maxMs >= 0)) {
    throw new RangeError(`backoff durations must not be negative (${initialMs}, ${maxMs})`);
  }
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt - 1, MAX_DOUBLINGS));
  switch (jitter) {
    case 'none':
      return Math.round(ceiling);
    case 'equal':
      return Math.round(ceiling / 2 + (random() * ceiling) / 2);
    case 'full':
      return Math.round(random() * ceiling);
  }
}
