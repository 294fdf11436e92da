/**
 * The fix to kafkajs's request queue (kafkajs-fixes.ts), on kafkajs's own class: a queue with
 * nothing pending schedules nothing, and one with pending requests still checks them.
 */
import { RequestQueue, type RequestQueueInternals } from './kafkajs-fixes';

const quiet = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

function queue(): RequestQueueInternals & { destroy(): void } {
  return new RequestQueue({
    maxInFlightRequests: 1,
    requestTimeout: 30_000,
    enforceRequestTimeout: false,
    clientId: 'test',
    broker: '127.0.0.1:9092',
    logger: quiet,
  }) as RequestQueueInternals & { destroy(): void };
}

/** Counts the queue's checks; `before` runs ahead of each. */
function countChecks(q: RequestQueueInternals, before: () => void = () => undefined) {
  const counted = { count: 0 };
  const check = q.checkPendingRequests.bind(q);
  q.checkPendingRequests = () => {
    counted.count++;
    before();
    check();
  };
  return counted;
}

describe('kafkajs RequestQueue, fixed', () => {
  const open: { destroy(): void }[] = [];
  afterEach(() => {
    for (const q of open.splice(0)) q.destroy();
  });

  it('schedules no check when nothing is pending and nothing throttles (no 1 ms loop)', () => {
    const q = queue();
    open.push(q);
    q.scheduleCheckPendingRequests();
    expect(q.throttleCheckTimeoutId).toBeNull();
    // kafkajs runs a check after every response; it must not re-arm itself either.
    q.checkPendingRequests();
    expect(q.throttleCheckTimeoutId).toBeNull();
  });

  it('checks pending requests again after the 10 ms interval, once the throttle is over', async () => {
    const q = queue();
    open.push(q);
    // As if the pending request went out at the check.
    const checks = countChecks(q, () => (q.pending.length = 0));
    q.pending.push({});
    q.scheduleCheckPendingRequests();
    expect(q.throttleCheckTimeoutId).not.toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(checks.count).toBe(1);
    expect(q.throttleCheckTimeoutId).toBeNull();
  });

  it('checks when a client-side throttle ends, even with nothing pending yet', async () => {
    const q = queue();
    open.push(q);
    const checks = countChecks(q);
    q.throttledUntil = Date.now() + 20;
    q.scheduleCheckPendingRequests();
    expect(q.throttleCheckTimeoutId).not.toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(checks.count).toBe(1);
    expect(q.throttleCheckTimeoutId).toBeNull();
  });
});
