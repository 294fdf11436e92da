import type { MutationResolvers } from '../generated/resolvers-types';

/** Every mutation is one service call: the lifecycle's actions and the preferences. */
export const Mutation: MutationResolvers = {
  createInterview: (_root, { input }, { interviews }) =>
    interviews.create({
      title: input.title,
      position: input.position,
      candidateId: input.candidateId,
      questions: input.questions,
    }),

  // The DateTime scalar hands resolvers a Date, though codegen types it as its wire string;
  // `new Date()` takes either.
  scheduleInterview: (_root, { id, scheduledFor }, { interviews }) =>
    interviews.schedule(id, new Date(scheduledFor)),

  startInterview: (_root, { id }, { interviews }) => interviews.start(id),

  submitAnswer: (_root, { interviewId, questionId, content }, { interviews }) =>
    interviews.submitAnswer(interviewId, questionId, content),

  pauseInterview: (_root, { id }, { interviews }) => interviews.pause(id),

  resumeInterview: (_root, { id }, { interviews }) => interviews.resume(id),

  completeInterview: (_root, { id }, { interviews }) => interviews.complete(id),

  cancelInterview: (_root, { id, reason }, { interviews }) => interviews.cancel(id, reason),

  updateInterviewPreferences: (_root, { input }, { preferences }) => preferences.update(input),
};
