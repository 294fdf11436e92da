/** `/preferences`: how my interviews behave (time zone, reminders, auto-resume). */
import { useState, type FormEvent } from 'react';
import { ErrorAlert, NotRegistered } from '../components';
import { graphql } from '../gql';
import type { UpdateInterviewPreferencesMutation } from '../gql/graphql';
import { useApi, useQuery } from '../hooks';

const MyPreferences = graphql(`
  query MyPreferences {
    me {
      id
      interviewPreferences {
        timezone
        reminderMinutesBefore
        autoResume
      }
    }
  }
`);

const UpdatePreferences = graphql(`
  mutation UpdateInterviewPreferences($input: InterviewPreferencesInput!) {
    updateInterviewPreferences(input: $input) {
      timezone
      reminderMinutesBefore
      autoResume
    }
  }
`);

type Preferences = UpdateInterviewPreferencesMutation['updateInterviewPreferences'];

/** The IANA zones the browser knows, for the time zone field's suggestions. */
function timeZones(): string[] {
  try {
    return Intl.supportedValuesOf('timeZone');
  } catch {
    return ['UTC'];
  }
}

function PreferencesForm({ initial }: { initial: Preferences }) {
  const { request } = useApi();
  const [saved, setSaved] = useState<Preferences>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [zones] = useState(timeZones);

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const minutes = Number(form.get('reminderMinutesBefore'));
    if (!Number.isInteger(minutes) || minutes < 0) {
      setError(new Error('Reminder minutes must be a whole number, 0 or more.'));
      return;
    }
    setBusy(true);
    setError(undefined);
    setSaved(undefined);
    try {
      const data = await request(UpdatePreferences, {
        input: {
          timezone: String(form.get('timezone') ?? '').trim(),
          reminderMinutesBefore: minutes,
          autoResume: form.get('autoResume') === 'on',
        },
      });
      setSaved(data.updateInterviewPreferences);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      className="form card"
      data-testid="preferences-form"
      onSubmit={(event) => void submit(event)}
      onChange={() => setSaved(undefined)}
    >
      <label>
        Time zone
        <input
          name="timezone"
          required
          list="time-zones"
          defaultValue={initial.timezone}
          autoComplete="off"
        />
        <datalist id="time-zones">
          {zones.map((zone) => (
            <option key={zone} value={zone} />
          ))}
        </datalist>
      </label>
      <label>
        Reminder, minutes before a scheduled interview{' '}
        <span className="muted small">(0: none)</span>
        <input
          type="number"
          name="reminderMinutesBefore"
          min={0}
          step={1}
          required
          defaultValue={initial.reminderMinutesBefore}
        />
      </label>
      <label className="checkbox">
        <input type="checkbox" name="autoResume" defaultChecked={initial.autoResume} />
        Resume paused interviews when I sign in
      </label>
      <ErrorAlert error={error} />
      <div className="button-row">
        <button type="submit" className="button" disabled={busy}>
          {busy ? 'Saving…' : 'Save preferences'}
        </button>
        {saved ? (
          <p role="status" className="saved" data-testid="preferences-saved">
            Saved: {saved.timezone}, {saved.reminderMinutesBefore} min,{' '}
            {saved.autoResume ? 'auto-resume on' : 'auto-resume off'}.
          </p>
        ) : null}
      </div>
    </form>
  );
}

export function PreferencesPage() {
  const { data, error, loading } = useQuery(MyPreferences, {});
  const preferences = data?.me?.interviewPreferences;
  return (
    <>
      <h1>Preferences</h1>
      <ErrorAlert error={error} />
      {loading && !data ? <p aria-busy="true">Loading…</p> : null}
      {data && !preferences ? <NotRegistered /> : null}
      {preferences ? <PreferencesForm initial={preferences} /> : null}
    </>
  );
}
