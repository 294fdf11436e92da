/**
 * The emails' words: pure functions from what the service knows to a subject, a plain-text body
 * and an HTML body. Every value from an event is escaped in the HTML.
 */
/** An email's words: its subject and both bodies. */
export interface MessageContent {
  subject: string;
  text: string;
  html: string;
}

/** Whom an email greets (by first name when known). */
export interface Addressee {
  firstName: string | null;
  lastName: string | null;
  email: string;
  /** IANA time zone that times are written in, from their registration. @default 'UTC' */
  timeZone?: string;
}

/** What names an interview in subjects and bodies (from `interview.created`). */
export interface InterviewFacts {
  title: string;
  position: string;
}

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** `value` with `& < > " '` as HTML entities, safe in text and in quoted attributes. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

function greeting(to: Addressee): string {
  return to.firstName ? `Hello ${to.firstName},` : 'Hello,';
}

/**
 * `Tuesday, 1 December 2026 at 09:00 UTC`, or in the reader's zone `Tuesday, 1 December 2026 at
 * 10:00 (Europe/Paris)`: unambiguous for every reader.
 */
export function formatWhen(iso: string, timeZone = 'UTC'): string {
  const date = new Date(iso);
  const day = new Intl.DateTimeFormat('en-GB', {
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    timeZone,
  }).format(date);
  const time = new Intl.DateTimeFormat('en-GB', {
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZone,
  }).format(date);
  return timeZone === 'UTC' ? `${day} at ${time} UTC` : `${day} at ${time} (${timeZone})`;
}

/** `your interview "Backend screen" (Engineer)`, or just `your interview`. */
function named(interview: InterviewFacts | undefined): string {
  return interview
    ? `your interview "${interview.title}" (${interview.position})`
    : 'your interview';
}

const capitalized = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** Paragraphs to both bodies: text joined by blank lines, HTML as escaped `<p>`s. */
function compose(subject: string, paragraphs: string[]): MessageContent {
  const signed = [...paragraphs, 'The Interview Graph team'];
  return {
    subject,
    text: signed.join('\n\n') + '\n',
    html:
      '<!doctype html><html><body>' +
      signed.map((p) => `<p>${escapeHtml(p)}</p>`).join('') +
      '</body></html>',
  };
}

/** The email after `user.registered`. */
export function welcomeEmail(to: Addressee): MessageContent {
  return compose('Welcome to Interview Graph', [
    greeting(to),
    `Your account (${to.email}) is ready. Sign in to see your interviews, answer their questions at your own pace and follow your results.`,
  ]);
}

/**
 * The email after `interview.scheduled`.
 * @param interview - undefined when the service never saw its `interview.created`: the email
 * then says "your interview".
 * @param scheduledFor - ISO 8601, written out in the addressee's time zone ({@link formatWhen}).
 */
export function interviewScheduledEmail(
  to: Addressee,
  interview: InterviewFacts | undefined,
  scheduledFor: string,
): MessageContent {
  const subject = interview
    ? `Interview scheduled: ${interview.title}`
    : 'Your interview is scheduled';
  return compose(subject, [
    greeting(to),
    `${capitalized(named(interview))} is scheduled for ${formatWhen(scheduledFor, to.timeZone)}.`,
    'If you sign out during the interview, it is paused, and resumes when you sign in again.',
  ]);
}

/**
 * The email after `interview.completed`, with how many questions were answered and in how many
 * minutes (at least one).
 * @param interview - undefined when unknown: the email then says "your interview".
 */
export function interviewCompletedEmail(
  to: Addressee,
  interview: InterviewFacts | undefined,
  facts: { answeredQuestions: number; totalQuestions: number; durationSeconds: number },
): MessageContent {
  const subject = interview
    ? `Interview completed: ${interview.title}`
    : 'Your interview is complete';
  const minutes = Math.max(1, Math.round(facts.durationSeconds / 60));
  return compose(subject, [
    greeting(to),
    `Thank you for completing ${named(interview)}. You answered ${facts.answeredQuestions} of ${facts.totalQuestions} questions in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
    'We will be in touch about the next steps.',
  ]);
}

/**
 * The email after `interview.cancelled`.
 * @param interview - undefined when unknown: the email then says "your interview".
 * @param reason - the cancellation's reason, after a colon, when given.
 */
export function interviewCancelledEmail(
  to: Addressee,
  interview: InterviewFacts | undefined,
  reason: string | undefined,
): MessageContent {
  const subject = interview
    ? `Interview cancelled: ${interview.title}`
    : 'Your interview is cancelled';
  return compose(subject, [
    greeting(to),
    `${capitalized(named(interview))} has been cancelled${reason ? `: ${reason}` : '.'}`,
  ]);
}

/**
 * The confirmation of an account erasure (the saga's `forget-recipient`), the last email the
 * address gets: it names no data but the address it goes to.
 */
export function erasureConfirmationEmail(to: Addressee): MessageContent {
  return compose('Your account has been erased', [
    greeting(to),
    `As requested, the account of ${to.email} on Interview Graph has been erased: your profile, your answers and your activity are gone, and your interviews and reports name you no more.`,
    'We have now forgotten this address too: this is the last email you get from us.',
  ]);
}
