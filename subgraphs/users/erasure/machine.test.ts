import type { ErasureStep } from '../../../events/catalog/erasure';
import { DEFAULT_ERASURE_TIMING, FORWARD_STEPS, PIVOT_INDEX } from './definition';
import { decide, initialState, retryDelay, type SagaInput, type SagaState } from './machine';

const timing = { ...DEFAULT_ERASURE_TIMING, stepTimeoutMs: 1_000, retryBaseMs: 100, alertEvery: 3 };
const t0 = new Date('2030-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(t0.getTime() + ms);

/** Feeds inputs in order at `t0`, returning the last state and every effect. */
function run(inputs: SagaInput[], state: SagaState = initialState(), now = t0) {
  const effects = [];
  for (const input of inputs) {
    const d = decide(state, input, now, timing);
    state = d.state;
    effects.push(...d.effects);
  }
  return { state, effects };
}

const ok = (step: ErasureStep, attempt = 1): SagaInput => ({
  type: 'step_completed',
  step,
  attempt,
});
const fail = (step: ErasureStep, attempt = 1, retryable = false): SagaInput => ({
  type: 'step_failed',
  step,
  attempt,
  reason: 'boom',
  retryable,
});
const forward = FORWARD_STEPS.map((s) => s.name);

describe('erasure saga definition', () => {
  it('has its pivot after the reversible steps, each of which has a compensation', () => {
    expect(forward[PIVOT_INDEX]).toBe('anonymize-interviews');
    expect(FORWARD_STEPS.slice(0, PIVOT_INDEX).every((s) => s.compensation)).toBe(true);
    expect(FORWARD_STEPS.slice(PIVOT_INDEX).some((s) => s.compensation)).toBe(false);
  });

  it('doubles the retry wait up to its ceiling', () => {
    expect([1, 2, 3].map((a) => retryDelay(a, timing))).toEqual([100, 200, 400]);
    expect(retryDelay(30, timing)).toBe(timing.retryMaxMs);
  });
});

describe('erasure saga state machine', () => {
  it('runs every step in order and completes', () => {
    const { state, effects } = run([{ type: 'start' }, ...forward.map((s) => ok(s))]);
    expect(effects).toEqual([
      ...forward.map((step) => ({ kind: 'request', step, attempt: 1 })),
      { kind: 'completed' },
    ]);
    expect(state.status).toBe('completed');
    expect(state.currentStep).toBeNull();
    expect(state.steps.every((s) => s.status === 'completed' && s.attempts === 1)).toBe(true);
  });

  it('starts once', () => {
    const { effects } = run([{ type: 'start' }, { type: 'start' }]);
    expect(effects).toHaveLength(1);
  });

  it('ignores duplicate and stale replies', () => {
    const started = run([{ type: 'start' }, ok('suspend-account')]).state;
    for (const input of [ok('suspend-account'), ok('erase-profile'), fail('suspend-account')]) {
      const d = decide(started, input, t0, timing);
      expect(d.changed).toBe(false);
      expect(d.state).toBe(started);
    }
  });

  it('before the pivot, a failure compensates what was requested, newest first, and fails', () => {
    const { state, effects } = run([
      { type: 'start' },
      ok('suspend-account'),
      fail('cancel-interviews'),
      ok('restore-interviews'),
      ok('restore-account'),
    ]);
    expect(effects).toEqual([
      { kind: 'request', step: 'suspend-account', attempt: 1 },
      { kind: 'request', step: 'cancel-interviews', attempt: 1 },
      { kind: 'request', step: 'restore-interviews', attempt: 1 },
      { kind: 'request', step: 'restore-account', attempt: 1 },
      { kind: 'failed', step: 'cancel-interviews', reason: 'cancel-interviews: boom' },
    ]);
    expect(state.status).toBe('failed');
    expect(state.reason).toBe('cancel-interviews: boom');
    expect(state.steps.map((s) => [s.name, s.status])).toEqual([
      ['suspend-account', 'completed'],
      ['cancel-interviews', 'failed'],
      ...forward.slice(PIVOT_INDEX).map((n) => [n, 'skipped']),
      ['restore-interviews', 'completed'],
      ['restore-account', 'completed'],
    ]);
  });

  it('a failure of the first step compensates it alone', () => {
    const { state, effects } = run([
      { type: 'start' },
      fail('suspend-account'),
      ok('restore-account'),
    ]);
    expect(effects.map((e) => e.kind)).toEqual(['request', 'request', 'failed']);
    expect(state.status).toBe('failed');
  });

  it('is compensating while the compensations run, and retries them until done', () => {
    let { state } = run([{ type: 'start' }, fail('suspend-account')]);
    expect(state.status).toBe('compensating');
    const failed = decide(state, fail('restore-account', 1, true), t0, timing);
    expect(failed.state.status).toBe('compensating');
    expect(failed.state.waitingFor).toBe('retry');
    state = decide(failed.state, { type: 'tick' }, at(100), timing).state;
    const done = decide(state, ok('restore-account', 2), at(150), timing);
    expect(done.state.status).toBe('failed');
  });

  it('before the pivot, a step without a reply is asked again, then compensated', () => {
    let { state } = run([{ type: 'start' }]);
    expect(decide(state, { type: 'tick' }, at(999), timing).changed).toBe(false);
    const effects = [];
    for (let i = 1; i <= timing.attemptsBeforeCompensation; i++) {
      const d = decide(state, { type: 'tick' }, at(i * 1_000 + 1), timing);
      state = d.state;
      effects.push(...d.effects);
    }
    expect(effects).toEqual([
      { kind: 'request', step: 'suspend-account', attempt: 2 },
      { kind: 'request', step: 'suspend-account', attempt: 3 },
      { kind: 'request', step: 'restore-account', attempt: 1 },
    ]);
    expect(state.reason).toBe('suspend-account: no reply within 1000 ms');
  });

  it('counts a late success of an earlier attempt, ignores a late failure of one', () => {
    let { state } = run([{ type: 'start' }]);
    state = decide(state, { type: 'tick' }, at(1_001), timing).state;
    expect(decide(state, fail('suspend-account', 1), at(1_002), timing).changed).toBe(false);
    const late = decide(state, ok('suspend-account', 1), at(1_002), timing);
    expect(late.state.currentStep).toBe('cancel-interviews');
  });

  it('after the pivot, a failure is retried with backoff, alerting every few attempts, until done', () => {
    let { state } = run([{ type: 'start' }, ...forward.slice(0, PIVOT_INDEX).map((s) => ok(s))]);
    const pivot = forward[PIVOT_INDEX] as ErasureStep;
    expect(state.currentStep).toBe(pivot);
    const effects = [];
    let now = t0.getTime();
    for (let attempt = 1; attempt <= 4; attempt++) {
      const failed = decide(state, fail(pivot, attempt, true), new Date(now), timing);
      expect(failed.state.status).toBe('running');
      expect(failed.state.dueAt?.getTime()).toBe(now + retryDelay(attempt, timing));
      // Not due yet: nothing.
      expect(decide(failed.state, { type: 'tick' }, new Date(now + 1), timing).changed).toBe(false);
      now += retryDelay(attempt, timing);
      const retried = decide(failed.state, { type: 'tick' }, new Date(now), timing);
      state = retried.state;
      effects.push(...failed.effects, ...retried.effects);
    }
    expect(effects).toEqual([
      { kind: 'request', step: pivot, attempt: 2 },
      { kind: 'request', step: pivot, attempt: 3 },
      { kind: 'alert', step: pivot, attempts: 3, lastError: 'boom' },
      { kind: 'request', step: pivot, attempt: 4 },
      { kind: 'request', step: pivot, attempt: 5 },
    ]);
    const rest = run([ok(pivot, 5), ...forward.slice(PIVOT_INDEX + 1).map((s) => ok(s))], state);
    expect(rest.state.status).toBe('completed');
    expect(rest.state.steps.find((s) => s.name === pivot)?.attempts).toBe(5);
  });

  it('after the pivot, a step without a reply is asked again forever, with alerts', () => {
    let { state } = run([
      { type: 'start' },
      ...forward.slice(0, PIVOT_INDEX + 1).map((s) => ok(s)),
    ]);
    const step = forward[PIVOT_INDEX + 1] as ErasureStep;
    const kinds = [];
    for (let i = 1; i <= 6; i++) {
      const d = decide(state, { type: 'tick' }, at(i * 1_000 + i), timing);
      state = d.state;
      kinds.push(...d.effects.map((e) => e.kind));
    }
    expect(state.status).toBe('running');
    expect(state.steps.find((s) => s.name === step)?.attempts).toBe(7);
    expect(kinds.filter((k) => k === 'alert')).toHaveLength(2);
    expect(kinds.filter((k) => k === 'request')).toHaveLength(6);
  });

  it('ignores a second failure reply while waiting to retry', () => {
    let { state } = run([{ type: 'start' }, ...forward.slice(0, PIVOT_INDEX).map((s) => ok(s))]);
    const pivot = forward[PIVOT_INDEX] as ErasureStep;
    state = decide(state, fail(pivot), t0, timing).state;
    expect(decide(state, fail(pivot), t0, timing).changed).toBe(false);
  });

  it('changes nothing once ended', () => {
    const { state } = run([{ type: 'start' }, ...forward.map((s) => ok(s))]);
    for (const input of [
      { type: 'start' } as const,
      { type: 'tick' } as const,
      ok('forget-recipient'),
    ]) {
      expect(decide(state, input, at(1e9), timing).changed).toBe(false);
    }
  });

  it('never mutates its input', () => {
    const state = initialState();
    const frozen = JSON.stringify(state);
    decide(state, { type: 'start' }, t0, timing);
    expect(JSON.stringify(state)).toBe(frozen);
  });
});
