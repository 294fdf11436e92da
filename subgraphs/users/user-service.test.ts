import { InvalidInputError } from '../../contracts/errors';
import { thrownInvalidInput } from '../../test/errors';
import { pageSize } from '../shared/pagination';
import {
  ACTIVITY_PAGE_SIZE,
  USERS_PAGE_SIZE,
  diffProfile,
  parseProfileInput,
} from './user-service';

describe('parseProfileInput', () => {
  it('keeps only the fields sent: trimmed strings, and null to clear', () => {
    expect(parseProfileInput({ firstName: '  Ada ', company: null })).toEqual({
      firstName: 'Ada',
      company: null,
    });
    expect(parseProfileInput({})).toEqual({});
    expect(parseProfileInput({ lastName: undefined })).toEqual({});
  });

  it('refuses an empty or blank string, naming the field', () => {
    for (const value of ['', '   ', '\t\n']) {
      const error = thrownInvalidInput(() =>
        parseProfileInput({ firstName: 'Ada', lastName: value }),
      );
      expect(error.code).toBe('BAD_USER_INPUT');
      expect(error.details).toEqual({ field: 'input.lastName' });
      expect(error.message).toBe('input.lastName: must not be empty; send null to clear it');
    }
  });

  it('accepts 200 characters after trimming and refuses 201', () => {
    expect(parseProfileInput({ company: ` ${'x'.repeat(200)} ` }).company).toHaveLength(200);
    const error = thrownInvalidInput(() => parseProfileInput({ company: 'x'.repeat(201) }));
    expect(error.details).toEqual({ field: 'input.company' });
    expect(error.message).toContain('at most 200 characters, got 201');
  });
});

describe('diffProfile', () => {
  const current = { firstName: 'Ada', lastName: null, company: 'Analytical Engines' };

  it('lists changed fields in a fixed order with their previous and new values', () => {
    expect(diffProfile(current, { company: null, lastName: 'Lovelace', firstName: 'Ada' })).toEqual(
      {
        updatedFields: ['lastName', 'company'],
        previousValues: { lastName: null, company: 'Analytical Engines' },
        newValues: { lastName: 'Lovelace', company: null },
      },
    );
  });

  it('is null when nothing would change', () => {
    expect(diffProfile(current, {})).toBeNull();
    expect(diffProfile(current, { firstName: 'Ada', lastName: null })).toBeNull();
  });
});

// Cursors and pageSize itself are tested in ../shared/pagination.test.ts.
describe('page sizes', () => {
  it('bound users(first) to 1-100 and recentActivity(first) to 1-50', () => {
    expect(pageSize('first', 1, USERS_PAGE_SIZE)).toBe(1);
    expect(pageSize('first', 100, USERS_PAGE_SIZE)).toBe(100);
    expect(pageSize('first', 50, ACTIVITY_PAGE_SIZE)).toBe(50);
    for (const value of [0, -1, 101, null, undefined]) {
      const error = thrownInvalidInput(() => pageSize('first', value, USERS_PAGE_SIZE));
      expect(error.message).toBe(`first: must be between 1 and 100, got ${String(value)}`);
    }
    expect(() => pageSize('first', 51, ACTIVITY_PAGE_SIZE)).toThrow(InvalidInputError);
  });
});
