/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
export type CreateInterviewInput = {
  /** The candidate; defaults to the caller. Only admins create interviews for others. */
  candidateId?: string | number | null | undefined;
  position: string;
  /** The questions, in order; at least one. */
  questions: Array<string>;
  title: string;
};

export type InterviewFilter = {
  /** Admins only; others always see their own interviews. */
  candidateId?: string | number | null | undefined;
  status?: Array<InterviewStatus> | null | undefined;
};

/** Why an interview was paused. */
export type InterviewPauseReason =
  | 'LOGGED_OUT'
  | 'MANUAL'
  | 'TIMEOUT';

/** Omit a field to leave it unchanged. */
export type InterviewPreferencesInput = {
  autoResume?: boolean | null | undefined;
  reminderMinutesBefore?: number | null | undefined;
  timezone?: string | null | undefined;
};

/** What resumed an interview. */
export type InterviewResumeTrigger =
  | 'MANUAL'
  | 'USER_AUTHENTICATED';

/** An interview's status. */
export type InterviewStatus =
  | 'CANCELLED'
  | 'COMPLETED'
  | 'DRAFT'
  | 'IN_PROGRESS'
  | 'PAUSED'
  | 'SCHEDULED';

export type PlatformStatsQueryVariables = Exact<{ [key: string]: never; }>;


export type PlatformStatsQuery = { platformStats: { interviews: number, inProgress: number, completed: number, cancelled: number, answers: number, averageScore: number | null, eventsProcessed: number } };

export type AuditTrailQueryVariables = Exact<{
  actor?: string | number | null | undefined;
  eventTypes?: Array<string> | string | null | undefined;
  first?: number | null | undefined;
}>;


export type AuditTrailQuery = { auditTrail: Array<{ eventId: string, topic: string, eventType: string, source: string, actor: string | null, subject: string | null, occurredAt: string, recordedAt: string }> };

export type SystemEventsSubscriptionVariables = Exact<{
  types?: Array<string> | string | null | undefined;
}>;


export type SystemEventsSubscription = { systemEvents:
    | { __typename: 'AccountErasureEvent', eventId: string, eventType: string, timestamp: string, service: string }
    | { __typename: 'HandlerFailedEvent', groupId: string, topic: string, failedEventType: string | null, error: string, attempts: number, deadLetterTopic: string, eventId: string, eventType: string, timestamp: string, service: string }
    | { __typename: 'ServiceStartedEvent', instanceId: string, hostname: string, pid: number, eventId: string, eventType: string, timestamp: string, service: string }
    | { __typename: 'ServiceStoppedEvent', instanceId: string, reason: string, uptimeSeconds: number, eventId: string, eventType: string, timestamp: string, service: string }
   };

export type InterviewFieldsFragment = { id: string, title: string, position: string, status: InterviewStatus, createdAt: string, scheduledFor: string | null, startedAt: string | null, pausedAt: string | null, completedAt: string | null, cancelledAt: string | null, questions: Array<{ id: string, position: number, text: string }>, answers: Array<{ id: string, content: string, wordCount: number, submittedAt: string, question: { id: string } }> };

export type InterviewQueryVariables = Exact<{
  id: string | number;
}>;


export type InterviewQuery = { interview: { id: string, title: string, position: string, status: InterviewStatus, createdAt: string, scheduledFor: string | null, startedAt: string | null, pausedAt: string | null, completedAt: string | null, cancelledAt: string | null, questions: Array<{ id: string, position: number, text: string }>, answers: Array<{ id: string, content: string, wordCount: number, submittedAt: string, question: { id: string } }> } | null };

export type InterviewUpdatedSubscriptionVariables = Exact<{
  id: string | number;
}>;


export type InterviewUpdatedSubscription = { interviewUpdated: { id: string, title: string, position: string, status: InterviewStatus, createdAt: string, scheduledFor: string | null, startedAt: string | null, pausedAt: string | null, completedAt: string | null, cancelledAt: string | null, questions: Array<{ id: string, position: number, text: string }>, answers: Array<{ id: string, content: string, wordCount: number, submittedAt: string, question: { id: string } }> } };

export type InterviewHistoryQueryVariables = Exact<{
  id: string | number;
}>;


