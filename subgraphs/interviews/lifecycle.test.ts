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
 * The lifecycle restated independently of lifecycle.ts: for each action, the statuses it is
 * allowed from and where it leads. Every other (status, action) pair must be refused.
 */
const EXPECTED: Record<Action, { from: Status[]; to: Status }> = {
  schedule: { from: ['draft', 'scheduled'], to: 'scheduled' },
  start: { from: ['draft', 'scheduled'], to: 'in_progress' },
  submitAnswer: { from: ['in_progress'], to: 'in_progress' },
  pause: { from: ['in_progress'], to: 'paused' },
  resume: { from: ['paused'], to: 'in_progress' },
  complete: { from: ['in_progress', 'paused'], to: 'completed' },
  cancel: { from: ['draft', 'scheduled', 'in_progress', 'paused'], to: 'cancelled' },
};

const cases = STATUSES.flatMap((status) => ACTIONS.map((action) => [status, action] as const));

describe('interview lifecycle', () => {
  it('knows every status of the event catalog and every action', () => {
    expect([...STATUSES]).toEqual([...INTERVIEW_STATUSES]);
    expect(Object.keys(EXPECTED).sort()).toEqual([...ACTIONS].sort());
    expect(cases).toHaveLength(6 * 7);
  });

  it.each(cases)('from %s, %s', (status, action) => {
    const rule = EXPECTED[action];
    if (rule.from.includes(status)) {
      expect(transition(status, action)).toEqual({ allowed: true, from: status, to: rule.to });
    } else {
      expect(transition(status, action)).toEqual({
        allowed: false,
        from: status,
        allowedFrom: rule.from,
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
