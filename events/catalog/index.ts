/**
 * The event catalog: every event type the platform knows, with its topic, its allowed sources
 * and its versioned payload schema. Event types are derived from these schemas, so a payload
 * type cannot drift from its validator.
 */
import type { z } from 'zod';
import type { Source } from '../envelope';
import type { Topic } from '../topics';
import type { EventDefinition } from './define';
import * as erasure from './erasure';
import * as interview from './interview';
import * as system from './system';
import * as user from './user';

export const catalog = {
  'user.authenticated': user.userAuthenticated,
  'user.registered': user.userRegistered,
  'user.logged_out': user.userLoggedOut,
  'user.profile_updated': user.userProfileUpdated,
  'interview.created': interview.interviewCreated,
  'interview.scheduled': interview.interviewScheduled,
  'interview.started': interview.interviewStarted,
  'interview.answer_submitted': interview.interviewAnswerSubmitted,
  'interview.paused': interview.interviewPaused,
  'interview.resumed': interview.interviewResumed,
  'interview.completed': interview.interviewCompleted,
  'interview.cancelled': interview.interviewCancelled,
  'interview.restored': interview.interviewRestored,
  'service.started': system.serviceStarted,
  'service.stopped': system.serviceStopped,
  'handler.failed': system.handlerFailed,
  'erasure.requested': erasure.erasureRequested,
  'erasure.step_requested': erasure.erasureStepRequested,
  'erasure.step_completed': erasure.erasureStepCompleted,
  'erasure.step_failed': erasure.erasureStepFailed,
  'erasure.completed': erasure.erasureCompleted,
  'erasure.failed': erasure.erasureFailed,
  'erasure.alert': erasure.erasureAlert,
} as const;

type Catalog = typeof catalog;
export type EventType = keyof Catalog;
/** A version some event type has (older ones are upcast at the door). */
export type EventVersion = { [T in EventType]: keyof Catalog[T]['versions'] & string }[EventType];
/** The version producers write of an event type, and the shape handlers see. */
export type CurrentVersionOf<T extends EventType> = Catalog[T]['current'];

/** The payload of an event type at its current version. */
export type PayloadOf<T extends EventType> = z.output<
  Catalog[T]['versions'][CurrentVersionOf<T> & keyof Catalog[T]['versions']]
>;

/** A validated event of one type: the envelope with its typed payload. */
export interface EventEnvelope<T extends EventType = EventType> {
  eventId: string;
  eventType: T;
  timestamp: string;
  /** Always the type's current version: older ones were upcast at the door. */
  version: CurrentVersionOf<T>;
  source: Source;
  payload: PayloadOf<T>;
}

/** Every event, as a union discriminated by `eventType`. */
export type DomainEvent = { [T in EventType]: EventEnvelope<T> }[EventType];

/** The event types that travel on a topic. */
export type EventTypeOn<TTopic extends Topic> = {
  [T in EventType]: Catalog[T]['topic'] extends TTopic ? T : never;
}[EventType];

/** The events that travel on a topic, as a discriminated union. */
export type EventOn<TTopic extends Topic> = {
  [T in EventTypeOn<TTopic>]: EventEnvelope<T>;
}[EventTypeOn<TTopic>];

/** Whether `value` names an event type of the catalog (an envelope's `eventType` read off the wire). */
export function isEventType(value: string): value is EventType {
  return Object.hasOwn(catalog, value);
}

/** The catalog entry of an event type, loosely typed for code that handles every type alike. */
export function definitionOf(type: EventType): EventDefinition {
  return catalog[type] as unknown as EventDefinition;
}

/** The event types on a topic, in catalog order. */
export function eventTypesOn(topic: Topic): EventType[] {
  return (Object.keys(catalog) as EventType[]).filter((t) => catalog[t].topic === topic);
}
