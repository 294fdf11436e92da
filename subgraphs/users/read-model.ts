/**
 * The users service's activity log as `npm run rebuild -- users` rebuilds it: `user_activity`
 * and the processed-event records of `user-service-group`, built by the consumers `server.ts`
 * wires (which also write profiles into the fresh store: that copy of `users` is discarded, the
 * live `users` table stays the source of truth). PROFILE activities come from
 * `user.profile_updated` (see `onUserProfileUpdated`).
 */
import { processedEventTable, type ReadModel } from '../../events/rebuild';
import { USERS_GROUP } from './consumers';
import { usersSubgraph } from './server';

export const usersReadModel: ReadModel = {
  name: 'users',
  service: usersSubgraph.service,
  database: {
    name: usersSubgraph.name,
    entities: usersSubgraph.entities,
    migrations: usersSubgraph.migrations,
  },
  groups: [USERS_GROUP],
  // Profiles first (an interview event is recorded only for a candidate with a profile), then
  // interviews, erasures last (an erasure removes the activity already there).
  replayOrder: [
    { group: USERS_GROUP, topics: ['user-events'] },
    { group: USERS_GROUP, topics: ['interview-events'] },
    { group: USERS_GROUP, topics: ['system-events'] },
  ],
  tables: [
    {
      name: 'user_activity',
      // Unique: one event records at most one activity per user.
      key: ['user_id', 'event_id'],
      ignore: { id: 'a random UUID given when the row is written' },
      eventColumn: 'event_id',
    },
    processedEventTable([USERS_GROUP]),
  ],
  consumers: ({ database, logger }) => {
    // No relay to wake (the fresh store's outbox is discarded); erasure with its defaults.
    const deps = { database, logger, eventsCommitted: () => undefined, erasure: {} };
    return usersSubgraph.consumers?.(deps) ?? [];
  },
};
