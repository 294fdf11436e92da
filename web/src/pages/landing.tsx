import { signInHref } from '../api';

/** `/` for visitors who are not signed in. */
export function Landing() {
  return (
    <section className="landing">
      <h1>Interview Graph</h1>
      <p className="lead">
        Create interviews, answer their questions, and watch each interview change live as it
        happens: scheduled, started, paused, answered, completed.
      </p>
      <ul className="features">
        <li>Your interviews and their status, updated in real time</li>
        <li>A report of your answers, scores and completion</li>
        <li>Reminders and auto-resume preferences</li>
      </ul>
      <p>
        <a className="button" href={signInHref('/interviews')}>
          Sign in to get started
        </a>
      </p>
    </section>
  );
}
