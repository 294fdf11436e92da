/** `/admin`: platform figures, the audit trail, and live system events (admins only). */
import { useEffect, useState, type FormEvent } from 'react';
import type { LiveStatus } from '../api';
import { ErrorAlert, formatNumber, LiveIndicator, Time } from '../components';
import { graphql } from '../gql';
import type { SystemEventsSubscription } from '../gql/graphql';
import { useApi, useQuery } from '../hooks';

const PlatformStats = graphql(`
  query PlatformStats {
    platformStats {
      interviews
      inProgress
      completed
      cancelled
      answers
      averageScore
      eventsProcessed
    }
  }
`);

const AuditTrail = graphql(`
  query AuditTrail($actor: ID, $eventTypes: [String!], $first: Int) {
    auditTrail(actor: $actor, eventTypes: $eventTypes, first: $first) {
      eventId
      topic
      eventType
      source
      actor
      subject
      occurredAt
      recordedAt
    }
  }
`);

const SystemEvents = graphql(`
  subscription SystemEvents($types: [String!]) {
    systemEvents(types: $types) {
      __typename
      eventId
      eventType
      timestamp
      service
      ... on HandlerFailedEvent {
        groupId
        topic
        failedEventType
        error
        attempts
        deadLetterTopic
      }
      ... on ServiceStartedEvent {
        instanceId
        hostname
        pid
      }
      ... on ServiceStoppedEvent {
        instanceId
        reason
        uptimeSeconds
      }
    }
  }
`);

/** `a, b c` as `['a', 'b', 'c']`; none as null (no filter). */
function list(text: string): string[] | null {
  const items = text
    .split(/[\s,]+/)
    .map((item) => item.trim())
    .filter((item) => item !== '');
  return items.length > 0 ? items : null;
}

function Stats() {
  const { data, error } = useQuery(PlatformStats, {});
  const stats = data?.platformStats;
  const figures: [string, string | number][] = stats
    ? [
        ['Interviews', stats.interviews],
        ['In progress', stats.inProgress],
        ['Completed', stats.completed],
        ['Cancelled', stats.cancelled],
        ['Answers', stats.answers],
        ['Average score', formatNumber(stats.averageScore)],
        ['Events processed', stats.eventsProcessed],
      ]
    : [];
  return (
    <section aria-labelledby="platform-heading">
      <h2 id="platform-heading">Platform</h2>
      <ErrorAlert error={error} />
      {stats ? (
        <dl className="stats" data-testid="platform-stats">
          {figures.map(([label, value]) => (
            <div key={label}>
              <dt>{label}</dt>
              <dd>{value}</dd>
            </div>
          ))}
        </dl>
      ) : error ? null : (
        <p aria-busy="true">Loading…</p>
      )}
    </section>
  );
}

interface AuditFilter {
  actor: string | null;
  eventTypes: string[] | null;
  first: number;
}

function Audit() {
  const [filter, setFilter] = useState<AuditFilter>({ actor: null, eventTypes: null, first: 100 });
  const { data, error, loading, reload } = useQuery(AuditTrail, filter);

  const apply = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const actor = String(form.get('actor') ?? '').trim();
    const first = Number(form.get('first'));
    setFilter({
      actor: actor === '' ? null : actor,
      eventTypes: list(String(form.get('eventTypes') ?? '')),
      first: Number.isInteger(first) && first > 0 ? first : 100,
    });
    reload();
  };

  return (
    <section aria-labelledby="audit-heading">
      <h2 id="audit-heading">Audit trail</h2>
      <form className="filters" onSubmit={apply} aria-label="Audit trail filters">
        <label>
          Actor
          <input name="actor" placeholder="user or service id" autoComplete="off" />
        </label>
        <label>
          Event types
          <input name="eventTypes" placeholder="e.g. interview.started" autoComplete="off" />
        </label>
        <label>
          Rows
          <input type="number" name="first" min={1} max={1000} defaultValue={100} />
        </label>
        <button type="submit" className="button secondary">
          Apply
        </button>
      </form>
      <ErrorAlert error={error} />
      {loading ? <p aria-busy="true">Loading…</p> : null}
      {data && data.auditTrail.length === 0 ? <p className="muted">No entries.</p> : null}
      {data && data.auditTrail.length > 0 ? (
        <div className="table-wrap">
          <table>
            <caption className="muted small">Oldest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Event</th>
                <th scope="col">Actor</th>
                <th scope="col">Subject</th>
                <th scope="col">Source</th>
              </tr>
            </thead>
            <tbody>
              {data.auditTrail.map((entry) => (
                <tr key={entry.eventId} data-testid="audit-row">
                  <td>
                    <Time value={entry.occurredAt} />
                  </td>
                  <td>
                    <code>{entry.eventType}</code>
                    <div className="muted small">{entry.topic}</div>
                  </td>
                  <td className="break">{entry.actor ?? '—'}</td>
                  <td className="break">{entry.subject ?? '—'}</td>
                  <td>{entry.source}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}

type SystemEvent = SystemEventsSubscription['systemEvents'];

function describe(event: SystemEvent): string {
  switch (event.__typename) {
    case 'HandlerFailedEvent':
      return `${event.groupId} failed on ${event.failedEventType ?? 'an invalid message'} (${event.topic}) after ${event.attempts} attempts: ${event.error}; sent to ${event.deadLetterTopic}`;
    case 'ServiceStartedEvent':
      return `instance ${event.instanceId} on ${event.hostname} (pid ${event.pid})`;
    case 'ServiceStoppedEvent':
      return `instance ${event.instanceId}: ${event.reason} after ${Math.round(event.uptimeSeconds)} s`;
    default:
      return '';
  }
}

const MAX_EVENTS = 200;

function SystemEventsFeed() {
  const { live } = useApi();
  const [types, setTypes] = useState<string[] | null>(null);
  const [status, setStatus] = useState<LiveStatus>('connecting');
  const [events, setEvents] = useState<SystemEvent[]>([]);
  const [error, setError] = useState<unknown>();

  useEffect(() => {
    setError(undefined);
    return live(
      SystemEvents,
      { types },
      {
        onResult: (data) => setEvents((seen) => [data.systemEvents, ...seen].slice(0, MAX_EVENTS)),
        onStatus: setStatus,
        onError: setError,
      },
    );
  }, [live, types]);

  const apply = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const next = list(String(new FormData(event.currentTarget).get('types') ?? ''));
    setTypes((current) => (JSON.stringify(current) === JSON.stringify(next) ? current : next));
  };

  return (
    <section aria-labelledby="system-heading">
      <h2 id="system-heading">System events</h2>
      <form className="filters" onSubmit={apply} aria-label="System event filters">
        <label>
          Types
          <input name="types" placeholder="e.g. handler.failed" autoComplete="off" />
        </label>
        <button type="submit" className="button secondary">
          Apply
        </button>
      </form>
      <LiveIndicator status={status} />
      <ErrorAlert error={error} />
      {events.length === 0 ? (
        <p className="muted">
          Waiting for events{types ? ` of type ${types.join(', ')}` : ''}: services starting,
          stopping, or failing to handle an event.
        </p>
      ) : null}
      <ul className="events">
        {events.map((event) => (
          <li key={event.eventId} data-testid="system-event" data-event-id={event.eventId}>
            <Time value={event.timestamp} /> <code>{event.eventType}</code>{' '}
            <strong>{event.service}</strong> <span className="muted">{describe(event)}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function AdminPage() {
  return (
    <>
      <h1>Admin</h1>
      <Stats />
      <SystemEventsFeed />
      <Audit />
    </>
  );
}
