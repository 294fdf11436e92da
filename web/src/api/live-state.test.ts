import { describe, expect, it } from '@jest/globals';
import { CLOSE_UNAUTHORIZED, LiveState, readMeta } from './live-state';

const ext = (eventId: string, cursor: string) => ({ eventId, cursor });

/** A state whose delays are the backoff ceiling itself (no jitter: random() = 1). */
const state = () => new LiveState({ baseDelayMs: 1_000, maxDelayMs: 8_000, random: () => 1 });

describe('readMeta', () => {
  it('reads eventId, cursor and dropped, ignoring the wrong types', () => {
    expect(readMeta({ eventId: 'e1', cursor: 'c1', dropped: 2 })).toEqual({
      eventId: 'e1',
      cursor: 'c1',
      dropped: 2,
    });
    expect(readMeta({ eventId: 1, cursor: null, dropped: 'x' })).toEqual({
      eventId: undefined,
      cursor: undefined,
      dropped: 0,
    });
    expect(readMeta(undefined)).toEqual({ eventId: undefined, cursor: undefined, dropped: 0 });
  });
});

describe('LiveState', () => {
  it('goes connecting -> live -> reconnecting -> live', () => {
    const live = state();
    expect(live.status).toBe('connecting');
    const first = live.begin();
    expect(live.status).toBe('connecting');
    live.connected(first.attempt);
    expect(live.status).toBe('live');
    live.lost(first.attempt, 1006);
    expect(live.status).toBe('reconnecting');
    const second = live.begin();
    expect(live.status).toBe('reconnecting');
    live.connected(second.attempt);
    expect(live.status).toBe('live');
  });

  it('stays connecting while the first connection keeps failing', () => {
    const live = state();
    live.lost(live.begin().attempt, 1006);
    live.lost(live.begin().attempt, 1006);
    expect(live.status).toBe('connecting');
  });

  it('subscribes first without a cursor, then resumes from the last cursor received', () => {
    const live = state();
    const first = live.begin();
    expect(first.extensions).toBeUndefined();
    live.connected(first.attempt);
    live.result(first.attempt, ext('e1', 'c1'));
    live.result(first.attempt, ext('e2', 'c2'));
    live.lost(first.attempt, 1012);
    const second = live.begin();
    expect(second.extensions).toEqual({ cursor: 'c2' });
    expect(live.lastCursor).toBe('c2');
  });

  it('delivers each event once: a replay overlapping what arrived is dropped', () => {
    const live = state();
    const first = live.begin();
    expect(live.result(first.attempt, ext('e1', 'c1'))?.eventId).toBe('e1');
    expect(live.result(first.attempt, ext('e2', 'c2'))?.eventId).toBe('e2');
    live.lost(first.attempt, 1006);
    const second = live.begin();
    expect(live.result(second.attempt, ext('e2', 'c2'))).toBeUndefined();
    expect(live.result(second.attempt, ext('e3', 'c3'))?.eventId).toBe('e3');
    // A duplicate does not move the cursor back.
    expect(live.lastCursor).toBe('c3');
  });

  it('ignores what a superseded or lost attempt reports', () => {
    const live = state();
    const first = live.begin();
    live.connected(first.attempt);
    expect(live.lost(first.attempt, 1006)).toBeDefined();
    // graphql-ws reports the same close again, as the sink's error.
    expect(live.lost(first.attempt)).toBeUndefined();
    expect(live.result(first.attempt, ext('late', 'c9'))).toBeUndefined();
    const second = live.begin();
    live.connected(first.attempt);
    expect(live.status).toBe('reconnecting');
    expect(live.lost(first.attempt, 1006)).toBeUndefined();
    live.connected(second.attempt);
    expect(live.status).toBe('live');
  });

  it('takes a result as proof of being live', () => {
    const live = state();
    const first = live.begin();
    live.result(first.attempt, ext('e1', 'c1'));
    expect(live.status).toBe('live');
  });

  it('backs off exponentially up to the maximum, and starts over once live', () => {
    const live = state();
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) delays.push(live.lost(live.begin().attempt, 1006)?.delayMs ?? -1);
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
    const attempt = live.begin().attempt;
    live.connected(attempt);
    expect(live.lost(attempt, 1006)?.delayMs).toBe(1_000);
  });

  it('adds jitter within the lower half of the delay', () => {
    const live = new LiveState({ baseDelayMs: 1_000, random: () => 0 });
    expect(live.lost(live.begin().attempt, 1006)?.delayMs).toBe(500);
  });

  it('refreshes the session on a 4401 close once until the next live connection', () => {
    const live = state();
    const first = live.begin();
    live.connected(first.attempt);
    expect(live.lost(first.attempt, CLOSE_UNAUTHORIZED)?.refresh).toBe(true);
    // Refreshed, yet refused again before acknowledging: do not refresh in a loop.
    expect(live.lost(live.begin().attempt, CLOSE_UNAUTHORIZED)?.refresh).toBe(false);
    expect(live.lost(live.begin().attempt, 1006)?.refresh).toBe(false);
    const again = live.begin();
    live.connected(again.attempt);
    expect(live.lost(again.attempt, CLOSE_UNAUTHORIZED)?.refresh).toBe(true);
  });

  it('subscribes without a cursor after the gateway refused it', () => {
    const live = state();
    const first = live.begin();
    live.result(first.attempt, ext('e1', 'c1'));
    live.lost(first.attempt);
    live.forgetCursor();
    expect(live.begin().extensions).toBeUndefined();
  });

  it('forgets the oldest event ids beyond its memory', () => {
    const live = new LiveState({ remember: 2 });
    const { attempt } = live.begin();
    live.result(attempt, ext('e1', 'c1'));
    live.result(attempt, ext('e2', 'c2'));
    live.result(attempt, ext('e3', 'c3'));
    expect(live.result(attempt, ext('e3', 'c3'))).toBeUndefined();
    expect(live.result(attempt, ext('e1', 'c1'))).toBeDefined();
  });
});
