/**
 * The account erasure saga, as data: its steps in order, who runs each, which compensation undoes
 * it, and where the pivot is. The state machine (`machine.ts`) reads only this.
 *
 * Before the pivot every step is reversible, and a failure undoes the steps taken, newest first;
 * from the pivot on, data is gone for good, so steps are retried until they are done.
 */
import type { ErasureStep } from '../../../events/catalog/erasure';
import type { Source } from '../../../events';

/** One forward step of the saga. */
export interface ForwardStep {
  name: ErasureStep;
  /** The service whose consumer does it. */
  service: Source;
  /** The step that undoes it; only steps before the pivot have one. */
  compensation?: ErasureStep;
  /** What it does, for the documentation and the API. */
  description: string;
}

/** The steps of the saga, in order. */
export const FORWARD_STEPS: readonly ForwardStep[] = [
  {
    name: 'suspend-account',
    service: 'user-service',
    compensation: 'restore-account',
    description: 'suspends the account: the profile refuses changes, the gateway ends sessions',
  },
  {
    name: 'cancel-interviews',
    service: 'interview-service',
    compensation: 'restore-interviews',
    description: "cancels the user's open interviews, remembering their status",
  },
  // The pivot: from here on nothing is undone.
  {
    name: 'anonymize-interviews',
    service: 'interview-service',
    description: "erases the answers' content and the cancellation reasons",
  },
  {
    name: 'anonymize-reporting',
    service: 'reporting-service',
    description: 'reports and audit entries name no one',
  },
  {
    name: 'erase-profile',
    service: 'user-service',
    description: 'email, names and company erased; activity deleted',
  },
  {
    name: 'forget-recipient',
    service: 'notification-service',
    description: 'sends the confirmation email, then forgets the address',
  },
];

/** The compensations, with the service that runs each. */
export const COMPENSATIONS: Readonly<Partial<Record<ErasureStep, Source>>> = {
  'restore-interviews': 'interview-service',
  'restore-account': 'user-service',
};

/** Index in {@link FORWARD_STEPS} of the first step that cannot be undone. */
export const PIVOT_INDEX = FORWARD_STEPS.findIndex((s) => s.compensation === undefined);

/** The service that runs a step (forward or compensation). */
export function serviceOf(step: ErasureStep): Source {
  const source = FORWARD_STEPS.find((s) => s.name === step)?.service ?? COMPENSATIONS[step];
  if (!source) throw new Error(`no service runs erasure step ${step}`);
  return source;
}

/** Whether `step` is a forward step at or after the pivot. */
export function isAfterPivot(step: ErasureStep): boolean {
  const index = FORWARD_STEPS.findIndex((s) => s.name === step);
  return index >= PIVOT_INDEX;
}

/** Whether `step` is a compensation. */
export function isCompensation(step: ErasureStep): boolean {
  return Object.hasOwn(COMPENSATIONS, step);
}

export { DEFAULT_ERASURE_TIMING, type ErasureTiming } from '../../../events/erasure/options';
