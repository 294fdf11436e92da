import { activityDetails, newActivity } from './user-activity';

describe('activity details', () => {
  it("keep the event's payload field by field: strings as they are, other values as JSON", () => {
    const activity = newActivity({
      userId: 'u-1',
      kind: 'PROFILE',
      event: {
        eventId: 'e-1',
        eventType: 'user.profile_updated',
        timestamp: '2025-12-01T09:00:00.000Z',
        payload: {
          userId: 'u-1',
          updatedFields: ['company'],
          newValues: { company: null },
          count: 2,
          gone: null,
        },
      },
      description: 'updated company',
    });
    expect(activityDetails(activity)).toEqual([
      { name: 'userId', value: 'u-1' },
      { name: 'updatedFields', value: '["company"]' },
      { name: 'newValues', value: '{"company":null}' },
      { name: 'count', value: '2' },
      { name: 'gone', value: null },
    ]);
  });

  it('are empty for rows recorded before payloads were kept', () => {
    expect(activityDetails({ details: null })).toEqual([]);
  });
});
