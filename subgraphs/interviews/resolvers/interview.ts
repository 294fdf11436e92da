import { eventValue } from '../../../events/subgraph';
import { AnswerEntity, InterviewEntity, QuestionEntity, userReference } from '../entities';
import type { InterviewSnapshot as State } from '../history';
import { toGraphQLStatus } from './status';
import type {
  InterviewResolvers,
  InterviewStateResolvers,
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
  // Typed as the subscriptions type them (eventValue); `interview` is this one, already allowed.
  history: async (interview, _args, { interviews }) =>
    (await interviews.historyOf(interview)).map(({ event }) => ({
      ...eventValue(event),
      interview,
    })) as never,
  stateAt: (interview, { eventId }, { interviews }) => interviews.stateAt(interview, eventId),
};

/** `InterviewState`: the rebuilt state; questions and answers as the entities they were. */
export const InterviewState: InterviewStateResolvers = {
  sequence: (state) => state.sequence,
  eventId: (state) => state.eventId,
  at: (state) => state.interview.updatedAt.toISOString(),
  status: (state) => toGraphQLStatus(state.interview.status),
  title: (state) => state.interview.title,
  position: (state) => state.interview.position,
  scheduledFor: (state) => iso(state.interview.scheduledFor),
  startedAt: (state) => iso(state.interview.startedAt),
  pausedAt: (state) => iso(state.interview.pausedAt),
  completedAt: (state) => iso(state.interview.completedAt),
  cancelledAt: (state) => iso(state.interview.cancelledAt),
  cancelReason: (state) => state.interview.cancelReason,
  questions: (state) => state.questions.map((q) => questionOf(state, q.id)),
  answers: (state) =>
    state.answers.map((a) =>
      Object.assign(new AnswerEntity(), {
        id: a.id,
        interview: Object.assign(new InterviewEntity(), { id: state.interview.id }),
        question: questionOf(state, a.questionId),
        content: a.content,
        wordCount: a.wordCount,
        submittedAt: a.submittedAt,
      }),
    ),
};

function questionOf(state: State, id: string): QuestionEntity {
  const q = state.questions.find((question) => question.id === id);
  return Object.assign(new QuestionEntity(), {
    id,
    interview: Object.assign(new InterviewEntity(), { id: state.interview.id }),
    position: q?.position ?? 0,
    text: q?.text ?? '',
  });
}

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
