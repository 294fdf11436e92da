import {
  canonical,
  compareTable,
  formatReport,
  isEqual,
  SAMPLES,
  textTable,
  type RebuildReport,
} from './compare';
import { processedEventTable, type ReadModelTable } from './read-model';
import { replaySteps } from './rebuild';

const reports: ReadModelTable = {
  name: 'interview_report',
  key: ['interview_id'],
  ignore: { version: 'optimistic lock' },
};
const activity: ReadModelTable = {
  name: 'user_activity',
  key: ['user_id', 'event_id'],
  ignore: { id: 'random' },
  eventColumn: 'event_id',
};

describe('compareTable', () => {
  it('pairs rows by key and leaves the ignored columns out', () => {
    const result = compareTable(
      reports,
      [
        { interview_id: 'i-1', answers: 2, version: 7 },
        { interview_id: 'i-2', answers: 1, version: 1 },
      ],
      [
        { interview_id: 'i-2', answers: 1, version: 2 },
        { interview_id: 'i-1', answers: 2, version: 3 },
      ],
    );
    expect(result).toMatchObject({ live: 2, rebuilt: 2, equal: 2, different: 0, samples: [] });
    expect(isEqual(result)).toBe(true);
  });

  it('reports different values, rows only on one side, with samples', () => {
    const result = compareTable(
      reports,
      [
        { interview_id: 'i-1', answers: 99, score: 1 },
        { interview_id: 'i-2', answers: 1, score: null },
      ],
      [
        { interview_id: 'i-1', answers: 3, score: 81 },
        { interview_id: 'i-3', answers: 0, score: null },
      ],
    );
    expect(result).toMatchObject({ equal: 0, different: 1, onlyLive: 1, onlyRebuilt: 1 });
    expect(result.samples).toEqual([
      '["i-1"]: answers 99 → 3, score 1 → 81',
      '["i-2"]: only in the live store',
      '["i-3"]: only in the rebuilt store',
    ]);
    expect(isEqual(result)).toBe(false);
  });

  it('counts live rows of events the live groups have not handled as in flight, not as differences', () => {
    const result = compareTable(
      activity,
      [
        { id: 'a', user_id: 'u-1', event_id: 'e-1', kind: 'LOGIN' },
        { id: 'b', user_id: 'u-1', event_id: 'e-2', kind: 'PROFILE' },
      ],
      [{ id: 'c', user_id: 'u-1', event_id: 'e-1', kind: 'LOGIN' }],
      (eventId) => eventId === 'e-1',
    );
    expect(result).toMatchObject({ equal: 1, inFlight: 1, onlyLive: 0 });
    expect(isEqual(result)).toBe(true);
  });

  it(`keeps at most ${SAMPLES} samples`, () => {
    const live = Array.from({ length: 20 }, (_, i) => ({ interview_id: `i-${i}`, answers: 1 }));
    const result = compareTable(reports, live, []);
    expect(result.onlyLive).toBe(20);
    expect(result.samples).toHaveLength(SAMPLES);
  });

  it('compares dates, buffers and numbers by value', () => {
    expect(canonical(new Date('2026-01-01T00:00:00Z'))).toBe('2026-01-01T00:00:00.000Z');
    expect(canonical(Buffer.from('ab'))).toBe('0x6162');
    expect(canonical(undefined)).toBe(canonical(null));
    expect(canonical(1)).not.toBe(canonical('1'));
  });

  it("keeps only the groups' processed-event rows", () => {
    expect(processedEventTable(['g-1'])).toMatchObject({
      key: ['event_id', 'group_id'],
      where: { column: 'group_id', in: ['g-1'] },
    });
  });
});

describe('formatReport', () => {
  const report: RebuildReport = {
    readModel: 'reporting',
    mode: 'swap',
    topics: [
      {
        group: 'reporting-service-group',
        topic: 'interview-events',
        replayed: 12,
        invalid: 0,
        failed: 1,
        passed: 1,
        truncated: 0,
      },
    ],
    tables: [
      {
        table: 'interview_report',
        live: 3,
        rebuilt: 3,
        equal: 2,
        different: 1,
        onlyLive: 0,
        onlyRebuilt: 0,
        inFlight: 0,
        samples: ['["i-1"]: answers 99 → 3'],
      },
    ],
    lockMs: 7,
    totalMs: 1234,
    equal: false,
    swapped: false,
    reason: 'the stores differ (see above); --force swaps anyway',
  };

  it('prints the replay, the tables, the differences and the outcome', () => {
    const text = formatReport(report);
    expect(text).toContain('Rebuild of reporting (swap)');
    expect(text).toMatch(/reporting-service-group\s+interview-events\s+12\s+0\s+1\s+1\s+0/);
    expect(text).toMatch(/interview_report\s+3\s+3\s+2\s+1\s+0\s+0\s+0/);
    expect(text).toContain('  interview_report ["i-1"]: answers 99 → 3');
    expect(text).toContain(
      'not swapped: the stores differ (see above); --force swaps anyway; write lock held 7 ms, 1234 ms in all',
    );
  });

  it('says when it swapped', () => {
    expect(formatReport({ ...report, swapped: true, equal: true })).toContain(
      'swapped: the live tables hold the rebuilt content; write lock held 7 ms',
    );
  });

  it('pads text left and numbers right', () => {
    expect(
      textTable(
        ['name', 'n'],
        [
          ['a', 1],
          ['bbb', 100],
        ],
      ),
    ).toBe(['name    n', '----  ---', 'a       1', 'bbb   100'].join('\n'));
  });
});

describe('replaySteps', () => {
  const handler = { batch: async () => undefined, each: async () => undefined };
  const consumers = [
    { groupId: 'audit', handlers: { 'user-events': handler, 'interview-events': handler } },
    { groupId: 'reports', handlers: { 'interview-events': handler, 'system-events': handler } },
  ];

  it('runs the named steps first, then what they leave out, a step per group', () => {
    expect(
      replaySteps({ replayOrder: [{ group: 'reports', topics: ['interview-events'] }] }, consumers),
    ).toEqual([
      { group: 'reports', topics: ['interview-events'] },
      { group: 'audit', topics: ['user-events', 'interview-events'] },
      { group: 'reports', topics: ['system-events'] },
    ]);
  });

  it('skips steps of groups it does not replay', () => {
    expect(
      replaySteps({ replayOrder: [{ group: 'other', topics: ['user-events'] }] }, consumers),
    ).toHaveLength(2);
  });
});
