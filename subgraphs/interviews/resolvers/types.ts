/**
 * Resolver types of this subgraph, built from codegen's generated pieces, with parents and
 * results as the entities the resolvers really pass around.
 *
 * Interim: once codegen maps `Interview`, `Question`, `Answer` and `User` to these entities
 * (`mappers` in codegen.ts), the generated types of the same names say the same: import them
 * from `../generated/resolvers-types` instead and delete this file.
 */
import type { GraphQLScalarType } from 'graphql';
import type { SubgraphContext } from '../context';
import type { AnswerEntity, InterviewEntity, QuestionEntity, UserReference } from '../entities';
import type {
  FederationReferenceTypes,
  InterviewStatus,
  Maybe,
  MutationCancelInterviewArgs,
  MutationCompleteInterviewArgs,
  MutationCreateInterviewArgs,
  MutationPauseInterviewArgs,
  MutationResumeInterviewArgs,
  MutationScheduleInterviewArgs,
  MutationStartInterviewArgs,
  MutationSubmitAnswerArgs,
  PageInfo,
  QueryInterviewArgs,
  QueryInterviewsArgs,
  ReferenceResolver,
  RequireFields,
  Resolver,
  ResolversObject,
} from '../generated/resolvers-types';

type Root = Record<PropertyKey, never>;
type NoArgs = Record<PropertyKey, never>;
type Field<TResult, TParent, TArgs = NoArgs> = Resolver<TResult, TParent, SubgraphContext, TArgs>;

/** `Query.interviews` as the resolver returns it: nodes are entities. */
export interface InterviewConnectionResult {
  edges: { cursor: string; node: InterviewEntity }[];
  pageInfo: Omit<PageInfo, '__typename'>;
  totalCount: number;
}

type Mutating<TArgs, TRequired extends keyof TArgs> = Field<
  InterviewEntity,
  Root,
  RequireFields<TArgs, TRequired>
>;

type DateField<TParent> = Field<string, TParent>;
type OptionalDateField<TParent> = Field<Maybe<string>, TParent>;

export type QueryResolvers = ResolversObject<{
  interview?: Field<Maybe<InterviewEntity>, Root, RequireFields<QueryInterviewArgs, 'id'>>;
  interviews?: Field<InterviewConnectionResult, Root, RequireFields<QueryInterviewsArgs, 'first'>>;
}>;

export type MutationResolvers = ResolversObject<{
  createInterview?: Mutating<MutationCreateInterviewArgs, 'input'>;
  scheduleInterview?: Mutating<MutationScheduleInterviewArgs, 'id' | 'scheduledFor'>;
  startInterview?: Mutating<MutationStartInterviewArgs, 'id'>;
  submitAnswer?: Mutating<MutationSubmitAnswerArgs, 'interviewId' | 'questionId' | 'content'>;
  pauseInterview?: Mutating<MutationPauseInterviewArgs, 'id'>;
  resumeInterview?: Mutating<MutationResumeInterviewArgs, 'id'>;
  completeInterview?: Mutating<MutationCompleteInterviewArgs, 'id'>;
  cancelInterview?: Mutating<MutationCancelInterviewArgs, 'id'>;
}>;

export type InterviewResolvers = ResolversObject<{
  __resolveReference?: ReferenceResolver<
    Maybe<InterviewEntity>,
    FederationReferenceTypes['Interview'],
    SubgraphContext
  >;
  id?: Field<string, InterviewEntity>;
  title?: Field<string, InterviewEntity>;
  position?: Field<string, InterviewEntity>;
  status?: Field<InterviewStatus, InterviewEntity>;
  candidate?: Field<UserReference, InterviewEntity>;
  questions?: Field<QuestionEntity[], InterviewEntity>;
  answers?: Field<AnswerEntity[], InterviewEntity>;
  createdAt?: DateField<InterviewEntity>;
  scheduledFor?: OptionalDateField<InterviewEntity>;
  startedAt?: OptionalDateField<InterviewEntity>;
  pausedAt?: OptionalDateField<InterviewEntity>;
  completedAt?: OptionalDateField<InterviewEntity>;
  cancelledAt?: OptionalDateField<InterviewEntity>;
}>;

export type QuestionResolvers = ResolversObject<{
  id?: Field<string, QuestionEntity>;
  position?: Field<number, QuestionEntity>;
  text?: Field<string, QuestionEntity>;
}>;

export type AnswerResolvers = ResolversObject<{
  id?: Field<string, AnswerEntity>;
  question?: Field<QuestionEntity, AnswerEntity>;
  content?: Field<string, AnswerEntity>;
  wordCount?: Field<number, AnswerEntity>;
  submittedAt?: DateField<AnswerEntity>;
}>;

export type UserResolvers = ResolversObject<{
  __resolveReference?: ReferenceResolver<
    UserReference,
    FederationReferenceTypes['User'],
    SubgraphContext
  >;
  id?: Field<string, UserReference>;
  interviews?: Field<InterviewEntity[], UserReference>;
}>;

export type Resolvers = ResolversObject<{
  DateTime?: GraphQLScalarType;
  Query?: QueryResolvers;
  Mutation?: MutationResolvers;
  Interview?: InterviewResolvers;
  Question?: QuestionResolvers;
  Answer?: AnswerResolvers;
  User?: UserResolvers;
}>;
