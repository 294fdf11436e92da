/**
 * The subscription fields of the `events` subgraph, as the gateway serves them: for each, the
 * topic it reads, who may subscribe, which events reach which subscriber, and the field's value
 * for an event (see events/subgraph).
 *
 * Routing is by key, not by scanning subscribers: an event names the keys it concerns
 * (`routes`), a subscriber listens on one key (`key`), so an event costs a map lookup per field of
 * its topic however many subscribers there are. `visible` is the per-event authorization check,
 * applied to every delivery even when the key already implies it, so nobody receives another
 * user's events.
 */
import type { GraphQLError } from 'graphql';
import { eventValue } from '../../events/subgraph';
import type { EventOn } from '../../events';
import type { Topic } from '../../events';
import { isAdmin, type Identity } from '../../contracts/identity';
import { graphQLError } from '../errors';

/** Checks a subscriber's right to a field's events at subscribe time; resolves with errors when refused. */
export type Authorize = (
  args: Record<string, unknown>,
  identity: Identity,
  lookup: LookupAsCaller,
) => Promise<readonly GraphQLError[] | undefined>;

/** Runs a query through the gateway as the subscriber (same authorization as any query). */
export type LookupAsCaller = (
  query: string,
  variables: Record<string, unknown>,
) => Promise<{ data?: Record<string, unknown> | null; errors?: readonly GraphQLError[] }>;

/** A subscription field the gateway serves live, reading topic `T`. */
export interface LiveField<T extends Topic = Topic> {
  name: string;
  topic: T;
  authorize: Authorize;
  /** The routing key a subscriber with these arguments listens on. */
  key(args: Record<string, unknown>, identity: Identity): string;
  /** The routing keys an event concerns (for this field). */
  routes(event: EventOn<T>): readonly string[];
  /** Per-event authorization and filtering (e.g. by event type). */
  visible(event: EventOn<T>, args: Record<string, unknown>, identity: Identity): boolean;
  /** The field's value for the event: what the plan's primary fetch answers with. */
  value(event: EventOn<T>): Record<string, unknown>;
}

const forbidden = (message: string) => [graphQLError('FORBIDDEN', message)];

const interviewUpdated: LiveField<'interview-events'> = {
  name: 'interviewUpdated',
  topic: 'interview-events',
  // The interview must be one the caller may read: the interviews subgraph decides, as for
  // `query { interview(id:) }` (NOT_FOUND or FORBIDDEN otherwise).
  authorize: async (args, _identity, lookup) => {
    const result = await lookup(
      'query LiveInterviewAccess($id: ID!) { interview(id: $id) { id } }',
      {
        id: args['id'],
      },
    );
    if (result.errors?.length) return result.errors;
    if (!result.data?.['interview']) {
      return [graphQLError('NOT_FOUND', `Interview ${String(args['id'])} not found`)];
    }
    return undefined;
  },
  key: (args) => `interview:${String(args['id'])}`,
  routes: (event) => [`interview:${event.payload.interviewId}`],
  visible: (event, _args, identity) =>
    isAdmin(identity) || event.payload.candidateId === identity.userId,
  value: (event) => ({ __typename: 'Interview', id: event.payload.interviewId }),
};

const myInterviewEvents: LiveField<'interview-events'> = {
  name: 'myInterviewEvents',
  topic: 'interview-events',
  authorize: async () => undefined,
  key: (_args, identity) => `candidate:${identity.userId}`,
  routes: (event) => [`candidate:${event.payload.candidateId}`],
  visible: (event, _args, identity) => event.payload.candidateId === identity.userId,
  value: eventValue,
};

const userActivity: LiveField<'user-events'> = {
  name: 'userActivity',
  topic: 'user-events',
  authorize: async (args, identity) =>
    args['userId'] === identity.userId || isAdmin(identity)
      ? undefined
      : forbidden(`You may only follow your own activity, not user ${String(args['userId'])}'s`),
  key: (args) => `user:${String(args['userId'])}`,
  routes: (event) => [`user:${event.payload.userId}`],
  visible: (event, _args, identity) =>
    event.payload.userId === identity.userId || isAdmin(identity),
  value: eventValue,
};

const systemEvents: LiveField<'system-events'> = {
  name: 'systemEvents',
  topic: 'system-events',
  authorize: async (_args, identity) =>
    isAdmin(identity) ? undefined : forbidden('Only administrators may follow system events'),
  key: () => 'system',
  routes: () => ['system'],
  visible: (event, args, identity) => {
    if (!isAdmin(identity)) return false;
    const types = args['types'];
    return !Array.isArray(types) || types.includes(event.eventType);
  },
  value: eventValue,
};

/** Every live field by name. */
export const LIVE_FIELDS: ReadonlyMap<string, LiveField> = new Map(
  ([interviewUpdated, myInterviewEvents, userActivity, systemEvents] as LiveField[]).map((f) => [
    f.name,
    f,
  ]),
);

/** The topics the live fields read. */
export function liveTopics(): Topic[] {
  return [...new Set([...LIVE_FIELDS.values()].map((f) => f.topic))];
}
