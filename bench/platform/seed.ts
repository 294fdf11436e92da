/**
 * Seed data for the platform graph, through the real path only:
 *  1. `user.registered` events on user-events, published as the gateway does (`api-gateway`);
 *     the users subgraph's consumer creates the profiles;
 *  2. per user, through the interviews subgraph's GraphQL as that user (an internal token naming
 *     them, signed as the gateway would; subgraphs take no `x-identity` header any more): 3
 *     interviews of 5 questions, each started and every question answered; 2 of the 3 completed;
 *  3. waits until the events have reached the reporting read model (`platformStats`) and every
 *     user's activity log in the users subgraph.
 */
import { KafkaService, UserEventFactory } from '../../events';
import type { Identity } from '../../contracts/identity';
import { INTERNAL_TOKEN_HEADER, signInternalToken } from '../../contracts/internal-token';
import { postGraphQL } from '../lib/graphql';
import { waitFor } from '../lib/wait';
import type { PlatformSubgraphName } from './supergraph';

export const INTERVIEWS_PER_USER = 3;
export const QUESTIONS_PER_INTERVIEW = 5;
export const COMPLETED_PER_USER = 2;
/** Events per user on interview-events: created, started, one per answer, completed. */
const EVENTS_PER_USER = INTERVIEWS_PER_USER * (2 + QUESTIONS_PER_INTERVIEW) + COMPLETED_PER_USER;
/** Activities per user in the users subgraph: the registration plus one per interview event. */
const ACTIVITIES_PER_USER = 1 + EVENTS_PER_USER;

/** A seeded user: who they are to the subgraphs, and their registration's fields. */
export interface BenchUser {
  identity: Identity;
  email: string;
  firstName: string;
}

const ADMIN: Identity = { userId: 'bench-admin', roles: ['admin'] };

/** A subgraph's GraphQL endpoint and the key of the internal tokens it accepts. */
interface SubgraphTarget {
  url: string;
  internalTokenSecret: string;
}

/**
 * POSTs an operation to a subgraph as `identity` (in an internal token, as the gateway sends it);
 * throws on an HTTP error or any GraphQL error.
 */
async function graphql<T>(
  { url, internalTokenSecret }: SubgraphTarget,
  query: string,
  variables: Record<string, unknown>,
  identity: Identity,
): Promise<T> {
  return postGraphQL<T>(url, query, variables, {
    [INTERNAL_TOKEN_HEADER]: await signInternalToken(internalTokenSecret, identity),
  });
}

/** How long the seed waits for its events to be projected. */
const PROJECTED_WITHIN_MS = 120_000;

/** `count` words, so answers (and so scores) differ between users and questions. */
const words = (count: number) =>
  Array.from({ length: count }, (_, i) => `word${i.toString(36)}`).join(' ');

