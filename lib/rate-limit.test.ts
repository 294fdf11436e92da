/** The token buckets of lib/rate-limit.ts, on a clock the test moves. */
import { describeRate, RateLimiter } from './rate-limit';

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('RateLimiter', () => {
  it('allows a burst, refuses beyond with the seconds until the next request, and refills', () => {
    const time = clock();
    const limiter = new RateLimiter({ perSecond: 0.5, burst: 3, now: time.now });
    expect([1, 2, 3].map(() => limiter.take('a').ok)).toEqual([true, true, true]);
    expect(limiter.take('a')).toEqual({ ok: false, retryAfterSeconds: 2 });
    time.advance(1_000);
    expect(limiter.take('a')).toEqual({ ok: false, retryAfterSeconds: 1 });
    time.advance(1_000);
    expect(limiter.take('a')).toEqual({ ok: true });
    expect(limiter.take('a').ok).toBe(false);
    // Idle long enough, the bucket is full again, never fuller.
    time.advance(60_000);
    expect([1, 2, 3, 4].map(() => limiter.take('a').ok)).toEqual([true, true, true, false]);
  });

  it('counts each key on its own', () => {
    const time = clock();
    const limiter = new RateLimiter({ perSecond: 1, burst: 1, now: time.now });
    expect(limiter.take('a').ok).toBe(true);
    expect(limiter.take('a').ok).toBe(false);
    expect(limiter.take('b').ok).toBe(true);
  });

  it('keeps at most maxKeys buckets, forgetting the least recently seen', () => {
    const time = clock();
    const limiter = new RateLimiter({ perSecond: 1, burst: 1, maxKeys: 2, now: time.now });
    limiter.take('a');
    limiter.take('b');
    limiter.take('a'); // a is now the most recently seen
    limiter.take('c'); // evicts b
    expect(limiter.size).toBe(2);
    expect(limiter.take('a').ok).toBe(false); // still tracked, still empty
    expect(limiter.take('b').ok).toBe(true); // forgotten: a full bucket again
  });

  it('refuses limits that make no sense, saying which number is wrong', () => {
    expect(() => new RateLimiter({ perSecond: 0, burst: 1 })).toThrow(/perSecond > 0 \(got 0\)/);
    expect(() => new RateLimiter({ perSecond: 1, burst: 0.5 })).toThrow(/burst >= 1 \(got 0.5\)/);
  });

  it('describes a limit per minute or per second', () => {
    expect(describeRate({ perSecond: 5, burst: 100 })).toBe('5 a second (bursts of 100)');
    expect(describeRate({ perSecond: 0.5, burst: 3 })).toBe('30 a minute (bursts of 3)');
  });
});
