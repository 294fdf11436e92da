import {
  REPLAY_HEADERS,
  dlqTopicName,
  matchesFilter,
  nextReplayCount,
  parseDeadLetterRef,
  replayHeaders,
  toRecord,
  type RawDeadLetter,
} from './record';

const EVENT_ID = '0b6f1c2e-8d5a-4c1e-9f3b-2a7d6e5c4b3a';

function raw(headers: Record<string, string> = {}, offset = '7'): RawDeadLetter {
  return {
    topic: 'p.user-events.dlq',
    partition: 1,
    offset,
    timestamp: String(Date.parse('2026-12-01T10:00:00Z')),
    key: Buffer.from('user-1'),
    value: Buffer.from(JSON.stringify({ eventId: EVENT_ID, eventType: 'user.registered' })),
    headers: {
      'event-id': EVENT_ID,
      'event-type': 'user.registered',
      'dlq-reason': 'handler failed: email ada@example.com already belongs to user u-0',
      'dlq-original-topic': 'p.user-events',
      'dlq-original-partition': '1',
      'dlq-original-offset': '3',
      'dlq-group-id': 'p.user-service-group',
      'dlq-service': 'user-service',
      'dlq-attempts': '1',
      'dlq-failed-at': '2026-12-01T10:00:01.000Z',
      ...headers,
    },
  };
}

describe('dead-letter records', () => {
  it('reads the dlq-* headers', () => {
    expect(toRecord(raw())).toMatchObject({
      id: 'p.user-events.dlq/1/7',
      key: 'user-1',
      eventId: EVENT_ID,
      eventType: 'user.registered',
      groupId: 'p.user-service-group',
      attempts: 1,
      originalTopic: 'p.user-events',
      originalPartition: 1,
      originalOffset: '3',
      failedAt: new Date('2026-12-01T10:00:01.000Z'),
      replays: 0,
      resolution: null,
    });
  });

  it('takes eventId and type from the value when the headers lack them, the time from the message', () => {
    const message = raw();
    for (const h of ['event-id', 'event-type', 'dlq-failed-at']) delete message.headers[h];
    expect(toRecord(message)).toMatchObject({
      eventId: EVENT_ID,
      eventType: 'user.registered',
      failedAt: new Date('2026-12-01T10:00:00Z'),
    });
    expect(toRecord({ ...message, value: Buffer.from('not json') }).eventId).toBeNull();
  });

  it('parses references: eventIds and coordinates, nothing else', () => {
    expect(parseDeadLetterRef(EVENT_ID.toUpperCase())).toEqual({
      kind: 'eventId',
      eventId: EVENT_ID,
    });
    expect(parseDeadLetterRef('user-events.dlq/0/042')).toEqual({
      kind: 'coordinates',
      topic: 'user-events.dlq',
      partition: 0,
      offset: '42',
    });
    expect(() => parseDeadLetterRef('user-events/0')).toThrow(/neither an eventId/);
    expect(() => parseDeadLetterRef('a b/0/1')).toThrow(/neither an eventId/);
  });

  it('maps topic names to physical DLQ topics', () => {
    expect(dlqTopicName('user-events', 'p.')).toBe('p.user-events.dlq');
    expect(dlqTopicName('user-events.dlq', 'p.')).toBe('p.user-events.dlq');
    expect(dlqTopicName('p.user-events.dlq', 'p.')).toBe('p.user-events.dlq');
    expect(() => dlqTopicName('orders', '')).toThrow(/unknown topic "orders"/);
  });

  it('filters by group (logical or physical), type, reason, time, ids and resolution', () => {
    const record = toRecord(raw());
    const ok = (filter: Parameters<typeof matchesFilter>[1]) => matchesFilter(record, filter, 'p.');
    expect(ok({})).toBe(true);
    expect(ok({ group: 'user-service-group' })).toBe(true);
    expect(ok({ group: 'p.user-service-group' })).toBe(true);
    expect(ok({ group: 'reporting-service-group' })).toBe(false);
    expect(ok({ eventType: 'user.registered' })).toBe(true);
    expect(ok({ eventType: 'user.logged_out' })).toBe(false);
    expect(ok({ reason: 'ALREADY BELONGS' })).toBe(true);
    expect(ok({ reason: 'timeout' })).toBe(false);
    expect(ok({ since: new Date('2026-12-01T10:00:01.000Z') })).toBe(true);
    expect(ok({ since: new Date('2026-12-01T10:00:02Z') })).toBe(false);
    expect(ok({ until: new Date('2026-12-01T10:00:01.000Z') })).toBe(false);
    expect(ok({ until: new Date('2026-12-02T00:00:00Z') })).toBe(true);
    expect(ok({ ids: [parseDeadLetterRef('user-events/1/7')] })).toBe(true);
    expect(ok({ ids: [parseDeadLetterRef('user-events/1/8')] })).toBe(false);
    expect(ok({ ids: [parseDeadLetterRef(EVENT_ID)] })).toBe(true);
    const discarded = {
      ...record,
      resolution: { action: 'discarded' as const, at: '', replays: 0 },
    };
    expect(matchesFilter(discarded, {})).toBe(false);
    expect(matchesFilter(discarded, { includeResolved: true })).toBe(true);
  });

  it('counts replays from the message header and from earlier replays of the same dead letter', () => {
    const fresh = toRecord(raw());
    expect(nextReplayCount(fresh)).toBe(1);
    const replayedOnce = {
      ...fresh,
      resolution: { action: 'replayed' as const, at: '', replays: 1 },
    };
    expect(nextReplayCount(replayedOnce)).toBe(2);
    // Dead-lettered again after a replay: dead-lettering kept its dlq-replays header.
    expect(nextReplayCount(toRecord(raw({ [REPLAY_HEADERS.replays]: '2' })))).toBe(3);
  });

  it('replays with the original headers, without the dlq-* ones dead-lettering added', () => {
    const now = new Date('2026-12-02T00:00:00Z');
    const headers = replayHeaders(
      toRecord(raw({ [REPLAY_HEADERS.replays]: '1', traceparent: 't' })),
      now,
    );
    expect(headers).toEqual({
      'event-id': EVENT_ID,
      'event-type': 'user.registered',
      traceparent: 't',
      'dlq-replays': '2',
      'dlq-replayed-from': 'p.user-events.dlq/1/7',
      'dlq-replayed-at': '2026-12-02T00:00:00.000Z',
    });
  });
});
