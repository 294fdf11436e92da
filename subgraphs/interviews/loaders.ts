/**
 * The interviews subgraph's batch loaders (DataLoader), built once per GraphQL request by
 * `createContext` (`./context.ts`) from the request's EntityManager fork: values are memoized
 * for that request only, so no caller sees rows loaded for another, and `InterviewService`
 * clears what its own writes made stale.
 *
 * A listing with questions and answers thus costs one query per level, not one per interview.
 */
import type { EntityManager } from '@mikro-orm/core';
import DataLoader from 'dataloader';
import { keysetOrder } from '../shared/pagination';
import { AnswerEntity, InterviewEntity, QuestionEntity, StreamEventEntity } from './entities';
import { loadStreams } from './event-store';

/** One request's loaders, keyed by id. */
export interface InterviewLoaders {
  /** An interview by id; `undefined` when there is none. */
  byId: DataLoader<string, InterviewEntity | undefined>;
  /** A candidate's interviews, newest first (the listing's order). */
  byCandidate: DataLoader<string, InterviewEntity[]>;
  /** An interview's questions, by interview id, in position order. */
  questions: DataLoader<string, QuestionEntity[]>;
  /** An interview's answers, by interview id, in submission order. */
  answers: DataLoader<string, AnswerEntity[]>;
  /** An interview's event stream as stored, by interview id, in order. */
  streams: DataLoader<string, StreamEventEntity[]>;
}

/** Fresh loaders reading through `em`: call once per request. */
export function createInterviewLoaders(em: EntityManager): InterviewLoaders {
  return {
    byId: loader(
      async (ids) => {
        const rows = await em.find(InterviewEntity, { id: { $in: ids } });
        return new Map(rows.map((row) => [row.id, row]));
      },
      () => undefined,
    ),
    byCandidate: loader(
      async (candidateIds) =>
        groupBy(
          await em.find(
            InterviewEntity,
            { candidateId: { $in: candidateIds } },
            { orderBy: keysetOrder<InterviewEntity>('desc') },
          ),
          (row) => row.candidateId,
        ),
      () => [],
    ),
    questions: loader(
      async (interviewIds) =>
        groupBy(
          await em.find(
            QuestionEntity,
            { interview: { $in: interviewIds } },
            { orderBy: { position: 'asc' } },
          ),
          (row) => row.interview.id,
        ),
      () => [],
    ),
    answers: loader(
      async (interviewIds) =>
        groupBy(
          await em.find(
            AnswerEntity,
            { interview: { $in: interviewIds } },
            { orderBy: { submittedAt: 'asc', id: 'asc' } },
          ),
          (row) => row.interview.id,
        ),
      () => [],
    ),
    streams: loader(
      (interviewIds) => loadStreams(em, interviewIds),
      () => [],
    ),
  };
}

/**
 * A DataLoader over one query that answers a batch of keys with a map; a key the map lacks
 * gets `missing()` (a fresh value per key, so no two keys share an empty array).
 */
function loader<V>(
  fetch: (keys: string[]) => Promise<Map<string, V>>,
  missing: () => V,
): DataLoader<string, V> {
  return new DataLoader<string, V>(
    async (keys) => {
      const found = await fetch([...keys]);
      return keys.map((key) => found.get(key) ?? missing());
    },
    {
      // DataLoader's default dispatches once the promise jobs queued so far have run, so keys
      // asked for at the end of longer promise chains of the same level (async resolvers that
      // await another loader first) would make a second batch. `setImmediate` waits until no
      // promise job is left, so each level of a response is one batch.
      batchScheduleFn: (dispatch) => setImmediate(dispatch),
    },
  );
}

function groupBy<T>(rows: readonly T[], key: (row: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const k = key(row);
    const group = groups.get(k);
    if (group) group.push(row);
    else groups.set(k, [row]);
  }
  return groups;
}
