/** Small pieces the pages share. */
import type { InterviewStatus } from './gql/graphql';
import type { LiveStatus } from './api';
import { GraphQLRequestError, signInHref } from './api';
import { currentLocation } from './router';

/** An error as the user reads it, with the gateway's code when there is one. */
export function ErrorAlert({ error }: { error: unknown }) {
  if (error === undefined || error === null) return null;
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof GraphQLRequestError ? error.code : undefined;
  return (
    <p role="alert" className="alert">
      {message}
      {code ? (
        <>
          {' '}
          <code className="code">({code})</code>
        </>
      ) : null}
    </p>
  );
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });

/** A timestamp in the reader's time zone, machine-readable in `datetime`. */
export function Time({ value, timeOnly: onlyTime = false }: { value: string; timeOnly?: boolean }) {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return <span>{value}</span>;
  return <time dateTime={value}>{(onlyTime ? timeOnly : dateTime).format(date)}</time>;
}

export const STATUS_LABELS: Record<InterviewStatus, string> = {
  DRAFT: 'Draft',
  SCHEDULED: 'Scheduled',
  IN_PROGRESS: 'In progress',
  PAUSED: 'Paused',
  COMPLETED: 'Completed',
  CANCELLED: 'Cancelled',
};

export const STATUSES: readonly InterviewStatus[] = [
  'DRAFT',
  'SCHEDULED',
  'IN_PROGRESS',
  'PAUSED',
  'COMPLETED',
  'CANCELLED',
];

/** The status as its enum value (what tests and the API say), styled per status. */
export function StatusBadge({ status, testId }: { status: InterviewStatus; testId?: string }) {
  return (
    <span className={`badge badge-${status.toLowerCase()}`} data-testid={testId}>
      {status}
    </span>
  );
}

/** The live subscription's state, announced politely to screen readers. */
export function LiveIndicator({ status }: { status: LiveStatus }) {
  return (
    <p className={`live live-${status}`}>
      <span className="live-dot" aria-hidden="true" />
      Live updates:{' '}
      <span data-testid="live-status" aria-live="polite">
        {status}
      </span>
    </p>
  );
}

/** Signed in at the IdP, but the platform has no user yet (registration is on its way). */
export function NotRegistered() {
  return (
    <div className="notice" role="status">
      <p>
        <strong>You are signed in, but not registered on the platform yet.</strong>
      </p>
      <p>
        Registration usually completes within a few seconds of your first sign-in. Reload this page
        in a moment; if it stays like this, ask an administrator.
      </p>
    </div>
  );
}

/** For a page that needs a session. */
export function SignInPrompt() {
  return (
    <div className="notice">
      <p>Sign in to see this page.</p>
      <p>
        <a className="button" href={signInHref(currentLocation())}>
          Sign in
        </a>
      </p>
    </div>
  );
}

/** `1.23` as `1.2`, and null as an em dash. */
export function formatNumber(value: number | null | undefined, digits = 1): string {
  return value === null || value === undefined ? '—' : value.toFixed(digits).replace(/\.0+$/, '');
}
