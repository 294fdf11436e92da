/** Assertions on the errors domain code throws, for unit tests (nothing here starts anything). */
import { InvalidInputError } from '../contracts/errors';

/**
 * The InvalidInputError `fn` throws, for asserting its code, details and message; any other
 * error is rethrown, and throwing nothing fails the test.
 */
export function thrownInvalidInput(fn: () => unknown): InvalidInputError {
  try {
    fn();
  } catch (error) {
    if (error instanceof InvalidInputError) return error;
    throw error;
  }
  throw new Error('expected an InvalidInputError');
}
