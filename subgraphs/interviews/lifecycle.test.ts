import { INTERVIEW_STATUSES } from '../../events/catalog/interview';
import {
  ACTIONS,
  STATUSES,
  allowedActions,
  isFinal,
  transition,
  type Action,
  type Status,
} from './lifecycle';

/**
 * The lifecycle restated independently of lifecycle.ts, and the other way round (by status
 * where lifecycle.ts goes by action): for each status, the actions allowed from it and where
 * each leads. Every other (status, action) pair must be refused.
 */
const EXPECTED: Record<Status, Partial<Record<Action, Status>>> = {
  draft: { schedule: 'scheduled', start: 'in_progress', cancel: 'cancelled' },
  scheduled: { schedule: 'scheduled', start: 'in_progress', cancel: 'cancelled' },
  in_progress: {
    submitAnswer: 'in_progress',
    pause: 'paused',
    complete: 'completed',
    cancel: 'cancelled',
  },
  paused: { resume: 'in_progress', complete: 'completed', cancel: 'cancelled' },
  completed: {},
  cancelled: {},
};

/** The statuses `action` is allowed from, in {@link STATUSES} order. */
const expectedFrom = (action: Action) => STATUSES.filter((s) => EXPECTED[s][action] !== undefined);

const cases = STATUSES.flatMap((status) => ACTIONS.map((action) => [status, action] as const));

describe('interview lifecycle', () => {
  it('knows every status of the event catalog and every action', () => {
    expect([...STATUSES]).toEqual([...INTERVIEW_STATUSES]);
    expect(Object.keys(EXPECTED)).toEqual([...STATUSES]);
    const expectedActions = new Set(STATUSES.flatMap((s) => Object.keys(EXPECTED[s])));
    expect([...expectedActions].sort()).toEqual([...ACTIONS].sort());
    expect(cases).toHaveLength(6 * 7);
  });

  it.each(cases)('from %s, %s', (status, action) => {
    const to = EXPECTED[status][action];
    if (to !== undefined) {
      expect(transition(status, action)).toEqual({ allowed: true, from: status, to });
    } else {
      expect(transition(status, action)).toEqual({
        allowed: false,
        from: status,
        allowedFrom: expectedFrom(action),
      });
    }
  });

  it('lists the allowed actions per status', () => {
    expect(Object.fromEntries(STATUSES.map((s) => [s, allowedActions(s)]))).toEqual({
      draft: ['schedule', 'start', 'cancel'],
      scheduled: ['schedule', 'start', 'cancel'],
      in_progress: ['submitAnswer', 'pause', 'complete', 'cancel'],
      paused: ['resume', 'complete', 'cancel'],
      completed: [],
      cancelled: [],
    });
  });

  it('treats completed and cancelled as final, and nothing else', () => {
    expect(STATUSES.filter(isFinal)).toEqual(['completed', 'cancelled']);
  });
});
