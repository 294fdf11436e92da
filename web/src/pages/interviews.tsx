/** `/interviews`: my interviews, newest first, filtered by status, and a form to create one. */
import { useEffect, useState, type FormEvent } from 'react';
import { ErrorAlert, STATUS_LABELS, STATUSES, StatusBadge, Time } from '../components';
import { graphql } from '../gql';
import type { InterviewStatus, MyInterviewsQuery } from '../gql/graphql';
import { useApi } from '../hooks';
import { Link, navigate } from '../router';

const MyInterviews = graphql(`
  query MyInterviews($filter: InterviewFilter, $first: Int, $after: String) {
    interviews(filter: $filter, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          title
          position
          status
          createdAt
          scheduledFor
        }
      }
    }
  }
`);

const CreateInterview = graphql(`
  mutation CreateInterview($input: CreateInterviewInput!) {
    createInterview(input: $input) {
      id
    }
  }
`);

const PAGE_SIZE = 20;

type Row = MyInterviewsQuery['interviews']['edges'][number]['node'];

const isStatus = (value: string): value is InterviewStatus =>
  (STATUSES as readonly string[]).includes(value);

function InterviewList() {
  const { request } = useApi();
  const [status, setStatus] = useState<InterviewStatus | ''>('');
  const [rows, setRows] = useState<Row[]>([]);
  const [page, setPage] = useState<MyInterviewsQuery['interviews']['pageInfo']>();
  const [total, setTotal] = useState<number>();
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>();

  const load = (after: string | null, filterStatus: InterviewStatus | '') =>
    request(MyInterviews, {
      first: PAGE_SIZE,
      after,
      filter: filterStatus ? { status: [filterStatus] } : null,
    });

  useEffect(() => {
    let current = true;
    setLoading(true);
    setError(undefined);
    load(null, status).then(
      (data) => {
        if (!current) return;
        setRows(data.interviews.edges.map((edge) => edge.node));
        setPage(data.interviews.pageInfo);
        setTotal(data.interviews.totalCount);
        setLoading(false);
      },
      (failure: unknown) => {
        if (!current) return;
        setError(failure);
        setLoading(false);
      },
    );
    return () => {
      current = false;
    };
    // `load` depends on nothing but `request` and its arguments.
  }, [request, status]);

  const loadMore = async () => {
    if (!page?.endCursor) return;
    setLoading(true);
    setError(undefined);
    try {
      const data = await load(page.endCursor, status);
      setRows((before) => {
        const known = new Set(before.map((row) => row.id));
        return [
          ...before,
          ...data.interviews.edges.map((e) => e.node).filter((n) => !known.has(n.id)),
        ];
      });
      setPage(data.interviews.pageInfo);
      setTotal(data.interviews.totalCount);
    } catch (failure) {
      setError(failure);
    } finally {
      setLoading(false);
    }
  };

  return (
    <section aria-labelledby="list-heading">
      <div className="section-head">
        <h2 id="list-heading">Interviews{total !== undefined ? ` (${total})` : ''}</h2>
        <label className="inline-field">
          Status{' '}
          <select
            name="status"
            value={status}
            onChange={(event) => {
              const value = event.target.value;
              setStatus(isStatus(value) ? value : '');
            }}
          >
            <option value="">All</option>
            {STATUSES.map((value) => (
              <option key={value} value={value}>
                {STATUS_LABELS[value]}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorAlert error={error} />
      {rows.length === 0 && !loading && !error ? (
        <p className="muted">No interviews{status ? ` with status ${status}` : ''} yet.</p>
      ) : null}
      <ul className="rows">
        {rows.map((row) => (
          <li key={row.id} data-testid="interview-row">
            <Link to={`/interviews/${encodeURIComponent(row.id)}`} className="row-link">
              <span className="row-main">
                <strong className="row-title">{row.title}</strong>
                <span className="muted">{row.position}</span>
              </span>
              <span className="row-side">
                <StatusBadge status={row.status} />
                <span className="muted small">
                  {row.scheduledFor ? (
                    <>
                      for <Time value={row.scheduledFor} />
                    </>
                  ) : (
                    <>
                      created <Time value={row.createdAt} />
                    </>
                  )}
                </span>
              </span>
            </Link>
          </li>
        ))}
      </ul>
      {loading ? <p aria-busy="true">Loading…</p> : null}
      {page?.hasNextPage && !loading ? (
        <button type="button" className="button secondary" onClick={() => void loadMore()}>
          Load more
        </button>
      ) : null}
    </section>
  );
}

function CreateForm({ isAdmin }: { isAdmin: boolean }) {
  const { request } = useApi();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const text = (name: string) => String(form.get(name) ?? '').trim();
    const questions = text('questions')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '');
    if (questions.length === 0) {
      setError(new Error('Add at least one question, one per line.'));
      return;
    }
    const candidateId = text('candidateId');
    setBusy(true);
    setError(undefined);
    try {
      const data = await request(CreateInterview, {
        input: {
          title: text('title'),
          position: text('position'),
          questions,
          ...(candidateId ? { candidateId } : {}),
        },
      });
      navigate(`/interviews/${encodeURIComponent(data.createInterview.id)}`);
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="create-heading" className="card">
      <h2 id="create-heading">New interview</h2>
      <form onSubmit={(event) => void submit(event)} className="form">
        <label>
          Title
          <input name="title" required maxLength={200} autoComplete="off" />
        </label>
        <label>
          Position
          <input name="position" required maxLength={200} autoComplete="off" />
        </label>
        <label>
          Questions <span className="muted small">(one per line)</span>
          <textarea name="questions" required rows={5} />
        </label>
        {isAdmin ? (
          <label>
            Candidate id <span className="muted small">(optional; defaults to you)</span>
            <input name="candidateId" autoComplete="off" />
          </label>
        ) : null}
        <ErrorAlert error={error} />
        <button type="submit" className="button" data-testid="create-interview" disabled={busy}>
          {busy ? 'Creating…' : 'Create interview'}
        </button>
      </form>
    </section>
  );
}

export function InterviewsPage({ isAdmin }: { isAdmin: boolean }) {
  return (
    <>
      <h1>My interviews</h1>
      <div className="columns">
        <InterviewList />
        <CreateForm isAdmin={isAdmin} />
      </div>
    </>
  );
}
