/**
 * The gateway's part in the account erasure saga: sessions live here, so when the saga suspends
 * an account (`erasure.step_requested` of `suspend-account`, on `system-events`), every session
 * of the user ends, each announced with `user.logged_out` (reason `security`), the cookie stops
 * working at once, and signing in is refused (`ACCOUNT_SUSPENDED`) until `restore-account` (the
 * saga compensated); an erased account stays suspended. Read in a consumer group of the gateway's own
 * ({@link SESSIONS_GROUP}): instances share sessions through their database, and a group that
 * commits its offsets ends the sessions of an erasure requested while every gateway was down.
 */
import type { EventOn } from '../../events';
import { UserEventFactory } from '../../events';
import type { Logger } from '../../lib/logger';
import type { EventPublisher } from './routes';
import type { SessionStore } from './sessions';

/** The gateway's consumer group for the sessions of suspended accounts. */
export const SESSIONS_GROUP = 'gateway-sessions-group';

/**
 * The `system-events` handler that ends the sessions of a suspended account; idempotent (a
 * redelivered command finds no session left).
 */
export function endSessionsOnSuspension(options: {
  sessions: SessionStore;
  kafka: EventPublisher;
  logger: Logger;
}): (event: EventOn<'system-events'>) => Promise<void> {
  return async (event) => {
    if (event.eventType !== 'erasure.step_requested') return;
    const { userId, sagaId, step } = event.payload;
    if (step === 'restore-account') return options.sessions.restoreAccount(userId);
    if (step !== 'suspend-account') return;
    await options.sessions.suspendAccount(userId);
    const ended = await options.sessions.endSessionsOf(userId);
    for (const session of ended) {
      await options.kafka.publishEvent(
        'user-events',
        UserEventFactory.createUserLoggedOut(userId, session.ref, 'security'),
      );
    }
    if (ended.length > 0) {
      options.logger.info('sessions of a suspended account ended', {
        userId,
        sagaId,
        sessions: ended.length,
      });
    }
  };
}
