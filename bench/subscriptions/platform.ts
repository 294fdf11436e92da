/**
 * The platform under `bench:subscriptions`: the supergraph with the `events` subgraph (which the
 * gateway answers from Kafka), GraphQL over HTTP at the gateway as a given identity, the
 * gateway's `/metrics`, and the seed: a registered candidate with one started interview.
 */
import { get as httpGet } from 'node:http';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { UserEventFactory, type KafkaService } from '../../events';
import { EVENTS_SCHEMA_FILE, EVENTS_SUBGRAPH } from '../../events/subgraph';
import { IDENTITY_HEADER, encodeIdentity, type Identity } from '../../contracts/identity';
import { postGraphQL } from '../lib/graphql';
import { waitFor } from '../lib/wait';
import { PLATFORM_SUBGRAPHS, type PlatformSubgraphName } from '../platform/supergraph';

const SUBGRAPHS_DIR = resolve(__dirname, '../../subgraphs');

/** Composes users, interviews and reporting at `urls` with the events subgraph. */
export function composeLiveSupergraph(urls: Record<PlatformSubgraphName, string>): string {
  const composed = composeServices([
    ...PLATFORM_SUBGRAPHS.map((name) => ({
      name,
      url: urls[name],
      typeDefs: parse(readFileSync(join(SUBGRAPHS_DIR, name, 'schema.graphql'), 'utf8')),
    })),
    {
      name: EVENTS_SUBGRAPH,
      // Never called: the gateway answers the events subgraph from Kafka.
      url: 'http://events.invalid/graphql',
      typeDefs: parse(readFileSync(EVENTS_SCHEMA_FILE, 'utf8')),
    },
  ]);
  if (composed.errors) {
    throw new Error(`composition failed:\n${composed.errors.map((e) => e.message).join('\n')}`);
  }
  return composed.supergraphSdl;
}

/** POSTs an operation to the gateway as `identity`; throws on an HTTP or GraphQL error. */
export async function gatewayQuery<T>(
  url: string,
  query: string,
  variables: Record<string, unknown>,
  identity: Identity,
): Promise<T> {
  return postGraphQL<T>(
    url,
    query,
    variables,
    { [IDENTITY_HEADER]: encodeIdentity(identity) },
    'gateway',
  );
}

/** A GET on a connection of its own: with workers (node:cluster), each new one goes to the next. */
function getOnNewConnection(url: URL): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = httpGet(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
    });
    request.setTimeout(10_000, () => request.destroy(new Error(`GET ${url.href} timed out`)));
    request.on('error', reject);
  });
}

/**
 * The gateway's `/metrics` values by name (first sample of each, labels ignored). `fresh`: over a
 * new connection, so that a gateway of several workers answers from the next one.
 */
export async function gatewayMetrics(
  url: string,
  options: { fresh?: boolean } = {},
): Promise<Map<string, number>> {
  const endpoint = new URL('/metrics', url);
  const text = options.fresh
    ? await getOnNewConnection(endpoint)
    : await (await fetch(endpoint)).text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const name = line.split(/[ {]/, 1)[0] ?? '';
    if (!values.has(name)) values.set(name, Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return values;
}

/** One value of the gateway's `/metrics` by name; throws when it is missing. */
export async function metric(
  url: string,
  name: string,
  options: { fresh?: boolean } = {},
): Promise<number> {
  const value = (await gatewayMetrics(url, options)).get(name);
  if (value === undefined) throw new Error(`no metric ${name} at ${url}`);
  return value;
}

/** The interview `seedInterview` created and started, and its candidate. */
export interface SeededInterview {
  id: string;
  questionIds: string[];
  candidate: Identity;
}

/**
 * Registers `candidate` by a `user.registered` event, as the gateway publishes it at sign-in,
 * and waits until `me` through the gateway shows them.
 */
export async function registerCandidate(
  gatewayUrl: string,
  publisher: Pick<KafkaService, 'publishEvent'>,
  candidate: Identity & { email: string },
): Promise<void> {
  await publisher.publishEvent(
    'user-events',
    UserEventFactory.createUserRegistered(candidate.userId, candidate.email, {
      firstName: 'Bench',
      lastName: 'Candidate',
    }),
  );
  await waitFor(
    `the users subgraph to register ${candidate.userId}`,
    async () => {
      const { me } = await gatewayQuery<{ me: { email: string } | null }>(
        gatewayUrl,
        'query { me { email } }',
        {},
        candidate,
      );
      return me?.email === candidate.email;
    },
    60_000,
  );
}

/**
 * Registers `candidate` (a `user.registered` event, as the gateway publishes it at sign-in),
 * creates and starts an interview as them through the gateway, and waits until the users
 * subgraph knows them and the reporting read model shows the interview in progress.
 */
export async function seedInterview(
  gatewayUrl: string,
  publisher: KafkaService,
  candidate: Identity & { email: string },
): Promise<SeededInterview> {
  await registerCandidate(gatewayUrl, publisher, candidate);
  const { id, questionIds } = await startInterview(
    gatewayUrl,
    candidate,
    'Live subscriptions benchmark',
    20,
  );
  await waitForReport(
    gatewayUrl,
    id,
    candidate,
    'the reporting read model to show the interview in progress',
  );
  return { id, questionIds, candidate };
}

/** Creates an interview of `questions` questions as `candidate` through the gateway, and starts it. */
export async function startInterview(
  gatewayUrl: string,
  candidate: Identity,
  title: string,
  questions: number,
): Promise<{ id: string; questionIds: string[] }> {
  const { createInterview } = await gatewayQuery<{
    createInterview: { id: string; questions: { id: string }[] };
  }>(
    gatewayUrl,
    `mutation ($input: CreateInterviewInput!) { createInterview(input: $input) { id questions { id } } }`,
    {
      input: {
        title,
        position: 'Backend engineer',
        questions: Array.from({ length: questions }, (_, i) => `Question ${i + 1}`),
      },
    },
    candidate,
  );
  const id = createInterview.id;
  await gatewayQuery(
    gatewayUrl,
    'mutation ($id: ID!) { startInterview(id: $id) { status } }',
    { id },
    candidate,
  );
  return { id, questionIds: createInterview.questions.map((q) => q.id) };
}

/**
 * Waits (60 s at most) until the reporting read model's report of interview `id` has the
 * interview's own status: the interview's events have been through Kafka and projected.
 */
export async function waitForReport(
  gatewayUrl: string,
  id: string,
  identity: Identity,
  what: string,
): Promise<void> {
  await waitFor(
    what,
    async () => {
      const { interview } = await gatewayQuery<{
        interview: { status: string; report: { status: string } | null } | null;
      }>(
        gatewayUrl,
        'query ($id: ID!) { interview(id: $id) { status report { status } } }',
        { id },
        identity,
      );
      const report = interview?.report;
      return (
        interview !== null &&
        interview !== undefined &&
        report !== null &&
        report !== undefined &&
        report.status.toUpperCase() === interview.status.toUpperCase()
      );
    },
    60_000,
  );
}
