/**
 * The interview lifecycle as data: which action may run from which status, and where it leads.
 * Pure, so it is unit-tested exhaustively; the service enforces it and adds the rules that need
 * data (dates, questions, authorization).
 *
 * ```
 * draft ─────────────── schedule ──> scheduled   (schedule again: reschedule)
 * draft | scheduled ─── start ─────> in_progress
 * in_progress ───────── pause ─────> paused ── resume ──> in_progress
 * in_progress ───────── submitAnswer (stays in_progress)
 * in_progress | paused ─ complete ──> completed
 * any but completed/cancelled ─ cancel ──> cancelled
 * ```
 */
import { INTERVIEW_STATUSES } from '../../events/catalog/interview';

/** An interview's status as stored and as events carry it (`in_progress`, ...). */
export type Status = (typeof INTERVIEW_STATUSES)[number];

export const STATUSES: readonly Status[] = INTERVIEW_STATUSES;

/** What may happen to an existing interview; creation is not a transition. */
export const ACTIONS = [
  'schedule',
  'start',
  'submitAnswer',
  'pause',
  'resume',
  'complete',
  'cancel',
] as const;

export type Action = (typeof ACTIONS)[number];

interface Rule {
  from: readonly Status[];
  to: Status;
}

const RULES: Readonly<Record<Action, Rule>> = {
  schedule: { from: ['draft', 'scheduled'], to: 'scheduled' },
  start: { from: ['draft', 'scheduled'], to: 'in_progress' },
  submitAnswer: { from: ['in_progress'], to: 'in_progress' },
  pause: { from: ['in_progress'], to: 'paused' },
  resume: { from: ['paused'], to: 'in_progress' },
  complete: { from: ['in_progress', 'paused'], to: 'completed' },
  cancel: { from: ['draft', 'scheduled', 'in_progress', 'paused'], to: 'cancelled' },
};

export type Transition =
  | { allowed: true; from: Status; to: Status }
  | { allowed: false; from: Status; allowedFrom: readonly Status[] };

/** Where `action` leads from `from`, or the statuses it would have been allowed from. */
export function transition(from: Status, action: Action): Transition {
  const rule = RULES[action];
  return rule.from.includes(from)
    ? { allowed: true, from, to: rule.to }
    : { allowed: false, from, allowedFrom: rule.from };
}

/** The actions allowed from `status`, in {@link ACTIONS} order; none for a finished interview. */
export function allowedActions(status: Status): Action[] {
  return ACTIONS.filter((action) => RULES[action].from.includes(status));
}

/** True for `completed` and `cancelled`: nothing may happen any more. */
export function isFinal(status: Status): boolean {
  return allowedActions(status).length === 0;
}
