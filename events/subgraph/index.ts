/**
 * The `events` subgraph: the subscription fields of the graph, answered from Kafka events.
 *
 * It has no server. The gateway plans a subscription over the whole supergraph; the plan's
 * primary fetch goes to this subgraph, and the gateway answers it by executing that fetch against
 * {@link eventsSubgraphSchema} with the event's {@link eventValue} under the field's name as the
 * root value (`eventRoot`, gateway/subscriptions/plan.ts): graphql-js then applies the client's
 * aliases, fragments and `__typename`s. Everything else in the selection (the
 * interview's title, the candidate's email, the report) comes from the other subgraphs.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse, type GraphQLSchema } from 'graphql';
import type { DomainEvent } from '../catalog';
import type * as G from './generated/resolvers-types';

/** The subgraph's name in `supergraph.yaml`. */
export const EVENTS_SUBGRAPH = 'events';

/** The subgraph's SDL, the subscription fields and the event types. */
export const EVENTS_SCHEMA_FILE = path.join(__dirname, 'schema.graphql');

/**
 * The subgraph's executable schema, built from {@link EVENTS_SCHEMA_FILE} (read at each call).
 * It has no resolvers: values come from {@link eventValue} as the root value.
 */
export function eventsSubgraphSchema(): GraphQLSchema {
  return buildSubgraphSchema({ typeDefs: parse(readFileSync(EVENTS_SCHEMA_FILE, 'utf8')) });
}

/** A subscription field's value for one event: the schema's shape, keys standing for entities. */
type Value<T> = { __typename: string } & Omit<T, '__typename' | 'interview' | 'user' | 'createdBy'>;

const upper = <T extends string>(value: string) => value.toUpperCase() as T;

/**
 * The `InterviewEvent`, `UserEvent` or `SystemEvent` an event is, as a GraphQL value: enums in
 * upper case, related entities as `{ __typename, id }` references for the other subgraphs.
 */
