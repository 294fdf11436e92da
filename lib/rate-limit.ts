/**
 * Rate limits: a token bucket per key (a client address, a connection).
 *
 * A key may spend `burst` requests at once, and earns `perSecond` back over time; a request
 * beyond is refused with the seconds until one is earned again (`Retry-After`). Buckets live in
 * memory, at most `maxKeys` of them (the least recently used go first), so a flood from many
 * addresses cannot grow the process. Each gateway instance limits on its own: behind a load
 * balancer that spreads clients, a client may get up to N times the limit across N instances.
 */
import { LRUCache } from 'lru-cache';
import { countBound } from './cache';
import { clientAddress, sendJson, type Route } from './http-server';

/** A rate: requests earned back per second, and how many may come at once. */
export interface RateLimit {
  /** Requests a key earns back per second (may be fractional: 1/60 is one a minute). */
  perSecond: number;
  /** Requests a key may make at once (the bucket's size). */
  burst: number;
}

/** A {@link RateLimiter}'s limit, memory bound and clock. */
export interface RateLimiterOptions extends RateLimit {
  /** Most keys tracked; beyond, the least recently seen are forgotten. @default 100_000 */
  maxKeys?: number;
  /** The clock, ms. @default Date.now (tests pass their own) */
  now?: () => number;
}

/** The outcome of spending a request: allowed, or refused with the seconds until one is earned. */
export type Taken = { ok: true } | { ok: false; retryAfterSeconds: number };

/** A key's bucket: tokens left, as of `at` (ms). */
export interface Bucket {
  tokens: number;
  at: number;
}

/** A full bucket as of `now`. */
export function fullBucket(limit: RateLimit, now: number): Bucket {
  return { tokens: limit.burst, at: now };
}

/** Refills `bucket` up to `now` and spends one request from it, if it has one. */
export function spend(bucket: Bucket, limit: RateLimit, now: number): Taken {
  bucket.tokens = Math.min(
    limit.burst,
    bucket.tokens + ((now - bucket.at) / 1000) * limit.perSecond,
  );
  bucket.at = now;
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return { ok: true };
  }
  return {
    ok: false,
    retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / limit.perSecond)),
  };
}

/** Checks a limit's numbers; throws a message naming `name` when they make no sense. */
export function checkRateLimit(limit: RateLimit, name = 'A rate limit'): void {
  if (!(limit.perSecond > 0) || !Number.isFinite(limit.perSecond)) {
    throw new Error(`${name} needs perSecond > 0 (got ${limit.perSecond})`);
  }
  if (!Number.isInteger(limit.burst) || limit.burst < 1) {
    throw new Error(`${name} needs a whole burst >= 1 (got ${limit.burst})`);
  }
}

/** Token buckets by key (a client address), the least recently seen forgotten beyond `maxKeys`. */
export class RateLimiter {
  readonly perSecond: number;
  readonly burst: number;
  private readonly now: () => number;
  private readonly buckets: LRUCache<string, Bucket>;

  constructor(options: RateLimiterOptions) {
    checkRateLimit(options);
    this.perSecond = options.perSecond;
    this.burst = options.burst;
    this.now = options.now ?? Date.now;
    this.buckets = new LRUCache(countBound(options.maxKeys ?? 100_000));
  }

  /** Keys tracked now. */
  get size(): number {
    return this.buckets.size;
  }

  /** Spends one request of `key`, or says how long until it may make one. */
  take(key: string): Taken {
    const now = this.now();
    let bucket = this.buckets.get(key); // makes it the most recently seen
    if (!bucket) {
      bucket = fullBucket(this, now);
      this.buckets.set(key, bucket);
    }
    return spend(bucket, this, now);
  }

  /** Forgets `key` (a connection that closed). */
  forget(key: string): void {
    this.buckets.delete(key);
  }
}

/** How a limit reads in a message: "30 a minute", "5 a second". */
export function describeRate(limit: RateLimit): string {
  return limit.perSecond >= 1
    ? `${limit.perSecond} a second (bursts of ${limit.burst})`
    : `${Math.round(limit.perSecond * 60)} a minute (bursts of ${limit.burst})`;
}

/** How {@link limitRoutes} limits and what it answers beyond. */
export interface LimitedRoutesOptions {
  limit: RateLimit;
  /**
   * The `error` of the 429 body, `{ "error": errorCode, "message": ... }`: the caller's code for
   * "rate limited" (the gateway's is `RATE_LIMITED` of contracts/errors.ts).
   */
  errorCode: string;
  /** Load balancers whose `X-Forwarded-For` names the client. @default none */
  trustedProxies?: readonly string[];
  /** For tests. */
  now?: () => number;
}

/**
 * `routes` with one rate limit per client address shared by all of them: a client over it gets
 * 429 with `Retry-After` and a JSON body that says which limit, and the route does not run.
 */
export function limitRoutes(
  routes: Record<string, Route>,
  options: LimitedRoutesOptions,
): Record<string, Route> {
  const limiter = new RateLimiter({
    ...options.limit,
    ...(options.now ? { now: options.now } : {}),
  });
  const limited: Record<string, Route> = {};
  for (const [path, route] of Object.entries(routes)) {
    limited[path] = (req, res) => {
      const client = clientAddress(req, options.trustedProxies);
      const taken = limiter.take(client);
      if (taken.ok) return route(req, res);
      sendJson(
        res,
        429,
        {
          error: options.errorCode,
          message: `Too many requests from ${client} to ${path}: at most ${describeRate(options.limit)}; retry after ${taken.retryAfterSeconds} s`,
        },
        { 'retry-after': String(taken.retryAfterSeconds) },
      );
    };
  }
  return limited;
}