export type InterviewHistoryQuery = { interview: { id: string, history: Array<
      | { __typename: 'InterviewAnswerSubmittedEvent', answeredQuestions: number, totalQuestions: number, eventId: string, eventType: string, timestamp: string }
      | { __typename: 'InterviewCancelledEvent', reason: string | null, eventId: string, eventType: string, timestamp: string }
      | { __typename: 'InterviewCompletedEvent', eventId: string, eventType: string, timestamp: string }
      | { __typename: 'InterviewCreatedEvent', eventId: string, eventType: string, timestamp: string }
      | { __typename: 'InterviewPausedEvent', eventId: string, eventType: string, timestamp: string, pauseReason: InterviewPauseReason }
      | { __typename: 'InterviewRestoredEvent', status: InterviewStatus, eventId: string, eventType: string, timestamp: string }
      | { __typename: 'InterviewResumedEvent', trigger: InterviewResumeTrigger, eventId: string, eventType: string, timestamp: string }
      | { __typename: 'InterviewScheduledEvent', scheduledFor: string, eventId: string, eventType: string, timestamp: string }
      | { __typename: 'InterviewStartedEvent', eventId: string, eventType: string, timestamp: string }
    > } | null };

export type ScheduleInterviewMutationVariables = Exact<{
  id: string | number;
  scheduledFor: string;
}>;


export type ScheduleInterviewMutation = { scheduleInterview: { id: string, title: string, position: string, status: InterviewStatus, createdAt: string, scheduledFor: string | null, startedAt: string | null, pausedAt: string | null, completedAt: string | null, cancelledAt: string | null, questions: Array<{ id: string, position: number, text: string }>, answers: Array<{ id: string, content: string, wordCount: number, submittedAt: string, question: { id: string } }> } };

export type StartInterviewMutationVariables = Exact<{
  id: string | number;
}>;


export type StartInterviewMutation = { startInterview: { id: string, title: string, position: string, status: InterviewStatus, createdAt: string, scheduledFor: string | null, startedAt: string | null, pausedAt: string | null, completedAt: string | null, cancelledAt: string | null, questions: Array<{ id: string, position: number, text: string }>, answers: Array<{ id: string, content: string, wordCount: number, submittedAt: string, question: { id: string } }> } };

export type PauseInterviewMutationVariables = Exact<{
  id: string | number;
}>;


export type PauseInterviewMutation = { pauseInterview: { id: string, title: string, position: string, status: InterviewStatus, createdAt: string, scheduledFor: string | null, startedAt: string | null, pausedAt: string | null, completedAt: string | null, cancelledAt: string | null, questions: Array<{ id: string, position: number, text: string }>, answers: Array<{ id: string, content: string, wordCount: number, submittedAt: string, question: { id: string } }> } };

export type ResumeInterviewMutationVariables = Exact<{
  id: string | number;
}>;


export type ResumeInterviewMutation = { resumeInterview: { id: string, title: string, position: string, status: InterviewStatus, createdAt: string, scheduledFor: string | null, startedAt: string | null, pausedAt: string | null, completedAt: string | null, cancelledAt: string | null, questions: Array<{ id: string, position: number, text: string }>, answers: Array<{ id: string, content: string, wordCount: number, submittedAt: string, question: { id: string } }> } };

export type CompleteInterviewMutationVariables = Exact<{
  id: string | number;
}>;


export type CompleteInterviewMutation = { completeInterview: { id: string, title: string, position: string, status: InterviewStatus, createdAt: string, scheduledFor: string | null, startedAt: string | null, pausedAt: string | null, completedAt: string | null, cancelledAt: string | null, questions: Array<{ id: string, position: number, text: string }>, answers: Array<{ id: string, content: string, wordCount: number, submittedAt: string, question: { id: string } }> } };

export type CancelInterviewMutationVariables = Exact<{
  id: string | number;
  reason?: string | null | undefined;
}>;


export type CancelInterviewMutation = { cancelInterview: { id: string, title: string, position: string, status: InterviewStatus, createdAt: string, scheduledFor: string | null, startedAt: string | null, pausedAt: string | null, completedAt: string | null, cancelledAt: string | null, questions: Array<{ id: string, position: number, text: string }>, answers: Array<{ id: string, content: string, wordCount: number, submittedAt: string, question: { id: string } }> } };

