/**
 * What a service's part in the account erasure saga can be given: the orchestrator's timing,
 * and failures injected by tests. Passed explicitly (`SubgraphOptions.erasure`,
 * `NotificationServiceOptions.erasure`), never read from the environment.
 */
import type { ErasureFault } from '../catalog/erasure';

/** Timing of the saga; every figure can be changed for tests. */
export interface ErasureTiming {
  /** How long a step may go without a reply before it is requested again. @default 30_000 */
  stepTimeoutMs: number;
  /** Before the pivot, attempts of a step that gets no reply before compensating. @default 3 */
  attemptsBeforeCompensation: number;
  /** First wait before retrying a failed step; doubles per attempt. @default 1_000 */
  retryBaseMs: number;
  /** Longest wait between retries. @default 60_000 */
  retryMaxMs: number;
  /** Every this many attempts of one step, an `erasure.alert` goes to admins. @default 3 */
  alertEvery: number;
  /** How often the orchestrator looks for steps due. @default 1_000 */
  tickMs: number;
}

export const DEFAULT_ERASURE_TIMING: ErasureTiming = {
  stepTimeoutMs: 30_000,
  attemptsBeforeCompensation: 3,
  retryBaseMs: 1_000,
  retryMaxMs: 60_000,
  alertEvery: 3,
  tickMs: 1_000,
};

/** A service's erasure options. */
export interface ErasureOptions {
  /** The orchestrator's timing (users service only); unset figures take their defaults. */
  timing?: Partial<ErasureTiming>;
  /** Failures injected into this service's steps (tests). @default [] */
  faults?: readonly ErasureFault[];
}

/** {@link ErasureOptions.timing} with every default filled in. */
export function erasureTiming(options: ErasureOptions | undefined): ErasureTiming {
  return { ...DEFAULT_ERASURE_TIMING, ...options?.timing };
}