/** Runs `work` over `items`, at most `limit` at a time. */
async function eachLimited<T>(
  items: T[],
  limit: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

const CREATE = `mutation Create($input: CreateInterviewInput!) {
  createInterview(input: $input) { id questions { id } }
}`;
const START = `mutation Start($id: ID!) { startInterview(id: $id) { status } }`;
const ANSWER = `mutation Answer($i: ID!, $q: ID!, $c: String!) {
  submitAnswer(interviewId: $i, questionId: $q, content: $c) { status }
}`;
const COMPLETE = `mutation Complete($id: ID!) { completeInterview(id: $id) { status } }`;

async function seedInterviews(
  interviews: SubgraphTarget,
  user: BenchUser,
  index: number,
): Promise<void> {
  for (let k = 0; k < INTERVIEWS_PER_USER; k += 1) {
    const { createInterview } = await graphql<{
      createInterview: { id: string; questions: { id: string }[] };
    }>(
      interviews,
      CREATE,
      {
        input: {
          title: `${user.firstName}: interview ${k + 1}`,
          position: ['Backend engineer', 'Frontend engineer', 'Data engineer'][k % 3],
          questions: Array.from(
            { length: QUESTIONS_PER_INTERVIEW },
            (_, q) => `Question ${q + 1} of interview ${k + 1}: tell us about topic ${q + k}.`,
          ),
        },
      },
      user.identity,
    );
    const id = createInterview.id;
    await graphql(interviews, START, { id }, user.identity);
    for (const [q, question] of createInterview.questions.entries()) {
      const content = words(8 + ((index * 7 + k * 5 + q * 11) % 50));
      await graphql(interviews, ANSWER, { i: id, q: question.id, c: content }, user.identity);
    }
    if (k < COMPLETED_PER_USER) await graphql(interviews, COMPLETE, { id }, user.identity);
  }
}

/**
 * Registers `users` users and seeds their interviews through the real path, and waits until the
 * events are projected; see the file's header.
 */
export async function seedPlatform(options: {
  brokers: string[];
  topicPrefix: string;
  urls: Record<PlatformSubgraphName, string>;
  internalTokenSecret: string;
  users: number;
  log: (line: string) => void;
}): Promise<BenchUser[]> {
  const { log, internalTokenSecret } = options;
  const target = (name: PlatformSubgraphName) => ({
    url: options.urls[name],
    internalTokenSecret,
  });
  const urls = { users: target('users'), interviews: target('interviews') };
  const reporting = target('reporting');
  const users: BenchUser[] = Array.from({ length: options.users }, (_, i) => {
    const n = String(i + 1).padStart(2, '0');
    const email = `user${n}@bench.example.com`;
    return {
      identity: { userId: `bench-user-${n}`, email, roles: [] },
      email,
      firstName: `User${n}`,
    };
  });

  const started = Date.now();
  const gatewayEvents = new KafkaService('api-gateway', {
    brokers: options.brokers,
    topicPrefix: options.topicPrefix,
    announce: false,
  });
  await gatewayEvents.start();
  try {
    await Promise.all(
      users.map((u) =>
        gatewayEvents.publishEvent(
          'user-events',
          UserEventFactory.createUserRegistered(u.identity.userId, u.email, {
            firstName: u.firstName,
            lastName: 'Bench',
          }),
        ),
      ),
    );
  } finally {
    await gatewayEvents.stop();
  }
  const usersQuery = `query Users($first: Int) {
    users(first: $first) { totalCount edges { node { id recentActivity(first: 50) { id } } } }
  }`;
  type Users = {
    users: { totalCount: number; edges: { node: { id: string; recentActivity: unknown[] } }[] };
  };
  const listUsers = () => graphql<Users>(urls.users, usersQuery, { first: 100 }, ADMIN);
  await waitFor(
    `${users.length} users registered in the users subgraph`,
    async () => (await listUsers()).users.totalCount >= users.length,
    PROJECTED_WITHIN_MS,
  );
  log(`  ${users.length} users registered (user.registered events) in ${Date.now() - started} ms`);

  const t = Date.now();
  await eachLimited(users, 4, (user, index) => seedInterviews(urls.interviews, user, index));
  log(
    `  ${users.length * INTERVIEWS_PER_USER} interviews (${QUESTIONS_PER_INTERVIEW} questions, all answered, ${COMPLETED_PER_USER} of ${INTERVIEWS_PER_USER} completed per user) in ${Date.now() - t} ms`,
  );

  const expected = {
    interviews: users.length * INTERVIEWS_PER_USER,
    inProgress: users.length * (INTERVIEWS_PER_USER - COMPLETED_PER_USER),
    completed: users.length * COMPLETED_PER_USER,
    answers: users.length * INTERVIEWS_PER_USER * QUESTIONS_PER_INTERVIEW,
    eventsProcessed: users.length * EVENTS_PER_USER,
  };
  type Stats = { platformStats: typeof expected };
  let last: Stats['platformStats'] | undefined;
  await waitFor(
    () =>
      `the reporting read model to show ${JSON.stringify(expected)} (last: ${JSON.stringify(last)})`,
    async () => {
      last = (
        await graphql<Stats>(
          reporting,
          `
            {
              platformStats {
                interviews
                inProgress
                completed
                answers
                eventsProcessed
              }
            }
          `,
          {},
          ADMIN,
        )
      ).platformStats;
      return (Object.keys(expected) as (keyof typeof expected)[]).every(
        (key) => last?.[key] === expected[key],
      );
    },
    PROJECTED_WITHIN_MS,
  );
  await waitFor(
    `${ACTIVITIES_PER_USER} activities per user in the users subgraph`,
    async () =>
      (await listUsers()).users.edges.every(
        (e) => e.node.recentActivity.length >= ACTIVITIES_PER_USER,
      ),
    PROJECTED_WITHIN_MS,
  );
  log(`  events projected (reporting: ${JSON.stringify(last)}) ${Date.now() - started} ms in all`);
  return users;
}
