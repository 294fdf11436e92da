import { createLogger } from './logger';
import { createWorkLoop, type WorkLoop, type WorkLoopOptions } from './work-loop';

/** Resolves once `condition` holds, polling every millisecond; fails after a second. */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 1000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition never held');
    await new Promise((r) => setTimeout(r, 1));
  }
}

/**
 * A loop of `round` that polls only every minute, so within a test only `notify()`, a round
 * that found more or a failure explain a further round. Backoff at most a second unless given.
 */
const loopOf = (round: WorkLoopOptions['round'], options: Partial<WorkLoopOptions> = {}) =>
  createWorkLoop({ round, pollIntervalMs: 60_000, maxBackoffMs: 1000, ...options });

/**
 * Starts `loop`, runs `body`, and stops the loop even when `body` failed; `unblock` runs first,
 * to let go of a round the test holds, so that stopping cannot wait on it.
 */
async function whileRunning(
  loop: WorkLoop,
  body: () => Promise<void>,
  unblock: () => void = () => undefined,
): Promise<void> {
  loop.start();
  try {
    await body();
  } finally {
    unblock();
    await loop.stop();
  }
}

/** A round that fails `failures` times (the transport is down), then finds nothing to do. */
function failingRound(failures: number): { round: () => Promise<boolean>; rounds(): number } {
  let rounds = 0;
  return {
    round: async () => {
      rounds++;
      if (failures-- > 0) throw new Error('transport down');
      return false;
    },
    rounds: () => rounds,
  };
}

describe('the work loop', () => {
  it('runs rounds back to back while there is more, then sleeps until notified', async () => {
    let rounds = 0;
    let more = 3;
    const loop = loopOf(async () => {
      rounds++;
      return more-- > 0;
    });
    await whileRunning(loop, async () => {
      // Three rounds that found more, one that found nothing.
      await until(() => rounds === 4);
      loop.notify();
      await until(() => rounds === 5);
      expect(loop.ready()).toBe(true);
    });
    expect(loop.ready()).toBe(false);
    expect(rounds).toBe(5);
  });

  it('keeps a notification that arrives during a round', async () => {
    let rounds = 0;
    let release: () => void = () => undefined;
    const loop = loopOf(
      () =>
        new Promise<boolean>((resolve) => {
          rounds++;
          release = () => resolve(false);
        }),
    );
    await whileRunning(
      loop,
      async () => {
        await until(() => rounds === 1);
        loop.notify();
        release();
        await until(() => rounds === 2);
      },
      () => release(),
    );
  });

  it('is not ready while rounds fail, retries with backoff, and recovers', async () => {
    const { round, rounds } = failingRound(2);
    const loop = loopOf(round, { maxBackoffMs: 5 });
    await whileRunning(loop, async () => {
      await until(() => rounds() >= 1 && !loop.ready());
      await until(() => rounds() === 3 && loop.ready());
    });
  });

  it('waits longer after each failed round, up to maxBackoffMs, never less than half the wait', async () => {
    const { round, rounds } = failingRound(2);
    const waits: number[] = [];
    const loop = loopOf(round, {
      maxBackoffMs: 250,
      logger: createLogger('warn', {}, (line) => {
        const { retryInMs } = JSON.parse(line) as { retryInMs?: number };
        if (retryInMs !== undefined) waits.push(retryInMs);
      }),
    });
    await whileRunning(loop, () => until(() => rounds() === 3 && loop.ready()));
    // Ceilings 200 ms, then 400 ms capped at 250 ms; equal jitter keeps each in its upper half.
    expect(waits).toHaveLength(2);
    expect(waits[0]).toBeGreaterThanOrEqual(100);
    expect(waits[0]).toBeLessThanOrEqual(200);
    expect(waits[1]).toBeGreaterThanOrEqual(125);
    expect(waits[1]).toBeLessThanOrEqual(250);
  });

  it('refuses a negative maxBackoffMs when created, not at the first failure', () => {
    expect(() =>
      createWorkLoop({ round: async () => false, pollIntervalMs: 10, maxBackoffMs: -1 }),
    ).toThrow(RangeError);
  });
});

describe('stopping the work loop', () => {
  it('does not sleep after a round that was running when stop() was called', async () => {
    let release: () => void = () => undefined;
    let started = false;
    const loop = loopOf(
      () =>
        new Promise<boolean>((resolve) => {
          started = true;
          release = () => resolve(false);
        }),
      { maxBackoffMs: 60_000 },
    );
    loop.start();
    await until(() => started);
    const stopped = loop.stop();
    release();
    const began = Date.now();
    await stopped;
    expect(Date.now() - began).toBeLessThan(1000);
  });
});