export type SubmitAnswerMutationVariables = Exact<{
  interviewId: string | number;
  questionId: string | number;
  content: string;
}>;


export type SubmitAnswerMutation = { submitAnswer: { id: string, title: string, position: string, status: InterviewStatus, createdAt: string, scheduledFor: string | null, startedAt: string | null, pausedAt: string | null, completedAt: string | null, cancelledAt: string | null, questions: Array<{ id: string, position: number, text: string }>, answers: Array<{ id: string, content: string, wordCount: number, submittedAt: string, question: { id: string } }> } };

export type MyInterviewsQueryVariables = Exact<{
  filter?: InterviewFilter | null | undefined;
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type MyInterviewsQuery = { interviews: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, edges: Array<{ node: { id: string, title: string, position: string, status: InterviewStatus, createdAt: string, scheduledFor: string | null } }> } };

export type CreateInterviewMutationVariables = Exact<{
  input: CreateInterviewInput;
}>;


export type CreateInterviewMutation = { createInterview: { id: string } };

export type MyPreferencesQueryVariables = Exact<{ [key: string]: never; }>;


export type MyPreferencesQuery = { me: { id: string, interviewPreferences: { timezone: string, reminderMinutesBefore: number, autoResume: boolean } | null } | null };

export type UpdateInterviewPreferencesMutationVariables = Exact<{
  input: InterviewPreferencesInput;
}>;


export type UpdateInterviewPreferencesMutation = { updateInterviewPreferences: { timezone: string, reminderMinutesBefore: number, autoResume: boolean } };

export type MyReportQueryVariables = Exact<{ [key: string]: never; }>;


export type MyReportQuery = { me: { id: string, email: string, firstName: string | null, lastName: string | null, company: string | null, createdAt: string, lastLoginAt: string | null, stats: { interviewsCreated: number, interviewsCompleted: number, interviewsCancelled: number, answersSubmitted: number, averageScore: number | null }, interviews: Array<{ id: string, title: string, position: string, status: InterviewStatus, report: { answers: number, totalQuestions: number, completion: number, wordCount: number, durationSeconds: number | null, score: number | null, lastEventAt: string } | null }>, recentActivity: Array<{ id: string, description: string, occurredAt: string }> } | null };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const InterviewFieldsFragmentDoc = new TypedDocumentString(`
    fragment InterviewFields on Interview {
  id
  title
  position
  status
  createdAt
  scheduledFor
  startedAt
  pausedAt
  completedAt
  cancelledAt
  questions {
    id
    position
    text
  }
  answers {
    id
    content
    wordCount
    submittedAt
    question {
      id
    }
  }
}
    `, {"fragmentName":"InterviewFields"}) as unknown as TypedDocumentString<InterviewFieldsFragment, unknown>;
export const PlatformStatsDocument = new TypedDocumentString(`
    query PlatformStats {
  platformStats {
    interviews
    inProgress
    completed
    cancelled
    answers
    averageScore
    eventsProcessed
  }
}
    `) as unknown as TypedDocumentString<PlatformStatsQuery, PlatformStatsQueryVariables>;
export const AuditTrailDocument = new TypedDocumentString(`
    query AuditTrail($actor: ID, $eventTypes: [String!], $first: Int) {
  auditTrail(actor: $actor, eventTypes: $eventTypes, first: $first) {
    eventId
    topic
    eventType
    source
    actor
    subject
    occurredAt
    recordedAt
  }
}
    `) as unknown as TypedDocumentString<AuditTrailQuery, AuditTrailQueryVariables>;
export const SystemEventsDocument = new TypedDocumentString(`
    subscription SystemEvents($types: [String!]) {
  systemEvents(types: $types) {
    __typename
    eventId
    eventType
    timestamp
    service
    ... on HandlerFailedEvent {
      groupId
      topic
      failedEventType
      error
      attempts
      deadLetterTopic
    }
    ... on ServiceStartedEvent {
      instanceId
      hostname
      pid
    }
    ... on ServiceStoppedEvent {
      instanceId
      reason
      uptimeSeconds
    }
  }
}
    `) as unknown as TypedDocumentString<SystemEventsSubscription, SystemEventsSubscriptionVariables>;
