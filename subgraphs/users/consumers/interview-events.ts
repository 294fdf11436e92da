/**
 * `interview-events`: each one becomes an INTERVIEW activity of its candidate, when the
 * candidate has a profile here.
 */
import type { EventOn } from '../../../events';
import type { BatchEffect } from '../../../events/consumers';
import type { Logger } from '../../../lib/logger';
import { User, newActivity } from '../entities';

/** One line for the activity log, e.g. `interview i-1 completed (3 of 3 questions answered)`. */
export function describeInterviewEvent(event: EventOn<'interview-events'>): string {
  const what = (() => {
    switch (event.eventType) {
      case 'interview.created':
        return `created: ${event.payload.title}`;
      case 'interview.scheduled':
        return `scheduled for ${event.payload.scheduledFor}`;
      case 'interview.started':
        return 'started';
      case 'interview.answer_submitted':
        return `answer submitted (${event.payload.answeredQuestions} of ${event.payload.totalQuestions})`;
      case 'interview.paused':
        return `paused (${event.payload.reason})`;
      case 'interview.resumed':
        return 'resumed';
      case 'interview.completed':
        return `completed (${event.payload.answeredQuestions} of ${event.payload.totalQuestions} questions answered)`;
      case 'interview.cancelled':
        return event.payload.reason ? `cancelled: ${event.payload.reason}` : 'cancelled';
      case 'interview.restored':
        return `restored (${event.payload.status.replace('_', ' ')})`;
      default: {
        const unhandled: never = event;
        return String(unhandled);
      }
    }
  })();
  return `interview ${event.payload.interviewId} ${what}`;
}

/**
 * What a batch of interview-events does: the candidates' profiles are looked up in one query
 * (into the batch's identity map), then each event is recorded in order.
 */
export function interviewEventsEffect(log: Logger): BatchEffect<EventOn<'interview-events'>> {
  return async (events, { em }) => {
    const ids = [...new Set(events.map((e) => e.payload.candidateId))];
    // An erased profile (erasure saga) records nothing more.
    const known = new Set(
      (await em.find(User, { id: { $in: ids }, erasedAt: null })).map((u) => u.id),
    );
    for (const event of events) {
      const userId = event.payload.candidateId;
      if (!known.has(userId)) {
        log.debug('interview event of a candidate without a profile; not recorded', {
          userId,
          eventId: event.eventId,
        });
        continue;
      }
      em.persist(
        newActivity({
          userId,
          kind: 'INTERVIEW',
          event,
          description: describeInterviewEvent(event),
        }),
      );
    }
  };
}