export function eventValue(event: DomainEvent): Record<string, unknown> {
  const common = { eventId: event.eventId, eventType: event.eventType, timestamp: event.timestamp };
  switch (event.eventType) {
    case 'interview.created': {
      const p = event.payload;
      return {
        ...interview('InterviewCreatedEvent', event),
        createdBy: { __typename: 'User', id: p.createdBy },
      };
    }
    case 'interview.scheduled':
      return {
        ...interview('InterviewScheduledEvent', event),
        scheduledFor: event.payload.scheduledFor,
      } satisfies Value<G.InterviewScheduledEvent>;
    case 'interview.started':
      return {
        ...interview('InterviewStartedEvent', event),
        startedAt: event.payload.startedAt,
      } satisfies Value<G.InterviewStartedEvent>;
    case 'interview.answer_submitted': {
      const p = event.payload;
      return {
        ...interview('InterviewAnswerSubmittedEvent', event),
        questionId: p.questionId,
        answerId: p.answerId,
        wordCount: p.wordCount,
        answeredQuestions: p.answeredQuestions,
        totalQuestions: p.totalQuestions,
      } satisfies Value<G.InterviewAnswerSubmittedEvent>;
    }
    case 'interview.paused':
      return {
        ...interview('InterviewPausedEvent', event),
        pausedAt: event.payload.pausedAt,
        reason: upper<G.InterviewPauseReason>(event.payload.reason),
      } satisfies Value<G.InterviewPausedEvent>;
    case 'interview.resumed':
      return {
        ...interview('InterviewResumedEvent', event),
        resumedAt: event.payload.resumedAt,
        trigger: upper<G.InterviewResumeTrigger>(event.payload.trigger),
      } satisfies Value<G.InterviewResumedEvent>;
    case 'interview.completed': {
      const p = event.payload;
      return {
        ...interview('InterviewCompletedEvent', event),
        completedAt: p.completedAt,
        answeredQuestions: p.answeredQuestions,
        totalQuestions: p.totalQuestions,
        durationSeconds: p.durationSeconds,
      } satisfies Value<G.InterviewCompletedEvent>;
    }
    case 'interview.cancelled':
      return {
        ...interview('InterviewCancelledEvent', event),
        cancelledAt: event.payload.cancelledAt,
        previousStatus: event.payload.previousStatus,
        reason: event.payload.reason ?? null,
      } satisfies Value<G.InterviewCancelledEvent>;
    case 'interview.restored':
      return {
        ...interview('InterviewRestoredEvent', event),
        restoredAt: event.payload.restoredAt,
        status: upper<G.InterviewStatus>(event.payload.status),
        reason: event.payload.reason,
      } satisfies Value<G.InterviewRestoredEvent>;
    case 'user.registered':
      return {
        ...user('UserRegisteredEvent', event),
        registrationMethod: event.payload.registrationMethod,
        locale: event.payload.locale,
        timeZone: event.payload.timeZone,
      } satisfies Value<G.UserRegisteredEvent>;
    case 'user.authenticated': {
      const p = event.payload;
      return {
        ...user('UserAuthenticatedEvent', event),
        sessionId: p.sessionId,
        authMethod: upper<G.AuthMethod>(p.authMethod),
        ipAddress: p.ipAddress ?? null,
        userAgent: p.userAgent ?? null,
      } satisfies Value<G.UserAuthenticatedEvent>;
    }
    case 'user.logged_out':
      return {
        ...user('UserLoggedOutEvent', event),
        sessionId: event.payload.sessionId,
        reason: upper<G.LogoutReason>(event.payload.reason),
      } satisfies Value<G.UserLoggedOutEvent>;
    case 'user.profile_updated':
      return {
        ...user('UserProfileUpdatedEvent', event),
        updatedFields: event.payload.updatedFields,
      } satisfies Value<G.UserProfileUpdatedEvent>;
    case 'service.started': {
      const p = event.payload;
      return {
        __typename: 'ServiceStartedEvent',
        ...common,
        service: p.service,
        instanceId: p.instanceId,
        hostname: p.hostname,
        pid: p.pid,
      } satisfies Value<G.ServiceStartedEvent>;
    }
    case 'service.stopped': {
      const p = event.payload;
      return {
        __typename: 'ServiceStoppedEvent',
        ...common,
        service: p.service,
        instanceId: p.instanceId,
        reason: p.reason,
        uptimeSeconds: p.uptimeSeconds,
      } satisfies Value<G.ServiceStoppedEvent>;
    }
    case 'handler.failed': {
      const p = event.payload;
      return {
        __typename: 'HandlerFailedEvent',
        ...common,
        service: p.service,
        groupId: p.groupId,
        topic: p.topic,
        partition: p.partition,
        offset: p.offset,
        failedEventId: p.eventId ?? null,
        failedEventType: p.eventType ?? null,
        error: p.error,
        attempts: p.attempts,
        deadLetterTopic: p.deadLetterTopic,
      } satisfies Value<G.HandlerFailedEvent>;
    }
    case 'erasure.requested':
    case 'erasure.step_requested':
    case 'erasure.step_completed':
    case 'erasure.step_failed':
    case 'erasure.completed':
    case 'erasure.failed':
    case 'erasure.alert':
      return { ...common, ...erasureValue(event) };
  }
}

/** An `erasure.*` event as an `AccountErasureEvent`: absent fields are null. */
function erasureValue(
  event: Extract<DomainEvent, { eventType: `erasure.${string}` }>,
): Omit<Value<G.AccountErasureEvent>, 'eventId' | 'eventType' | 'timestamp'> {
  const p = event.payload as Partial<Record<string, unknown>> & { sagaId: string };
  const text = (key: string) => (typeof p[key] === 'string' ? p[key] : null);
  const attempts = p['attempt'] ?? p['attempts'];
  return {
    __typename: 'AccountErasureEvent',
    service: event.source,
    sagaId: p.sagaId,
    userId: text('userId'),
    step: text('step'),
    attempt: typeof attempts === 'number' ? attempts : null,
    reason: text('reason') ?? text('lastError'),
    retryable: typeof p['retryable'] === 'boolean' ? p['retryable'] : null,
  };
}

function interview(
  typename: string,
  event: Extract<DomainEvent, { payload: { interviewId: string } }>,
) {
  return {
    __typename: typename,
    eventId: event.eventId,
    eventType: event.eventType,
    timestamp: event.timestamp,
    interview: { __typename: 'Interview', id: event.payload.interviewId },
  };
}

function user(typename: string, event: Extract<DomainEvent, { payload: { userId: string } }>) {
  return {
    __typename: typename,
    eventId: event.eventId,
    eventType: event.eventType,
    timestamp: event.timestamp,
    user: { __typename: 'User', id: event.payload.userId },
  };
}