export const InterviewDocument = new TypedDocumentString(`
    query Interview($id: ID!) {
  interview(id: $id) {
    ...InterviewFields
  }
}
    fragment InterviewFields on Interview {
  id
  title
  position
  status
  createdAt
  scheduledFor
  startedAt
  pausedAt
  completedAt
  cancelledAt
  questions {
    id
    position
    text
  }
  answers {
    id
    content
    wordCount
    submittedAt
    question {
      id
    }
  }
}`) as unknown as TypedDocumentString<InterviewQuery, InterviewQueryVariables>;
export const InterviewUpdatedDocument = new TypedDocumentString(`
    subscription InterviewUpdated($id: ID!) {
  interviewUpdated(id: $id) {
    ...InterviewFields
  }
}
    fragment InterviewFields on Interview {
  id
  title
  position
  status
  createdAt
  scheduledFor
  startedAt
  pausedAt
  completedAt
  cancelledAt
  questions {
    id
    position
    text
  }
  answers {
    id
    content
    wordCount
    submittedAt
    question {
      id
    }
  }
}`) as unknown as TypedDocumentString<InterviewUpdatedSubscription, InterviewUpdatedSubscriptionVariables>;
export const InterviewHistoryDocument = new TypedDocumentString(`
    query InterviewHistory($id: ID!) {
  interview(id: $id) {
    id
    history {
      __typename
      eventId
      eventType
      timestamp
      ... on InterviewScheduledEvent {
        scheduledFor
      }
      ... on InterviewPausedEvent {
        pauseReason: reason
      }
      ... on InterviewResumedEvent {
        trigger
      }
      ... on InterviewAnswerSubmittedEvent {
        answeredQuestions
        totalQuestions
      }
      ... on InterviewCancelledEvent {
        reason
      }
      ... on InterviewRestoredEvent {
        status
      }
    }
  }
}
    `) as unknown as TypedDocumentString<InterviewHistoryQuery, InterviewHistoryQueryVariables>;
