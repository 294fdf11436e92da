import {
  escapeHtml,
  formatWhen,
  interviewCancelledEmail,
  interviewCompletedEmail,
  interviewScheduledEmail,
  welcomeEmail,
} from './templates';

const ada = { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com' };
const nameless = { firstName: null, lastName: null, email: 'x@example.com' };
const interview = { title: 'Backend screen', position: 'Engineer' };

describe('email templates', () => {
  it('greets by first name, or plainly without one, and signs every message', () => {
    expect(welcomeEmail(ada).text).toMatch(/^Hello Ada,\n\nYour account \(ada@example\.com\)/);
    expect(welcomeEmail(nameless).text).toMatch(/^Hello,\n\n/);
    expect(welcomeEmail(ada).text).toMatch(/\n\nThe Interview Graph team\n$/);
    expect(welcomeEmail(ada).html).toMatch(/^<!doctype html>.*<p>The Interview Graph team<\/p>/);
  });

  it('names the interview and its time in UTC when it knows them', () => {
    const known = interviewScheduledEmail(ada, interview, '2025-12-01T09:05:00+01:00');
    expect(known.subject).toBe('Interview scheduled: Backend screen');
    expect(known.text).toContain(
      'Your interview "Backend screen" (Engineer) is scheduled for Monday, 1 December 2025 at 08:05 UTC.',
    );
    const unknown = interviewScheduledEmail(ada, undefined, '2025-12-01T09:05:00Z');
    expect(unknown.subject).toBe('Your interview is scheduled');
    expect(unknown.text).toContain('Your interview is scheduled for Monday');
  });

  it("writes the time in the addressee's own time zone when it is not UTC", () => {
    const inParis = interviewScheduledEmail(
      { ...ada, timeZone: 'Europe/Paris' },
      interview,
      '2025-07-01T09:05:00Z',
    );
    expect(inParis.text).toContain(
      'is scheduled for Tuesday, 1 July 2025 at 11:05 (Europe/Paris).',
    );
    const inUtc = interviewScheduledEmail(
      { ...ada, timeZone: 'UTC' },
      interview,
      '2025-07-01T09:05:00Z',
    );
    expect(inUtc.text).toContain('is scheduled for Tuesday, 1 July 2025 at 09:05 UTC.');
  });

  it('summarises a completed interview, rounding to whole minutes (at least one)', () => {
    const facts = { answeredQuestions: 3, totalQuestions: 4, durationSeconds: 20 };
    expect(interviewCompletedEmail(ada, interview, facts).text).toContain(
      'Thank you for completing your interview "Backend screen" (Engineer). You answered 3 of 4 questions in 1 minute.',
    );
    expect(
      interviewCompletedEmail(ada, undefined, { ...facts, durationSeconds: 150 }).text,
    ).toContain('in 3 minutes.');
  });

  it('gives the reason of a cancellation when there is one', () => {
    expect(interviewCancelledEmail(ada, interview, 'filled').text).toContain(
      'Your interview "Backend screen" (Engineer) has been cancelled: filled',
    );
    expect(interviewCancelledEmail(ada, undefined, undefined).text).toContain(
      'Your interview has been cancelled.',
    );
  });

  it('escapes every value in the HTML body, never in the text body', () => {
    const evil = { ...ada, firstName: '<script>alert("x")</script>' };
    const email = welcomeEmail(evil);
    expect(email.html).not.toContain('<script>');
    expect(email.html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(email.text).toContain('<script>alert("x")</script>');
    expect(escapeHtml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;');
  });

  it('formats times unambiguously', () => {
    expect(formatWhen('2026-02-28T23:59:00-02:00')).toBe('Sunday, 1 March 2026 at 01:59 UTC');
  });
});
