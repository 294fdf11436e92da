/**
 * `/interviews/<id>`: one interview, its actions, its questions and answers, and its live
 * events. The page follows `interviewUpdated(id)` (each result is the interview after an event)
 * and also applies every mutation's result at once, without waiting for the event.
 */
import { useCallback, useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import type { LiveStatus } from '../api';
import { ErrorAlert, LiveIndicator, STATUS_LABELS, StatusBadge, Time } from '../components';
import { graphql } from '../gql';
import type {
  InterviewFieldsFragment,
  InterviewHistoryQuery,
  InterviewStatus,
} from '../gql/graphql';
import { useApi } from '../hooks';
import { Link } from '../router';

graphql(`
  fragment InterviewFields on Interview {
    id
    title
    position
    status
    createdAt
    scheduledFor
    startedAt
    pausedAt
    completedAt
    cancelledAt
    questions {
      id
      position
      text
    }
    answers {
      id
      content
      wordCount
      submittedAt
      question {
        id
      }
    }
  }
`);

const InterviewQuery = graphql(`
  query Interview($id: ID!) {
    interview(id: $id) {
      ...InterviewFields
    }
  }
`);

const InterviewUpdated = graphql(`
  subscription InterviewUpdated($id: ID!) {
    interviewUpdated(id: $id) {
      ...InterviewFields
    }
  }
`);

const InterviewHistory = graphql(`
  query InterviewHistory($id: ID!) {
    interview(id: $id) {
      id
      history {
        __typename
        eventId
        eventType
        timestamp
        ... on InterviewScheduledEvent {
          scheduledFor
        }
        ... on InterviewPausedEvent {
          pauseReason: reason
        }
        ... on InterviewResumedEvent {
          trigger
        }
        ... on InterviewAnswerSubmittedEvent {
          answeredQuestions
          totalQuestions
        }
        ... on InterviewCancelledEvent {
          reason
        }
        ... on InterviewRestoredEvent {
          status
        }
      }
    }
  }
`);

const ScheduleInterview = graphql(`
  mutation ScheduleInterview($id: ID!, $scheduledFor: DateTime!) {
    scheduleInterview(id: $id, scheduledFor: $scheduledFor) {
      ...InterviewFields
    }
  }
`);

const StartInterview = graphql(`
  mutation StartInterview($id: ID!) {
    startInterview(id: $id) {
      ...InterviewFields
    }
  }
`);

const PauseInterview = graphql(`
  mutation PauseInterview($id: ID!) {
    pauseInterview(id: $id) {
      ...InterviewFields
    }
  }
`);

const ResumeInterview = graphql(`
  mutation ResumeInterview($id: ID!) {
    resumeInterview(id: $id) {
      ...InterviewFields
    }
  }
`);

const CompleteInterview = graphql(`
  mutation CompleteInterview($id: ID!) {
    completeInterview(id: $id) {
      ...InterviewFields
    }
  }
`);

const CancelInterview = graphql(`
  mutation CancelInterview($id: ID!, $reason: String) {
    cancelInterview(id: $id, reason: $reason) {
      ...InterviewFields
    }
  }
`);

const SubmitAnswer = graphql(`
  mutation SubmitAnswer($interviewId: ID!, $questionId: ID!, $content: String!) {
    submitAnswer(interviewId: $interviewId, questionId: $questionId, content: $content) {
      ...InterviewFields
    }
  }
`);

type Interview = InterviewFieldsFragment;

/** What each status allows (the interviews subgraph's lifecycle; it has the last word). */
const can = {
  schedule: (s: InterviewStatus) => s === 'DRAFT' || s === 'SCHEDULED',
  start: (s: InterviewStatus) => s === 'DRAFT' || s === 'SCHEDULED',
  pause: (s: InterviewStatus) => s === 'IN_PROGRESS',
  resume: (s: InterviewStatus) => s === 'PAUSED',
  complete: (s: InterviewStatus) => s === 'IN_PROGRESS' || s === 'PAUSED',
  cancel: (s: InterviewStatus) => s !== 'COMPLETED' && s !== 'CANCELLED',
  answer: (s: InterviewStatus) => s === 'IN_PROGRESS',
};

/** One live result, as the event log lists it. */
interface LoggedEvent {
  key: string;
  eventId: string;
  receivedAt: string;
  status: InterviewStatus;
  answers: number;
}

const MAX_LOGGED = 200;

export function InterviewPage({ id }: { id: string }) {
  const { request, live } = useApi();
  const [interview, setInterview] = useState<Interview | null>();
  const [error, setError] = useState<unknown>();
  const [liveStatus, setLiveStatus] = useState<LiveStatus>('connecting');
  const [events, setEvents] = useState<LoggedEvent[]>([]);
  const [busy, setBusy] = useState(false);
  /** Live results applied so far: a query answer older than one of them is not applied. */
  const liveResults = useRef(0);

  const load = useCallback(() => {
    const before = liveResults.current;
    request(InterviewQuery, { id }).then(
      (data) => {
        if (liveResults.current === before || data.interview === null) setInterview(data.interview);
      },
      (failure: unknown) => setError(failure),
    );
  }, [request, id]);

  useEffect(load, [load]);

  useEffect(() => {
    let counter = 0;
    return live(
      InterviewUpdated,
      { id },
      {
        onResult: (data, meta) => {
          liveResults.current += 1;
          const updated = data.interviewUpdated;
          setInterview(updated);
          counter += 1;
          const eventId = meta.eventId ?? '';
          setEvents((logged) =>
            eventId !== '' && logged.some((e) => e.eventId === eventId)
              ? logged
              : [
                  {
                    key: eventId || `result-${counter}`,
                    eventId,
                    receivedAt: new Date().toISOString(),
                    status: updated.status,
                    answers: updated.answers.length,
                  },
                  ...logged,
                ].slice(0, MAX_LOGGED),
          );
        },
        onStatus: setLiveStatus,
        onError: setError,
        // The gateway could not replay everything missed: read the interview afresh.
        onGap: load,
      },
    );
  }, [live, id, load]);

  /** Runs a mutation and shows its result at once. */
  const act = async (run: () => Promise<Interview>): Promise<boolean> => {
    setBusy(true);
    setError(undefined);
    try {
      setInterview(await run());
      return true;
    } catch (failure) {
      setError(failure);
      return false;
    } finally {
      setBusy(false);
    }
  };

  if (interview === undefined) {
    return (
      <>
        <ErrorAlert error={error} />
        {error ? null : <p aria-busy="true">Loading…</p>}
      </>
    );
  }
  if (interview === null) {
    return (
      <>
        <h1>Interview not found</h1>
        <p>
          It does not exist, or it is not yours. <Link to="/interviews">Back to my interviews</Link>
        </p>
      </>
    );
  }

  return (
    <article className="interview">
      <p className="back">
        <Link to="/interviews">← My interviews</Link>
      </p>
      <header className="interview-head">
        <h1>{interview.title}</h1>
        <p className="muted">{interview.position}</p>
        <p>
          Status: <StatusBadge status={interview.status} testId="interview-status" />{' '}
          <span className="muted small">({STATUS_LABELS[interview.status]})</span>
        </p>
        <LiveIndicator status={liveStatus} />
      </header>
      <ErrorAlert error={error} />
      <Actions interview={interview} busy={busy} act={act} onError={setError} />
      <Timestamps interview={interview} />
      <Questions interview={interview} busy={busy} act={act} onError={setError} />
      <EventLog events={events} />
      <History
        id={interview.id}
        version={`${interview.status}:${interview.answers.length}:${events.length}`}
      />
    </article>
  );
}

/** What the page hands its parts: the interview, and how to run a mutation on it. */
interface PartProps {
  interview: Interview;
  busy: boolean;
  act: (run: () => Promise<Interview>) => Promise<boolean>;
  onError: (error: Error) => void;
}

function Actions(props: PartProps) {
  const { request } = useApi();
  const { id, status } = props.interview;
  const run = (mutation: 'start' | 'pause' | 'resume' | 'complete') => () =>
    void props.act(async () => {
      switch (mutation) {
        case 'start':
          return (await request(StartInterview, { id })).startInterview;
        case 'pause':
          return (await request(PauseInterview, { id })).pauseInterview;
        case 'resume':
          return (await request(ResumeInterview, { id })).resumeInterview;
        case 'complete':
          return (await request(CompleteInterview, { id })).completeInterview;
      }
    });
  const schedule = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const value = String(new FormData(event.currentTarget).get('scheduledFor') ?? '');
    const when = new Date(value);
    if (value === '' || Number.isNaN(when.getTime())) {
      props.onError(new Error('Pick a date and time to schedule the interview for.'));
      return;
    }
    void props.act(
      async () =>
        (await request(ScheduleInterview, { id, scheduledFor: when.toISOString() }))
          .scheduleInterview,
    );
  };
  const cancel = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const reason = String(new FormData(event.currentTarget).get('reason') ?? '').trim();
    void props.act(
      async () =>
        (await request(CancelInterview, { id, reason: reason === '' ? null : reason }))
          .cancelInterview,
    );
  };
  const buttons: ReactNode[] = [];
  const button = (name: 'start' | 'pause' | 'resume' | 'complete', label: string) =>
    buttons.push(
      <button
        key={name}
        type="button"
        className={name === 'complete' ? 'button' : 'button secondary'}
        data-testid={`action-${name}`}
        disabled={props.busy}
        onClick={run(name)}
      >
        {label}
      </button>,
    );
  if (can.start(status)) button('start', 'Start');
  if (can.pause(status)) button('pause', 'Pause');
  if (can.resume(status)) button('resume', 'Resume');
  if (can.complete(status)) button('complete', 'Complete');
  if (!can.schedule(status) && buttons.length === 0 && !can.cancel(status)) {
    return <p className="muted">This interview is {STATUS_LABELS[status].toLowerCase()}.</p>;
  }
  return (
    <section aria-labelledby="actions-heading" className="card">
      <h2 id="actions-heading">Actions</h2>
      {buttons.length > 0 ? <div className="button-row">{buttons}</div> : null}
      {can.schedule(status) ? (
        <form className="inline-form" onSubmit={schedule}>
          <label>
            {status === 'SCHEDULED' ? 'Reschedule for' : 'Schedule for'}
            <input type="datetime-local" name="scheduledFor" required />
          </label>
          <button
            type="submit"
            className="button secondary"
            data-testid="action-schedule"
            disabled={props.busy}
          >
            {status === 'SCHEDULED' ? 'Reschedule' : 'Schedule'}
          </button>
        </form>
      ) : null}
      {can.cancel(status) ? (
        <form className="inline-form" onSubmit={cancel}>
          <label>
            Cancellation reason <span className="muted small">(optional)</span>
            <input name="reason" maxLength={500} autoComplete="off" />
          </label>
          <button
            type="submit"
            className="button danger"
            data-testid="action-cancel"
            disabled={props.busy}
          >
            Cancel interview
          </button>
        </form>
      ) : null}
    </section>
  );
}

