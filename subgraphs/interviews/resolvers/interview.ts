import { userReference } from '../entities';
import { toGraphQLStatus } from './status';
import type {
  InterviewResolvers,
  AnswerResolvers,
  UserResolvers,
} from '../generated/resolvers-types';

const iso = (date: Date | null): string | null => date?.toISOString() ?? null;

/**
 * `Interview`: the parent is the entity (codegen mapper); related rows come through the
 * request's batch loaders, dates leave as ISO strings.
 */
export const Interview: InterviewResolvers = {
  __resolveReference: ({ id }, { interviews }) => interviews.reference(id),
  status: (interview) => toGraphQLStatus(interview.status),
  candidate: (interview) => userReference(interview.candidateId),
  questions: (interview, _args, { interviews }) => interviews.questionsOf(interview),
  answers: (interview, _args, { interviews }) => interviews.answersOf(interview),
  createdAt: (interview) => interview.createdAt.toISOString(),
  scheduledFor: (interview) => iso(interview.scheduledFor),
  startedAt: (interview) => iso(interview.startedAt),
  pausedAt: (interview) => iso(interview.pausedAt),
  completedAt: (interview) => iso(interview.completedAt),
  cancelledAt: (interview) => iso(interview.cancelledAt),
};

/** `Answer`: its question comes from the interview's (batched) questions. */
export const Answer: AnswerResolvers = {
  question: (answer, _args, { interviews }) => interviews.questionOf(answer),
  submittedAt: (answer) => answer.submittedAt.toISOString(),
};

/** `User`, as this subgraph extends it: the user's interviews and interview preferences. */
export const User: UserResolvers = {
  __resolveReference: ({ id }) => userReference(id),
  interviews: (user, _args, { interviews }) => interviews.interviewsOf(user.id),
  interviewPreferences: (user, _args, { preferences }) => preferences.of(user.id),
};
