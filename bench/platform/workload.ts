/**
 * The platform graph's load: one dashboard query per seeded user (sent with that user's
 * `x-identity`, users in rotation), each checked against the answer fetched once up front.
 */
import { encodeIdentity, IDENTITY_HEADER } from '../../contracts/identity';
import type { Workload } from '../gateways-benchmark/load';
import {
  COMPLETED_PER_USER,
  INTERVIEWS_PER_USER,
  QUESTIONS_PER_INTERVIEW,
  type BenchUser,
} from './seed';

export const DASHBOARD_QUERY =
  'query Dashboard { me { email firstName interviews { title status questions { text } answers { content } report { answers score completion } } stats { interviewsCompleted averageScore } recentActivity(first: 5) { kind description } } }';

interface Dashboard {
  me: {
    email: string;
    firstName: string | null;
    interviews: {
      title: string;
      status: string;
      questions: { text: string }[];
      answers: { content: string }[];
      report: { answers: number; score: number | null; completion: number } | null;
    }[];
    stats: { interviewsCompleted: number; averageScore: number | null };
    recentActivity: { kind: string; description: string }[];
  } | null;
}

function request(user: BenchUser) {
  return {
    headers: { [IDENTITY_HEADER]: encodeIdentity(user.identity) },
    body: JSON.stringify({ query: DASHBOARD_QUERY, operationName: 'Dashboard' }),
  };
}

/** Why a reference answer does not show what was seeded for `user`, or undefined when it does. */
function checkReference(user: BenchUser, text: string): string | undefined {
  const body = JSON.parse(text) as { data?: Dashboard; errors?: unknown };
  if (body.errors !== undefined) return 'has errors';
  const me = body.data?.me;
  if (!me) return 'no me';
  if (me.email !== user.email || me.firstName !== user.firstName) return 'wrong profile';
  if (me.interviews.length !== INTERVIEWS_PER_USER) return `${me.interviews.length} interviews`;
  for (const interview of me.interviews) {
    if (
      interview.questions.length !== QUESTIONS_PER_INTERVIEW ||
      interview.answers.length !== QUESTIONS_PER_INTERVIEW ||
      interview.report?.answers !== QUESTIONS_PER_INTERVIEW
    ) {
      return `interview "${interview.title}" lacks questions, answers or its report`;
    }
  }
  const completed = me.interviews.filter((i) => i.status === 'COMPLETED').length;
  if (completed !== COMPLETED_PER_USER || me.stats.interviewsCompleted !== COMPLETED_PER_USER) {
    return `${completed} completed interviews, stats say ${me.stats.interviewsCompleted}`;
  }
  if (me.stats.averageScore === null) return 'no average score';
  if (me.recentActivity.length !== 5) return `${me.recentActivity.length} activities`;
  return undefined;
}

/**
 * Fetches each user's dashboard once through `gatewayUrl`, checks it shows the seeded data, and
 * returns the workload: the request per user and its answer as the expected body.
 */
export async function dashboardWorkload(
  gatewayUrl: string,
  users: BenchUser[],
): Promise<Workload & { bytes: number }> {
  const cases = [];
  for (const user of users) {
    const { headers, body } = request(user);
    const response = await fetch(gatewayUrl, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', accept: 'application/json' },
      body,
    });
    const text = await response.text();
    const problem =
      response.status === 200 ? checkReference(user, text) : `HTTP ${response.status}`;
    if (problem !== undefined) {
      throw new Error(
        `reference dashboard of ${user.identity.userId}: ${problem}: ${text.slice(0, 500)}`,
      );
    }
    cases.push({ headers, body, expected: text });
  }
  const bytes = cases.reduce((sum, c) => sum + Buffer.byteLength(c.expected), 0) / cases.length;
  return { cases, bytes };
}