export const ScheduleInterviewDocument = new TypedDocumentString(`
    mutation ScheduleInterview($id: ID!, $scheduledFor: DateTime!) {
  scheduleInterview(id: $id, scheduledFor: $scheduledFor) {
    ...InterviewFields
  }
}
    fragment InterviewFields on Interview {
  id
  title
  position
  status
  createdAt
  scheduledFor
  startedAt
  pausedAt
  completedAt
  cancelledAt
  questions {
    id
    position
    text
  }
  answers {
    id
    content
    wordCount
    submittedAt
    question {
      id
    }
  }
}`) as unknown as TypedDocumentString<ScheduleInterviewMutation, ScheduleInterviewMutationVariables>;
export const StartInterviewDocument = new TypedDocumentString(`
    mutation StartInterview($id: ID!) {
  startInterview(id: $id) {
    ...InterviewFields
  }
}
    fragment InterviewFields on Interview {
  id
  title
  position
  status
  createdAt
  scheduledFor
  startedAt
  pausedAt
  completedAt
  cancelledAt
  questions {
    id
    position
    text
  }
  answers {
    id
    content
    wordCount
    submittedAt
    question {
      id
    }
  }
}`) as unknown as TypedDocumentString<StartInterviewMutation, StartInterviewMutationVariables>;
export const PauseInterviewDocument = new TypedDocumentString(`
    mutation PauseInterview($id: ID!) {
  pauseInterview(id: $id) {
    ...InterviewFields
  }
}
    fragment InterviewFields on Interview {
  id
  title
  position
  status
  createdAt
  scheduledFor
  startedAt
  pausedAt
  completedAt
  cancelledAt
  questions {
    id
    position
    text
  }
  answers {
    id
    content
    wordCount
    submittedAt
    question {
      id
    }
  }
}`) as unknown as TypedDocumentString<PauseInterviewMutation, PauseInterviewMutationVariables>;
export const ResumeInterviewDocument = new TypedDocumentString(`
    mutation ResumeInterview($id: ID!) {
  resumeInterview(id: $id) {
    ...InterviewFields
  }
}
    fragment InterviewFields on Interview {
  id
  title
  position
  status
  createdAt
  scheduledFor
  startedAt
  pausedAt
  completedAt
  cancelledAt
  questions {
    id
    position
    text
  }
  answers {
    id
    content
    wordCount
    submittedAt
    question {
      id
    }
  }
}`) as unknown as TypedDocumentString<ResumeInterviewMutation, ResumeInterviewMutationVariables>;
export const CompleteInterviewDocument = new TypedDocumentString(`
    mutation CompleteInterview($id: ID!) {
  completeInterview(id: $id) {
    ...InterviewFields
  }
}
    fragment InterviewFields on Interview {
  id
  title
  position
  status
  createdAt
  scheduledFor
  startedAt
  pausedAt
  completedAt
  cancelledAt
  questions {
    id
    position
    text
  }
  answers {
    id
    content
    wordCount
    submittedAt
    question {
      id
    }
  }
}`) as unknown as TypedDocumentString<CompleteInterviewMutation, CompleteInterviewMutationVariables>;
export const CancelInterviewDocument = new TypedDocumentString(`
    mutation CancelInterview($id: ID!, $reason: String) {
  cancelInterview(id: $id, reason: $reason) {
    ...InterviewFields
  }
}
    fragment InterviewFields on Interview {
  id
  title
  position
  status
  createdAt
  scheduledFor
  startedAt
  pausedAt
  completedAt
  cancelledAt
  questions {
    id
    position
    text
  }
  answers {
    id
    content
    wordCount
    submittedAt
    question {
      id
    }
  }
}`) as unknown as TypedDocumentString<CancelInterviewMutation, CancelInterviewMutationVariables>;
export const SubmitAnswerDocument = new TypedDocumentString(`
    mutation SubmitAnswer($interviewId: ID!, $questionId: ID!, $content: String!) {
  submitAnswer(
    interviewId: $interviewId
    questionId: $questionId
    content: $content
  ) {
    ...InterviewFields
  }
}
    fragment InterviewFields on Interview {
  id
  title
  position
  status
  createdAt
  scheduledFor
  startedAt
  pausedAt
  completedAt
  cancelledAt
  questions {
    id
    position
    text
  }
  answers {
    id
    content
    wordCount
    submittedAt
    question {
      id
    }
  }
}`) as unknown as TypedDocumentString<SubmitAnswerMutation, SubmitAnswerMutationVariables>;
export const MyInterviewsDocument = new TypedDocumentString(`
    query MyInterviews($filter: InterviewFilter, $first: Int, $after: String) {
  interviews(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo {
      hasNextPage
      endCursor
    }
    edges {
      node {
        id
        title
        position
        status
        createdAt
        scheduledFor
      }
    }
  }
}
    `) as unknown as TypedDocumentString<MyInterviewsQuery, MyInterviewsQueryVariables>;
export const CreateInterviewDocument = new TypedDocumentString(`
    mutation CreateInterview($input: CreateInterviewInput!) {
  createInterview(input: $input) {
    id
  }
}
    `) as unknown as TypedDocumentString<CreateInterviewMutation, CreateInterviewMutationVariables>;
export const MyPreferencesDocument = new TypedDocumentString(`
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
    `) as unknown as TypedDocumentString<MyPreferencesQuery, MyPreferencesQueryVariables>;
export const UpdateInterviewPreferencesDocument = new TypedDocumentString(`
    mutation UpdateInterviewPreferences($input: InterviewPreferencesInput!) {
  updateInterviewPreferences(input: $input) {
    timezone
    reminderMinutesBefore
    autoResume
  }
}
    `) as unknown as TypedDocumentString<UpdateInterviewPreferencesMutation, UpdateInterviewPreferencesMutationVariables>;
export const MyReportDocument = new TypedDocumentString(`
    query MyReport {
  me {
    id
    email
    firstName
    lastName
    company
    createdAt
    lastLoginAt
    stats {
      interviewsCreated
      interviewsCompleted
      interviewsCancelled
      answersSubmitted
      averageScore
    }
    interviews {
      id
      title
      position
      status
      report {
        answers
        totalQuestions
        completion
        wordCount
        durationSeconds
        score
        lastEventAt
      }
    }
    recentActivity(first: 10) {
      id
      description
      occurredAt
    }
  }
}
    `) as unknown as TypedDocumentString<MyReportQuery, MyReportQueryVariables>;