function Questions(props: PartProps) {
  const { request } = useApi();
  const { id } = props.interview;
  const answers = new Map(props.interview.answers.map((a) => [a.question.id, a]));
  const answering = can.answer(props.interview.status);
  const submit = (questionId: string) => (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const content = String(new FormData(form).get('content') ?? '').trim();
    if (content === '') {
      props.onError(new Error('Write an answer before submitting it.'));
      return;
    }
    void props.act(
      async () =>
        (await request(SubmitAnswer, { interviewId: id, questionId, content })).submitAnswer,
    );
  };
  const questions = [...props.interview.questions].sort((a, b) => a.position - b.position);
  return (
    <section aria-labelledby="questions-heading">
      <h2 id="questions-heading">
        Questions{' '}
        <span className="muted small">
          ({answers.size} of {questions.length} answered)
        </span>
      </h2>
      <ol className="questions">
        {questions.map((question) => {
          const answer = answers.get(question.id);
          const inputId = `answer-${question.position}`;
          return (
            <li key={question.id} className="question">
              <p className="question-text">{question.text}</p>
              {answer ? (
                <div className="answer">
                  <p>{answer.content}</p>
                  <p className="muted small">
                    {answer.wordCount} {answer.wordCount === 1 ? 'word' : 'words'}, submitted{' '}
                    <Time value={answer.submittedAt} />
                  </p>
                </div>
              ) : answering ? (
                <form className="form" onSubmit={submit(question.id)}>
                  <label htmlFor={inputId}>Your answer</label>
                  <textarea
                    id={inputId}
                    name="content"
                    rows={4}
                    required
                    data-testid={`answer-input-${question.position}`}
                  />
                  <button
                    type="submit"
                    className="button"
                    data-testid={`answer-submit-${question.position}`}
                    disabled={props.busy}
                  >
                    Submit answer
                  </button>
                </form>
              ) : (
                <p className="muted small">Not answered.</p>
              )}
            </li>
          );
        })}
      </ol>
    </section>
  );
}

