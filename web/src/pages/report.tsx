/** `/report`: my figures (reporting's stats), a report per interview, and my recent activity. */
import { ErrorAlert, formatNumber, NotRegistered, StatusBadge, Time } from '../components';
import { graphql } from '../gql';
import { useQuery } from '../hooks';
import { Link } from '../router';

const MyReport = graphql(`
  query MyReport {
    me {
      id
      email
      firstName
      lastName
      company
      createdAt
      lastLoginAt
      stats {
        interviewsCreated
        interviewsCompleted
        interviewsCancelled
        answersSubmitted
        averageScore
      }
      interviews {
        id
        title
        position
        status
        report {
          answers
          totalQuestions
          completion
          wordCount
          durationSeconds
          score
          lastEventAt
        }
      }
      recentActivity(first: 10) {
        id
        description
        occurredAt
      }
    }
  }
`);

function duration(seconds: number | null): string {
  if (seconds === null) return '—';
  const minutes = Math.floor(seconds / 60);
  return minutes > 0 ? `${minutes} min ${seconds % 60} s` : `${seconds} s`;
}

export function ReportPage() {
  const { data, error, loading } = useQuery(MyReport, {});
  const me = data?.me;
  return (
    <>
      <h1>Report</h1>
      <ErrorAlert error={error} />
      {loading && !data ? <p aria-busy="true">Loading…</p> : null}
      {data && me === null ? <NotRegistered /> : null}
      {me ? (
        <>
          <p className="muted">
            {[me.firstName, me.lastName].filter(Boolean).join(' ') || me.email}
            {me.company ? `, ${me.company}` : ''} · member since <Time value={me.createdAt} />
            {me.lastLoginAt ? (
              <>
                {' '}
                · last sign-in <Time value={me.lastLoginAt} />
              </>
            ) : null}
          </p>
          <section aria-labelledby="stats-heading">
            <h2 id="stats-heading">My stats</h2>
            <dl className="stats" data-testid="my-stats">
              <div>
                <dt>Interviews created</dt>
                <dd>{me.stats.interviewsCreated}</dd>
              </div>
              <div>
                <dt>Completed</dt>
                <dd>{me.stats.interviewsCompleted}</dd>
              </div>
              <div>
                <dt>Cancelled</dt>
                <dd>{me.stats.interviewsCancelled}</dd>
              </div>
              <div>
                <dt>Answers submitted</dt>
                <dd>{me.stats.answersSubmitted}</dd>
              </div>
              <div>
                <dt>Average score</dt>
                <dd>{formatNumber(me.stats.averageScore)}</dd>
              </div>
            </dl>
          </section>
          <section aria-labelledby="reports-heading">
            <h2 id="reports-heading">Interviews</h2>
            {me.interviews.length === 0 ? <p className="muted">No interviews yet.</p> : null}
            {me.interviews.length > 0 ? (
              <div className="table-wrap">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Interview</th>
                      <th scope="col">Status</th>
                      <th scope="col">Answers</th>
                      <th scope="col">Words</th>
                      <th scope="col">Duration</th>
                      <th scope="col">Score</th>
                    </tr>
                  </thead>
                  <tbody>
                    {me.interviews.map((interview) => (
                      <tr key={interview.id} data-testid="report-row">
                        <td>
                          <Link to={`/interviews/${encodeURIComponent(interview.id)}`}>
                            {interview.title}
                          </Link>
                          <div className="muted small">{interview.position}</div>
                        </td>
                        <td>
                          <StatusBadge status={interview.status} />
                        </td>
                        {interview.report ? (
                          <>
                            <td>
                              {interview.report.answers}/{interview.report.totalQuestions} (
                              {Math.round(interview.report.completion * 100)}%)
                            </td>
                            <td>{interview.report.wordCount}</td>
                            <td>{duration(interview.report.durationSeconds)}</td>
                            <td>{interview.report.score ?? '—'}</td>
                          </>
                        ) : (
                          <td colSpan={4} className="muted">
                            No report yet
                          </td>
                        )}
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            ) : null}
          </section>
          <section aria-labelledby="activity-heading">
            <h2 id="activity-heading">Recent activity</h2>
            {me.recentActivity.length === 0 ? <p className="muted">Nothing yet.</p> : null}
            <ul className="events">
              {me.recentActivity.map((activity) => (
                <li key={activity.id}>
                  <Time value={activity.occurredAt} /> {activity.description}
                </li>
              ))}
            </ul>
          </section>
        </>
      ) : null}
    </>
  );
}
