import {
  EventValidationError,
  type EventOn,
  InterviewEventFactory,
  SystemEventFactory,
  UserEventFactory,
  validateEvent,
} from './index';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('event factories', () => {
  it('fill eventId, timestamp, version and source', () => {
    const before = Date.now();
    const event = UserEventFactory.createUserAuthenticated('u-1', 'ada@example.com', 's-1', {
      authMethod: 'oauth2',
      ipAddress: '127.0.0.1',
    });
    expect(event).toEqual({
      eventId: expect.stringMatching(UUID),
      eventType: 'user.authenticated',
      timestamp: expect.any(String),
      version: '1.0',
      source: 'api-gateway',
      payload: {
        userId: 'u-1',
        email: 'ada@example.com',
        sessionId: 's-1',
        authMethod: 'oauth2',
        ipAddress: '127.0.0.1',
      },
    });
    expect(Date.parse(event.timestamp)).toBeGreaterThanOrEqual(before);
    expect(validateEvent(event).ok).toBe(true);
  });

  it('give each event its own id', () => {
    const a = UserEventFactory.createUserLoggedOut('u-1', 's-1');
    const b = UserEventFactory.createUserLoggedOut('u-1', 's-1');
    expect(a.eventId).not.toBe(b.eventId);
    expect(a.payload.reason).toBe('manual');
  });

  it('take a fixed id and clock', () => {
    const event = UserEventFactory.createUserRegistered(
      'u-2',
      'grace@example.com',
      { firstName: 'Grace' },
      {
        eventId: '6f1c2a8e-5b7d-4e3f-9a1b-2c3d4e5f6a7b',
        timestamp: new Date('2026-01-02T03:04:05Z'),
      },
    );
    expect(event).toMatchObject({
      eventId: '6f1c2a8e-5b7d-4e3f-9a1b-2c3d4e5f6a7b',
      timestamp: '2026-01-02T03:04:05.000Z',
      payload: { registrationMethod: 'authentik', firstName: 'Grace' },
    });
  });

  it('source the profile update from the users service', () => {
    const event = UserEventFactory.createUserProfileUpdated('u-1', ['company'], {
      previousValues: { company: 'A' },
      newValues: { company: 'B' },
    });
    expect(event.source).toBe('user-service');
  });

  it('throw a typed error listing every failing field', () => {
    let thrown: unknown;
    try {
      UserEventFactory.createUserAuthenticated('', 'not-an-email', 's-1');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(EventValidationError);
    const error = thrown as EventValidationError;
    expect(error.code).toBe('INVALID_EVENT');
    expect(error.issues.map((i) => i.path).sort()).toEqual(['payload.email', 'payload.userId']);
    expect(error.message).toContain('payload.email: must be an email address');
  });

  it('build interview and system events with their sources', () => {
    const interview = InterviewEventFactory.create('interview.started', {
      interviewId: 'i-1',
      candidateId: 'u-1',
      startedAt: new Date().toISOString(),
    });
    expect(interview.source).toBe('interview-service');
    const system = SystemEventFactory.create('service.started', 'reporting-service', {
      service: 'reporting-service',
      instanceId: 'r-1',
      hostname: 'h',
      pid: 1,
    });
    expect(system.source).toBe('reporting-service');
  });
});

describe('event types', () => {
  it('tie each event to its topic at compile time (checked by `npm run typecheck`)', () => {
    const accept = <T>(event: T): T => event;
    const started = InterviewEventFactory.create('interview.started', {
      interviewId: 'i-1',
      candidateId: 'u-1',
      startedAt: new Date().toISOString(),
    });
    // @ts-expect-error an interview event is not a user-events event
    const wrong: EventOn<'user-events'> = accept(started);
    const right: EventOn<'interview-events'> = accept(started);
    expect(wrong).toBe(right);
  });
});