function Timestamps({ interview }: { interview: Interview }) {
  const rows: [string, string | null][] = [
    ['Created', interview.createdAt],
    ['Scheduled for', interview.scheduledFor],
    ['Started', interview.startedAt],
    ['Paused', interview.pausedAt],
    ['Completed', interview.completedAt],
    ['Cancelled', interview.cancelledAt],
  ];
  return (
    <dl className="facts">
      {rows
        .filter((row): row is [string, string] => row[1] !== null)
        .map(([label, value]) => (
          <div key={label}>
            <dt>{label}</dt>
            <dd>
              <Time value={value} />
            </dd>
          </div>
        ))}
    </dl>
  );
}

type HistoryEvent = NonNullable<InterviewHistoryQuery['interview']>['history'][number];

/** One event of the history in words, e.g. `Paused (manual)`. */
function describe(event: HistoryEvent): ReactNode {
  switch (event.__typename) {
    case 'InterviewCreatedEvent':
      return 'Created';
    case 'InterviewScheduledEvent':
      return (
        <>
          Scheduled for <Time value={event.scheduledFor} />
        </>
      );
    case 'InterviewStartedEvent':
      return 'Started';
    case 'InterviewAnswerSubmittedEvent':
      return `Answer submitted (${event.answeredQuestions} of ${event.totalQuestions})`;
    case 'InterviewPausedEvent':
      return `Paused (${event.pauseReason.toLowerCase().replace('_', ' ')})`;
    case 'InterviewResumedEvent':
      return event.trigger === 'USER_AUTHENTICATED' ? 'Resumed on sign-in' : 'Resumed';
    case 'InterviewCompletedEvent':
      return 'Completed';
    case 'InterviewCancelledEvent':
      return event.reason ? `Cancelled: ${event.reason}` : 'Cancelled';
    case 'InterviewRestoredEvent':
      return `Restored (${STATUS_LABELS[event.status]})`;
    default: {
      // A type this build does not know yet (a newer gateway's): its name is still something.
      const unknown: { eventType?: string } = event;
      return unknown.eventType ?? 'Event';
    }
  }
}

