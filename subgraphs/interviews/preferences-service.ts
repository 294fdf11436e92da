/**
 * Interview preferences: how a candidate's interviews behave (time zone, reminders, resuming on
 * sign-in). Set up with defaults when the user registers (`consumers/`); this service reads and
 * changes them for GraphQL. One instance per request, built from its {@link RequestScope}.
 *
 * Changing preferences publishes no event: nothing outside this subgraph reads them.
 */
import { takeWriteLock } from '../../lib/database';
import { InvalidInputError } from '../../contracts/errors';
import { requireIdentity, requireSelfOrAdmin, type Identity } from '../../contracts/identity';
import type { RequestScope } from '../shared/subgraph';
import { defaultPreferences, InterviewPreferencesEntity } from './entities';

/** Bounds of `reminderMinutesBefore`: none, up to a week ahead. */
export const REMINDER_MINUTES = { min: 0, max: 10_080 } as const;

/** `updateInterviewPreferences`' input: an absent (or null) field stays as it is. */
export interface PreferencesInput {
  timezone?: string | null | undefined;
  reminderMinutesBefore?: number | null | undefined;
  autoResume?: boolean | null | undefined;
}

/** Reads and changes interview preferences on behalf of one request's caller. */
export class PreferencesService {
  private readonly em: RequestScope['em'];
  private readonly identity: Identity | null;

  constructor(scope: RequestScope) {
    this.em = scope.em;
    this.identity = scope.identity;
  }

  /** A user's interview preferences, for the user or an admin; null before registration. */
  async of(userId: string): Promise<InterviewPreferencesEntity | null> {
    requireSelfOrAdmin(this.identity, userId);
    return this.em.findOne(InterviewPreferencesEntity, { userId });
  }

  /**
   * Changes the caller's preferences, created with defaults first if their registration has not
   * reached this service yet.
   * @throws {InvalidInputError} for an unknown time zone or a reminder outside
   *   {@link REMINDER_MINUTES}, before anything is read.
   */
  async update(input: PreferencesInput): Promise<InterviewPreferencesEntity> {
    const who = requireIdentity(this.identity);
    const changes = parsePreferencesInput(input);
    return this.em.transactional(async (em) => {
      await takeWriteLock(em);
      const now = new Date();
      let preferences = await em.findOne(InterviewPreferencesEntity, { userId: who.userId });
      if (!preferences) {
        preferences = defaultPreferences(who.userId, now);
        em.persist(preferences);
      }
      Object.assign(preferences, changes, { updatedAt: now });
      return preferences;
    });
  }
}

/**
 * Validates `updateInterviewPreferences`' input into the changes to apply (only the fields sent).
 * @throws {InvalidInputError} naming the first bad field, e.g. `input.timezone`.
 */
export function parsePreferencesInput(
  input: PreferencesInput,
): Partial<InterviewPreferencesEntity> {
  const changes: Partial<InterviewPreferencesEntity> = {};
  if (input.timezone != null) {
    if (!isTimeZone(input.timezone)) {
      throw new InvalidInputError('input.timezone', `"${input.timezone}" is not an IANA time zone`);
    }
    changes.timezone = input.timezone;
  }
  if (input.reminderMinutesBefore != null) {
    const minutes = input.reminderMinutesBefore;
    if (
      !Number.isInteger(minutes) ||
      minutes < REMINDER_MINUTES.min ||
      minutes > REMINDER_MINUTES.max
    ) {
      throw new InvalidInputError(
        'input.reminderMinutesBefore',
        `must be ${REMINDER_MINUTES.min}-${REMINDER_MINUTES.max} (a week)`,
      );
    }
    changes.reminderMinutesBefore = minutes;
  }
  if (input.autoResume != null) changes.autoResume = input.autoResume;
  return changes;
}

/** Whether `Intl` knows the zone; names longer than the column (64 characters) are refused. */
function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return zone.length <= 64;
  } catch {
    return false;
  }
}
