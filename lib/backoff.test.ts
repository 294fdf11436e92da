/** The backoff of lib/backoff.ts, on a random source the test chooses. */
import { backoffDelay, type BackoffOptions } from './backoff';

/** A random source that returns `values` in turn, then fails: each call is accounted for. */
function sequence(...values: number[]): () => number {
  return () => {
    const next = values.shift();
    if (next === undefined) throw new Error('random called more often than expected');
    return next;
  };
}

const ceilings = (options: BackoffOptions, attempts: number) =>
  Array.from({ length: attempts }, (_, i) => backoffDelay(i + 1, { ...options, jitter: 'none' }));

describe('backoffDelay', () => {
  it('doubles from initialMs each attempt and stops at maxMs', () => {
    expect(ceilings({ initialMs: 200, maxMs: 10_000 }, 8)).toEqual([
      200, 400, 800, 1_600, 3_200, 6_400, 10_000, 10_000,
    ]);
  });

  it('stays finite and at maxMs however many attempts failed', () => {
    expect(backoffDelay(5_000, { initialMs: 100, maxMs: 30_000, jitter: 'none' })).toBe(30_000);
    expect(backoffDelay(5_000, { initialMs: 0, maxMs: 30_000, jitter: 'none' })).toBe(0);
  });

  it('full jitter: anywhere from 0 to the ceiling', () => {
    const options = { initialMs: 200, maxMs: 10_000, jitter: 'full' } as const;
    expect(backoffDelay(3, { ...options, random: sequence(0) })).toBe(0);
    expect(backoffDelay(3, { ...options, random: sequence(0.25) })).toBe(200);
    expect(backoffDelay(3, { ...options, random: sequence(0.999_999) })).toBe(800);
    // The cap applies before the jitter, so a capped delay is spread as widely.
    expect(backoffDelay(20, { ...options, random: sequence(0.5) })).toBe(5_000);
  });

  it('equal jitter: from half the ceiling to the ceiling, never right away', () => {
    const options = { initialMs: 200, maxMs: 10_000, jitter: 'equal' } as const;
    expect(backoffDelay(1, { ...options, random: sequence(0) })).toBe(100);
    expect(backoffDelay(1, { ...options, random: sequence(0.5) })).toBe(150);
    expect(backoffDelay(3, { ...options, random: sequence(0.999_999) })).toBe(800);
    expect(backoffDelay(20, { ...options, random: sequence(0) })).toBe(5_000);
  });

  it('jitters fully by default, from Math.random when no source is given', () => {
    expect(backoffDelay(2, { initialMs: 100, maxMs: 1_000, random: sequence(0.1) })).toBe(20);
    for (let i = 0; i < 100; i++) {
      const delay = backoffDelay(4, { initialMs: 100, maxMs: 1_000 });
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(800);
    }
  });

  it('does not call the random source without jitter', () => {
    expect(
      backoffDelay(2, { initialMs: 100, maxMs: 1_000, jitter: 'none', random: sequence() }),
    ).toBe(200);
  });

  it('refuses an attempt below 1 or a negative duration', () => {
    const options = { initialMs: 100, maxMs: 1_000 };
    expect(() => backoffDelay(0, options)).toThrow(RangeError);
    expect(() => backoffDelay(1.5, options)).toThrow(RangeError);
    expect(() => backoffDelay(1, { initialMs: -1, maxMs: 1_000 })).toThrow(RangeError);
    expect(() => backoffDelay(1, { initialMs: 100, maxMs: Number.NaN })).toThrow(RangeError);
  });
});
