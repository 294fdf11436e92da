import { formatList, formatTable, main, parseArgs, UsageError } from './dlq';
import { toRecord } from '../events/dead-letters';

const EVENT_ID = '0b6f1c2e-8d5a-4c1e-9f3b-2a7d6e5c4b3a';

function problems(argv: string[]): string[] {
  try {
    parseArgs(argv);
  } catch (error) {
    if (error instanceof UsageError) return error.problems;
    throw error;
  }
  return [];
}

describe('npm run dlq: flags', () => {
  it('parses a list with every filter', () => {
    expect(
      parseArgs([
        'list',
        '--topic',
        'user-events,interview-events.dlq',
        '--group=user-service-group',
        '--type',
        'user.registered',
        '--reason',
        'already belongs',
        '--since',
        '2026-12-01T00:00:00Z',
        '--until',
        '2026-12-02',
        '--all',
      ]),
    ).toEqual({
      command: 'list',
      dryRun: false,
      filter: {
        topics: ['user-events', 'interview-events'],
        group: 'user-service-group',
        eventType: 'user.registered',
        reason: 'already belongs',
        since: new Date('2026-12-01T00:00:00Z'),
        until: new Date('2026-12-02'),
        includeResolved: true,
      },
    });
  });

  it('parses ids (coordinates and eventIds, repeated or comma-separated) and --dry-run', () => {
    const args = parseArgs([
      'replay',
      '--id',
      `user-events.dlq/0/4,${EVENT_ID}`,
      '--id',
      'a/1/2',
      '--dry-run',
    ]);
    expect(args).toMatchObject({
      command: 'replay',
      dryRun: true,
      filter: {
        ids: [
          { kind: 'coordinates', topic: 'user-events.dlq', partition: 0, offset: '4' },
          { kind: 'eventId', eventId: EVENT_ID },
          { kind: 'coordinates', topic: 'a', partition: 1, offset: '2' },
        ],
      },
    });
  });

  it('lists every problem of a bad command line', () => {
    expect(
      problems(['lsit', '--topic', 'orders', '--since', 'yesterday', '--x', '--group']),
    ).toEqual([
      'unknown flag --x',
      '--group needs a value',
      'unknown command "lsit": one of list, show, replay, discard',
      '--topic "orders" is not a topic: one of user-events, interview-events, system-events',
      '--since "yesterday" is not an ISO-8601 date-time, e.g. 2026-12-01T09:00:00Z',
    ]);
    expect(problems([])).toEqual(['name a command: list, show, replay, discard']);
    expect(problems(['replay'])).toEqual([expect.stringMatching(/^replay needs a selection/)]);
    expect(problems(['show'])).toEqual(['show needs exactly one --id']);
    expect(problems(['list', '--dry-run'])).toEqual([
      '--dry-run is for replay and discard, not list',
    ]);
    expect(problems(['list', '--id', 'nope'])).toEqual([
      expect.stringMatching(/^--id "nope" is neither/),
    ]);
    expect(problems(['list', '--since', '2026-12-02', '--until', '2026-12-01'])).toEqual([
      '--since must be before --until',
    ]);
    expect(problems(['list', '--group', 'a', '--group', 'b'])).toEqual([
      '--group given 2 times; give it once',
    ]);
    expect(problems(['list', 'extra'])).toEqual(['unexpected argument(s): extra']);
    expect(parseArgs(['--help'])).toBe('help');
  });

  it('exits 2 with the problems and the usage for a bad command line, 0 for --help', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t), env: {} };
    expect(await main(['nope'], io)).toBe(2);
    expect(err.join('\n')).toMatch(/error: unknown command "nope"[\s\S]*usage: npm run dlq/);
    expect(await main(['--help'], io)).toBe(0);
    expect(out.join('\n')).toContain('usage: npm run dlq');
    err.length = 0;
    expect(await main(['list'], { ...io, env: { KAFKA_BROKERS: 'not a broker' } })).toBe(2);
    expect(err.join('\n')).toContain('KAFKA_BROKERS');
  });

  it('prints a table', () => {
    expect(
      formatTable(
        ['A', 'BB'],
        [
          ['xyz', '1'],
          ['', '22'],
        ],
      ),
    ).toBe('A    BB\nxyz  1\n     22');
    const record = toRecord({
      topic: 'user-events.dlq',
      partition: 0,
      offset: '3',
      timestamp: '0',
      key: null,
      value: null,
      headers: {
        'event-id': EVENT_ID,
        'event-type': 'user.registered',
        'dlq-reason': 'handler failed: boom',
        'dlq-group-id': 'user-service-group',
        'dlq-attempts': '4',
        'dlq-failed-at': '2026-12-01T10:00:00.000Z',
      },
    });
    const text = formatList([record]);
    expect(text.split('\n')[0]).toMatch(
      /^ID\s+FAILED AT\s+TYPE\s+EVENT ID\s+GROUP\s+ATTEMPTS\s+REPLAYS\s+STATUS\s+REASON$/,
    );
    expect(text).toContain(
      `user-events.dlq/0/3  2026-12-01T10:00:00.000Z  user.registered  ${EVENT_ID}`,
    );
    expect(text).toMatch(/1 dead letter$/);
    expect(formatList([])).toBe('No dead letters match.');
  });
});