/**
 * The interview's history, oldest first: every event of its stream (`Interview.history`), read
 * again whenever `version` says the interview changed.
 */
function History({ id, version }: { id: string; version: string }) {
  const { request } = useApi();
  const [history, setHistory] = useState<HistoryEvent[]>();
  useEffect(() => {
    let current = true;
    request(InterviewHistory, { id }).then(
      (data) => current && setHistory(data.interview?.history ?? []),
      () => current && setHistory((known) => known ?? []),
    );
    return () => {
      current = false;
    };
  }, [request, id, version]);
  return (
    <section aria-labelledby="history-heading">
      <h2 id="history-heading">History</h2>
      {history === undefined ? <p aria-busy="true">Loading…</p> : null}
      <ol className="events">
        {(history ?? []).map((event) => (
          <li key={event.eventId} data-testid="history-event" data-event-type={event.eventType}>
            <Time value={event.timestamp} /> {describe(event)}
          </li>
        ))}
      </ol>
    </section>
  );
}

function EventLog({ events }: { events: LoggedEvent[] }) {
  return (
    <section aria-labelledby="events-heading">
      <h2 id="events-heading">Live events</h2>
      {events.length === 0 ? (
        <p className="muted">None yet: changes to this interview appear here as they happen.</p>
      ) : null}
      <ul className="events">
        {events.map((event) => (
          <li key={event.key} data-testid="live-event" data-event-id={event.eventId}>
            <Time value={event.receivedAt} timeOnly /> <StatusBadge status={event.status} />{' '}
            <span className="muted">
              {event.answers} {event.answers === 1 ? 'answer' : 'answers'}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}
