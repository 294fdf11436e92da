import type { InterviewStatus } from '../generated/resolvers-types';
import type { Status } from '../lifecycle';

const TO_GRAPHQL: Readonly<Record<Status, InterviewStatus>> = {
  draft: 'DRAFT',
  scheduled: 'SCHEDULED',
  in_progress: 'IN_PROGRESS',
  paused: 'PAUSED',
  completed: 'COMPLETED',
  cancelled: 'CANCELLED',
};

const FROM_GRAPHQL: Readonly<Record<InterviewStatus, Status>> = {
  DRAFT: 'draft',
  SCHEDULED: 'scheduled',
  IN_PROGRESS: 'in_progress',
  PAUSED: 'paused',
  COMPLETED: 'completed',
  CANCELLED: 'cancelled',
};

/**
 * The GraphQL `InterviewStatus` of a stored status: stored and event statuses are lowercase
 * (`in_progress`), the GraphQL enum is upper case (`IN_PROGRESS`).
 */
export const toGraphQLStatus = (status: Status): InterviewStatus => TO_GRAPHQL[status];
/** The stored status of a GraphQL `InterviewStatus` (`IN_PROGRESS` to `in_progress`). */
export const fromGraphQLStatus = (status: InterviewStatus): Status => FROM_GRAPHQL[status];
