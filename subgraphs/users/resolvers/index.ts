import { DateTime } from '../../shared/scalars';
import type { Resolvers } from '../generated/resolvers-types';
import { AccountErasure, AccountErasureStep } from './erasure';
import { Mutation } from './mutation';
import { Query } from './query';
import { User, UserActivity } from './user';

export const resolvers: Resolvers = {
  DateTime,
  Query,
  Mutation,
  User,
  UserActivity,
  AccountErasure,
  AccountErasureStep,
};
