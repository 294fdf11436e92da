/**
 * The interview fold (`history.ts`) on scripted streams, and the event types `Interview.history`
 * shares with the subscriptions (the same definitions in both subgraphs' SDL).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, print, type DefinitionNode } from 'graphql';
import { InterviewEventFactory } from '../../events/factories';
import { EVENTS_SCHEMA_FILE } from '../../events/subgraph';
import type { EventEnvelope } from '../../events/catalog';
import type { StreamEvent } from './event-store';
import { applyStreamEvent, replayInterview, stateAt, StreamOrderError } from './history';

const ids = { interviewId: 'i-1', candidateId: 'u-1' };
const t0 = Date.UTC(2030, 0, 1, 9, 0, 0);
const at = (minutes: number) => new Date(t0 + minutes * 60_000);
let sequence = 0;

function stored<T extends StreamEvent['eventType']>(
  type: T,
  minutes: number,
  fields: Omit<EventEnvelope<T>['payload'], 'interviewId' | 'candidateId'>,
  facts?: unknown,
): StreamEvent {
  const event = InterviewEventFactory.create(type, { ...ids, ...fields } as never, {
    timestamp: at(minutes),
  });
  return { sequence: ++sequence, eventType: type, event, facts } as unknown as StreamEvent;
}

const questions = [
  { id: 'q-1', position: 1, text: 'What is a transaction?' },
  { id: 'q-2', position: 2, text: 'Why an outbox?' },
];

function lifecycle(): StreamEvent[] {
  sequence = 0;
  return [
    stored(
      'interview.created',
      0,
      { title: 'Backend screen', position: 'Engineer', questionCount: 2, createdBy: 'u-9' },
      { questions },
    ),
    stored('interview.scheduled', 1, { scheduledFor: at(60).toISOString() }),
    stored('interview.scheduled', 2, { scheduledFor: at(90).toISOString() }),
    stored('interview.started', 90, { startedAt: at(90).toISOString() }),
    stored(
      'interview.answer_submitted',
      95,
      { questionId: 'q-1', answerId: 'a-1', wordCount: 3, answeredQuestions: 1, totalQuestions: 2 },
      { content: 'All or nothing' },
    ),
    stored('interview.paused', 96, { pausedAt: at(96).toISOString(), reason: 'manual' }),
    stored('interview.resumed', 99, {
      resumedAt: at(99).toISOString(),
      trigger: 'user_authenticated',
    }),
    stored(
      'interview.answer_submitted',
      100,
      { questionId: 'q-2', answerId: 'a-2', wordCount: 2, answeredQuestions: 2, totalQuestions: 2 },
      { content: 'No loss' },
    ),
    stored('interview.completed', 110, {
      completedAt: at(110).toISOString(),
      answeredQuestions: 2,
      totalQuestions: 2,
      durationSeconds: 1200,
    }),
  ];
}

describe('replayInterview', () => {
  it('rebuilds the row, the questions and the answers from a whole lifecycle', () => {
    const state = replayInterview(lifecycle());
    expect(state.interview).toEqual({
      id: 'i-1',
      candidateId: 'u-1',
      createdBy: 'u-9',
      title: 'Backend screen',
      position: 'Engineer',
      status: 'completed',
      questionCount: 2,
      answerCount: 2,
      createdAt: at(0),
      updatedAt: at(110),
      scheduledFor: at(90),
      startedAt: at(90),
      pausedAt: null,
      completedAt: at(110),
      cancelledAt: null,
      cancelReason: null,
      version: 9,
    });
    expect(state.questions).toEqual(questions);
    expect(state.answers).toEqual([
      {
        id: 'a-1',
        questionId: 'q-1',
        content: 'All or nothing',
        wordCount: 3,
        submittedAt: at(95),
      },
      { id: 'a-2', questionId: 'q-2', content: 'No loss', wordCount: 2, submittedAt: at(100) },
    ]);
    expect(state.sequence).toBe(9);
  });

  it('keeps pausedAt when completed while paused, and clears it on resume', () => {
    const events = lifecycle();
    const paused = stateAt(events, events[5]!.event.eventId);
    expect(paused?.interview).toMatchObject({ status: 'paused', pausedAt: at(96) });
    const resumed = stateAt(events, events[6]!.event.eventId);
    expect(resumed?.interview).toMatchObject({ status: 'in_progress', pausedAt: null });
  });

  it('cancels with the reason and restores to the status the event names', () => {
    const events = lifecycle().slice(0, 4);
    sequence = 4;
    const cancelled = [
      ...events,
      stored('interview.cancelled', 91, {
        cancelledAt: at(91).toISOString(),
        previousStatus: 'in_progress',
        reason: 'account erasure',
      }),
    ];
    expect(replayInterview(cancelled).interview).toMatchObject({
      status: 'cancelled',
      cancelledAt: at(91),
      cancelReason: 'account erasure',
      version: 5,
    });
    const restored = replayInterview([
      ...cancelled,
      stored('interview.restored', 92, {
        restoredAt: at(92).toISOString(),
        status: 'in_progress',
        reason: 'compensated',
      }),
    ]);
    expect(restored.interview).toMatchObject({
      status: 'in_progress',
      cancelledAt: null,
      cancelReason: null,
      startedAt: at(90),
      updatedAt: at(92),
      version: 6,
    });
  });

  it('gives the state after an event, and undefined for an event the stream lacks', () => {
    const events = lifecycle();
    const first = stateAt(events, events[0]!.event.eventId);
    expect(first?.interview).toMatchObject({ status: 'draft', version: 1, scheduledFor: null });
    expect(first?.answers).toEqual([]);
    const afterAnswer = stateAt(events, events[4]!.event.eventId);
    expect(afterAnswer?.answers.map((a) => a.id)).toEqual(['a-1']);
    expect(afterAnswer?.sequence).toBe(5);
    expect(stateAt(events, 'no-such-event')).toBeUndefined();
  });

  it('refuses a stream with a gap, a second creation, or no creation first, saying where', () => {
    const events = lifecycle();
    expect(() => replayInterview([events[0]!, events[2]!])).toThrow(
      /interview i-1, event 3 \(interview.scheduled\): expected event number 2/,
    );
    expect(() => replayInterview(events.slice(1))).toThrow(StreamOrderError);
    const again = { ...events[0]!, sequence: 2 } as StreamEvent;
    expect(() => replayInterview([events[0]!, again])).toThrow(/a second creation/);
    expect(() => replayInterview([])).toThrow(/an empty stream/);
  });

  it('refuses an event of another interview in the stream', () => {
    const events = lifecycle();
    const other = {
      ...events[1]!,
      event: { ...events[1]!.event, payload: { ...events[1]!.event.payload, interviewId: 'i-2' } },
    } as StreamEvent;
    expect(() => applyStreamEvent(replayInterview([events[0]!]), other)).toThrow(
      /the stream is interview i-1's/,
    );
  });

  it('does not change the state it folds into', () => {
    const events = lifecycle();
    const before = replayInterview(events.slice(0, 4));
    const copy = structuredClone(before);
    applyStreamEvent(before, events[4]!);
    expect(before).toEqual(copy);
  });
});

describe('the event types of Interview.history', () => {
  it('are defined exactly as in the events subgraph (what subscriptions deliver)', () => {
    const definitions = (file: string) => {
      const byName = new Map<string, string>();
      for (const node of parse(readFileSync(file, 'utf8')).definitions as DefinitionNode[]) {
        if (
          'name' in node &&
          node.name &&
          /^Interview(\w+Event|PauseReason|ResumeTrigger)$|^InterviewEvent$/.test(node.name.value)
        ) {
          byName.set(node.name.value, print(node));
        }
      }
      return byName;
    };
    const events = definitions(EVENTS_SCHEMA_FILE);
    const interviews = definitions(join(__dirname, 'schema.graphql'));
    expect(events.size).toBeGreaterThanOrEqual(12);
    expect([...interviews.keys()].sort()).toEqual([...events.keys()].sort());
    for (const [name, sdl] of events) expect(interviews.get(name)).toBe(sdl);
  });
});
