/* eslint-disable */
import * as types from './graphql';



/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  query PlatformStats {\n    platformStats {\n      interviews\n      inProgress\n      completed\n      cancelled\n      answers\n      averageScore\n      eventsProcessed\n    }\n  }\n": typeof types.PlatformStatsDocument,
    "\n  query AuditTrail($actor: ID, $eventTypes: [String!], $first: Int) {\n    auditTrail(actor: $actor, eventTypes: $eventTypes, first: $first) {\n      eventId\n      topic\n      eventType\n      source\n      actor\n      subject\n      occurredAt\n      recordedAt\n    }\n  }\n": typeof types.AuditTrailDocument,
    "\n  subscription SystemEvents($types: [String!]) {\n    systemEvents(types: $types) {\n      __typename\n      eventId\n      eventType\n      timestamp\n      service\n      ... on HandlerFailedEvent {\n        groupId\n        topic\n        failedEventType\n        error\n        attempts\n        deadLetterTopic\n      }\n      ... on ServiceStartedEvent {\n        instanceId\n        hostname\n        pid\n      }\n      ... on ServiceStoppedEvent {\n        instanceId\n        reason\n        uptimeSeconds\n      }\n    }\n  }\n": typeof types.SystemEventsDocument,
    "\n  fragment InterviewFields on Interview {\n    id\n    title\n    position\n    status\n    createdAt\n    scheduledFor\n    startedAt\n    pausedAt\n    completedAt\n    cancelledAt\n    questions {\n      id\n      position\n      text\n    }\n    answers {\n      id\n      content\n      wordCount\n      submittedAt\n      question {\n        id\n      }\n    }\n  }\n": typeof types.InterviewFieldsFragmentDoc,
    "\n  query Interview($id: ID!) {\n    interview(id: $id) {\n      ...InterviewFields\n    }\n  }\n": typeof types.InterviewDocument,
    "\n  subscription InterviewUpdated($id: ID!) {\n    interviewUpdated(id: $id) {\n      ...InterviewFields\n    }\n  }\n": typeof types.InterviewUpdatedDocument,
    "\n  query InterviewHistory($id: ID!) {\n    interview(id: $id) {\n      id\n      history {\n        __typename\n        eventId\n        eventType\n        timestamp\n        ... on InterviewScheduledEvent {\n          scheduledFor\n        }\n        ... on InterviewPausedEvent {\n          pauseReason: reason\n        }\n        ... on InterviewResumedEvent {\n          trigger\n        }\n        ... on InterviewAnswerSubmittedEvent {\n          answeredQuestions\n          totalQuestions\n        }\n        ... on InterviewCancelledEvent {\n          reason\n        }\n        ... on InterviewRestoredEvent {\n          status\n        }\n      }\n    }\n  }\n": typeof types.InterviewHistoryDocument,
    "\n  mutation ScheduleInterview($id: ID!, $scheduledFor: DateTime!) {\n    scheduleInterview(id: $id, scheduledFor: $scheduledFor) {\n      ...InterviewFields\n    }\n  }\n": typeof types.ScheduleInterviewDocument,
    "\n  mutation StartInterview($id: ID!) {\n    startInterview(id: $id) {\n      ...InterviewFields\n    }\n  }\n": typeof types.StartInterviewDocument,
    "\n  mutation PauseInterview($id: ID!) {\n    pauseInterview(id: $id) {\n      ...InterviewFields\n    }\n  }\n": typeof types.PauseInterviewDocument,
    "\n  mutation ResumeInterview($id: ID!) {\n    resumeInterview(id: $id) {\n      ...InterviewFields\n    }\n  }\n": typeof types.ResumeInterviewDocument,
    "\n  mutation CompleteInterview($id: ID!) {\n    completeInterview(id: $id) {\n      ...InterviewFields\n    }\n  }\n": typeof types.CompleteInterviewDocument,
    "\n  mutation CancelInterview($id: ID!, $reason: String) {\n    cancelInterview(id: $id, reason: $reason) {\n      ...InterviewFields\n    }\n  }\n": typeof types.CancelInterviewDocument,
    "\n  mutation SubmitAnswer($interviewId: ID!, $questionId: ID!, $content: String!) {\n    submitAnswer(interviewId: $interviewId, questionId: $questionId, content: $content) {\n      ...InterviewFields\n    }\n  }\n": typeof types.SubmitAnswerDocument,
    "\n  query MyInterviews($filter: InterviewFilter, $first: Int, $after: String) {\n    interviews(filter: $filter, first: $first, after: $after) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      edges {\n        node {\n          id\n          title\n          position\n          status\n          createdAt\n          scheduledFor\n        }\n      }\n    }\n  }\n": typeof types.MyInterviewsDocument,
    "\n  mutation CreateInterview($input: CreateInterviewInput!) {\n    createInterview(input: $input) {\n      id\n    }\n  }\n": typeof types.CreateInterviewDocument,
    "\n  query MyPreferences {\n    me {\n      id\n      interviewPreferences {\n        timezone\n        reminderMinutesBefore\n        autoResume\n      }\n    }\n  }\n": typeof types.MyPreferencesDocument,
    "\n  mutation UpdateInterviewPreferences($input: InterviewPreferencesInput!) {\n    updateInterviewPreferences(input: $input) {\n      timezone\n      reminderMinutesBefore\n      autoResume\n    }\n  }\n": typeof types.UpdateInterviewPreferencesDocument,
    "\n  query MyReport {\n    me {\n      id\n      email\n      firstName\n      lastName\n      company\n      createdAt\n      lastLoginAt\n      stats {\n        interviewsCreated\n        interviewsCompleted\n        interviewsCancelled\n        answersSubmitted\n        averageScore\n      }\n      interviews {\n        id\n        title\n        position\n        status\n        report {\n          answers\n          totalQuestions\n          completion\n          wordCount\n          durationSeconds\n          score\n          lastEventAt\n        }\n      }\n      recentActivity(first: 10) {\n        id\n        description\n        occurredAt\n      }\n    }\n  }\n": typeof types.MyReportDocument,
};
const documents: Documents = {
    "\n  query PlatformStats {\n    platformStats {\n      interviews\n      inProgress\n      completed\n      cancelled\n      answers\n      averageScore\n      eventsProcessed\n    }\n  }\n": types.PlatformStatsDocument,
    "\n  query AuditTrail($actor: ID, $eventTypes: [String!], $first: Int) {\n    auditTrail(actor: $actor, eventTypes: $eventTypes, first: $first) {\n      eventId\n      topic\n      eventType\n      source\n      actor\n      subject\n      occurredAt\n      recordedAt\n    }\n  }\n": types.AuditTrailDocument,
    "\n  subscription SystemEvents($types: [String!]) {\n    systemEvents(types: $types) {\n      __typename\n      eventId\n      eventType\n      timestamp\n      service\n      ... on HandlerFailedEvent {\n        groupId\n        topic\n        failedEventType\n        error\n        attempts\n        deadLetterTopic\n      }\n      ... on ServiceStartedEvent {\n        instanceId\n        hostname\n        pid\n      }\n      ... on ServiceStoppedEvent {\n        instanceId\n        reason\n        uptimeSeconds\n      }\n    }\n  }\n": types.SystemEventsDocument,
    "\n  fragment InterviewFields on Interview {\n    id\n    title\n    position\n    status\n    createdAt\n    scheduledFor\n    startedAt\n    pausedAt\n    completedAt\n    cancelledAt\n    questions {\n      id\n      position\n      text\n    }\n    answers {\n      id\n      content\n      wordCount\n      submittedAt\n      question {\n        id\n      }\n    }\n  }\n": types.InterviewFieldsFragmentDoc,
    "\n  query Interview($id: ID!) {\n    interview(id: $id) {\n      ...InterviewFields\n    }\n  }\n": types.InterviewDocument,
    "\n  subscription InterviewUpdated($id: ID!) {\n    interviewUpdated(id: $id) {\n      ...InterviewFields\n    }\n  }\n": types.InterviewUpdatedDocument,
    "\n  query InterviewHistory($id: ID!) {\n    interview(id: $id) {\n      id\n      history {\n        __typename\n        eventId\n        eventType\n        timestamp\n        ... on InterviewScheduledEvent {\n          scheduledFor\n        }\n        ... on InterviewPausedEvent {\n          pauseReason: reason\n        }\n        ... on InterviewResumedEvent {\n          trigger\n        }\n        ... on InterviewAnswerSubmittedEvent {\n          answeredQuestions\n          totalQuestions\n        }\n        ... on InterviewCancelledEvent {\n          reason\n        }\n        ... on InterviewRestoredEvent {\n          status\n        }\n      }\n    }\n  }\n": types.InterviewHistoryDocument,
    "\n  mutation ScheduleInterview($id: ID!, $scheduledFor: DateTime!) {\n    scheduleInterview(id: $id, scheduledFor: $scheduledFor) {\n      ...InterviewFields\n    }\n  }\n": types.ScheduleInterviewDocument,
    "\n  mutation StartInterview($id: ID!) {\n    startInterview(id: $id) {\n      ...InterviewFields\n    }\n  }\n": types.StartInterviewDocument,
    "\n  mutation PauseInterview($id: ID!) {\n    pauseInterview(id: $id) {\n      ...InterviewFields\n    }\n  }\n": types.PauseInterviewDocument,
    "\n  mutation ResumeInterview($id: ID!) {\n    resumeInterview(id: $id) {\n      ...InterviewFields\n    }\n  }\n": types.ResumeInterviewDocument,
    "\n  mutation CompleteInterview($id: ID!) {\n    completeInterview(id: $id) {\n      ...InterviewFields\n    }\n  }\n": types.CompleteInterviewDocument,
    "\n  mutation CancelInterview($id: ID!, $reason: String) {\n    cancelInterview(id: $id, reason: $reason) {\n      ...InterviewFields\n    }\n  }\n": types.CancelInterviewDocument,
    "\n  mutation SubmitAnswer($interviewId: ID!, $questionId: ID!, $content: String!) {\n    submitAnswer(interviewId: $interviewId, questionId: $questionId, content: $content) {\n      ...InterviewFields\n    }\n  }\n": types.SubmitAnswerDocument,
    "\n  query MyInterviews($filter: InterviewFilter, $first: Int, $after: String) {\n    interviews(filter: $filter, first: $first, after: $after) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      edges {\n        node {\n          id\n          title\n          position\n          status\n          createdAt\n          scheduledFor\n        }\n      }\n    }\n  }\n": types.MyInterviewsDocument,
    "\n  mutation CreateInterview($input: CreateInterviewInput!) {\n    createInterview(input: $input) {\n      id\n    }\n  }\n": types.CreateInterviewDocument,
    "\n  query MyPreferences {\n    me {\n      id\n      interviewPreferences {\n        timezone\n        reminderMinutesBefore\n        autoResume\n      }\n    }\n  }\n": types.MyPreferencesDocument,
    "\n  mutation UpdateInterviewPreferences($input: InterviewPreferencesInput!) {\n    updateInterviewPreferences(input: $input) {\n      timezone\n      reminderMinutesBefore\n      autoResume\n    }\n  }\n": types.UpdateInterviewPreferencesDocument,
    "\n  query MyReport {\n    me {\n      id\n      email\n      firstName\n      lastName\n      company\n      createdAt\n      lastLoginAt\n      stats {\n        interviewsCreated\n        interviewsCompleted\n        interviewsCancelled\n        answersSubmitted\n        averageScore\n      }\n      interviews {\n        id\n        title\n        position\n        status\n        report {\n          answers\n          totalQuestions\n          completion\n          wordCount\n          durationSeconds\n          score\n          lastEventAt\n        }\n      }\n      recentActivity(first: 10) {\n        id\n        description\n        occurredAt\n      }\n    }\n  }\n": types.MyReportDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query PlatformStats {\n    platformStats {\n      interviews\n      inProgress\n      completed\n      cancelled\n      answers\n      averageScore\n      eventsProcessed\n    }\n  }\n"): typeof import('./graphql').PlatformStatsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AuditTrail($actor: ID, $eventTypes: [String!], $first: Int) {\n    auditTrail(actor: $actor, eventTypes: $eventTypes, first: $first) {\n      eventId\n      topic\n      eventType\n      source\n      actor\n      subject\n      occurredAt\n      recordedAt\n    }\n  }\n"): typeof import('./graphql').AuditTrailDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription SystemEvents($types: [String!]) {\n    systemEvents(types: $types) {\n      __typename\n      eventId\n      eventType\n      timestamp\n      service\n      ... on HandlerFailedEvent {\n        groupId\n        topic\n        failedEventType\n        error\n        attempts\n        deadLetterTopic\n      }\n      ... on ServiceStartedEvent {\n        instanceId\n        hostname\n        pid\n      }\n      ... on ServiceStoppedEvent {\n        instanceId\n        reason\n        uptimeSeconds\n      }\n    }\n  }\n"): typeof import('./graphql').SystemEventsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment InterviewFields on Interview {\n    id\n    title\n    position\n    status\n    createdAt\n    scheduledFor\n    startedAt\n    pausedAt\n    completedAt\n    cancelledAt\n    questions {\n      id\n      position\n      text\n    }\n    answers {\n      id\n      content\n      wordCount\n      submittedAt\n      question {\n        id\n      }\n    }\n  }\n"): typeof import('./graphql').InterviewFieldsFragmentDoc;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Interview($id: ID!) {\n    interview(id: $id) {\n      ...InterviewFields\n    }\n  }\n"): typeof import('./graphql').InterviewDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription InterviewUpdated($id: ID!) {\n    interviewUpdated(id: $id) {\n      ...InterviewFields\n    }\n  }\n"): typeof import('./graphql').InterviewUpdatedDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query InterviewHistory($id: ID!) {\n    interview(id: $id) {\n      id\n      history {\n        __typename\n        eventId\n        eventType\n        timestamp\n        ... on InterviewScheduledEvent {\n          scheduledFor\n        }\n        ... on InterviewPausedEvent {\n          pauseReason: reason\n        }\n        ... on InterviewResumedEvent {\n          trigger\n        }\n        ... on InterviewAnswerSubmittedEvent {\n          answeredQuestions\n          totalQuestions\n        }\n        ... on InterviewCancelledEvent {\n          reason\n        }\n        ... on InterviewRestoredEvent {\n          status\n        }\n      }\n    }\n  }\n"): typeof import('./graphql').InterviewHistoryDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ScheduleInterview($id: ID!, $scheduledFor: DateTime!) {\n    scheduleInterview(id: $id, scheduledFor: $scheduledFor) {\n      ...InterviewFields\n    }\n  }\n"): typeof import('./graphql').ScheduleInterviewDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation StartInterview($id: ID!) {\n    startInterview(id: $id) {\n      ...InterviewFields\n    }\n  }\n"): typeof import('./graphql').StartInterviewDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation PauseInterview($id: ID!) {\n    pauseInterview(id: $id) {\n      ...InterviewFields\n    }\n  }\n"): typeof import('./graphql').PauseInterviewDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ResumeInterview($id: ID!) {\n    resumeInterview(id: $id) {\n      ...InterviewFields\n    }\n  }\n"): typeof import('./graphql').ResumeInterviewDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CompleteInterview($id: ID!) {\n    completeInterview(id: $id) {\n      ...InterviewFields\n    }\n  }\n"): typeof import('./graphql').CompleteInterviewDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CancelInterview($id: ID!, $reason: String) {\n    cancelInterview(id: $id, reason: $reason) {\n      ...InterviewFields\n    }\n  }\n"): typeof import('./graphql').CancelInterviewDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SubmitAnswer($interviewId: ID!, $questionId: ID!, $content: String!) {\n    submitAnswer(interviewId: $interviewId, questionId: $questionId, content: $content) {\n      ...InterviewFields\n    }\n  }\n"): typeof import('./graphql').SubmitAnswerDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query MyInterviews($filter: InterviewFilter, $first: Int, $after: String) {\n    interviews(filter: $filter, first: $first, after: $after) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      edges {\n        node {\n          id\n          title\n          position\n          status\n          createdAt\n          scheduledFor\n        }\n      }\n    }\n  }\n"): typeof import('./graphql').MyInterviewsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateInterview($input: CreateInterviewInput!) {\n    createInterview(input: $input) {\n      id\n    }\n  }\n"): typeof import('./graphql').CreateInterviewDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query MyPreferences {\n    me {\n      id\n      interviewPreferences {\n        timezone\n        reminderMinutesBefore\n        autoResume\n      }\n    }\n  }\n"): typeof import('./graphql').MyPreferencesDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpdateInterviewPreferences($input: InterviewPreferencesInput!) {\n    updateInterviewPreferences(input: $input) {\n      timezone\n      reminderMinutesBefore\n      autoResume\n    }\n  }\n"): typeof import('./graphql').UpdateInterviewPreferencesDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query MyReport {\n    me {\n      id\n      email\n      firstName\n      lastName\n      company\n      createdAt\n      lastLoginAt\n      stats {\n        interviewsCreated\n        interviewsCompleted\n        interviewsCancelled\n        answersSubmitted\n        averageScore\n      }\n      interviews {\n        id\n        title\n        position\n        status\n        report {\n          answers\n          totalQuestions\n          completion\n          wordCount\n          durationSeconds\n          score\n          lastEventAt\n        }\n      }\n      recentActivity(first: 10) {\n        id\n        description\n        occurredAt\n      }\n    }\n  }\n"): typeof import('./graphql').MyReportDocument;


export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}
