/** The interviews subgraph's resolvers: translation only; rules live in the service. */
import { DateTime } from '../../shared/scalars';
import { Answer, Interview, InterviewState, User } from './interview';
import { Mutation } from './mutation';
import { Query } from './query';
import type { Resolvers } from '../generated/resolvers-types';

export const resolvers: Resolvers = {
  DateTime,
  Query,
  Mutation,
  Interview,
  InterviewState,
  Answer,
  User,
};
