import { FORWARD_STEPS, PIVOT_INDEX, isCompensation } from '../erasure/definition';
import type { SagaStatus, StepStatus } from '../erasure/machine';
import type {
  AccountErasureResolvers,
  AccountErasureStatus,
  AccountErasureStepResolvers,
  AccountErasureStepStatus,
} from '../generated/resolvers-types';

/** The saga entity maps to `AccountErasure`; statuses are upper case in the schema. */
export const AccountErasure: AccountErasureResolvers = {
  status: (saga) => saga.status.toUpperCase() as Uppercase<SagaStatus> & AccountErasureStatus,
  steps: (saga) => saga.steps,
};

const irreversible = new Set(FORWARD_STEPS.slice(PIVOT_INDEX).map((s) => s.name));

export const AccountErasureStep: AccountErasureStepResolvers = {
  status: (step) => step.status.toUpperCase() as Uppercase<StepStatus> & AccountErasureStepStatus,
  compensation: (step) => isCompensation(step.name),
  irreversible: (step) => irreversible.has(step.name),
};

/** `AccountErasureStatus` as the machine spells it. */
export const sagaStatusOf = (status: AccountErasureStatus): SagaStatus =>
  status.toLowerCase() as SagaStatus;
