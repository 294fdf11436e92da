/**
 * The subscription planner against the checked-in supergraph, with the real subgraph SDLs served
 * in-process (LocalGraphQLDataSource) by tiny resolvers: no Kafka, no network.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { LocalGraphQLDataSource, type GraphQLDataSource } from '@apollo/gateway';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse, type GraphQLError, type GraphQLSchema } from 'graphql';
import {
  InterviewEventFactory,
  SystemEventFactory,
  UserEventFactory,
} from '../../events/factories';
import { eventValue } from '../../events/subgraph';
import { silentLogger } from '../../lib/logger';
import { depthLimitRule, fieldLimitRule, QUERY_TOO_DEEP, QUERY_TOO_LARGE } from '../limits';
import type { GatewayContext } from '../subgraph-client';
import { LIVE_FIELDS, type LiveField } from './fields';
import { SubscriptionPlanner, type CompiledSubscription } from './plan';

const ROOT = path.join(__dirname, '..', '..');
const SUPERGRAPH_SDL = readFileSync(path.join(ROOT, 'supergraph.graphql'), 'utf8');
const SUBGRAPHS = ['users', 'interviews', 'reporting'] as const;
type SubgraphName = (typeof SUBGRAPHS)[number];

const sdl = (name: SubgraphName) =>
  parse(readFileSync(path.join(ROOT, 'subgraphs', name, 'schema.graphql'), 'utf8'));

const INTERVIEWS: Record<string, { title: string; status: string; candidateId: string }> = {
  'i-1': { title: 'Backend screen', status: 'IN_PROGRESS', candidateId: 'u-1' },
  'i-2': { title: 'Frontend screen', status: 'PAUSED', candidateId: 'u-2' },
};
const USERS: Record<string, { email: string }> = {
  'u-1': { email: 'u1@example.com' },
  'u-2': { email: 'u2@example.com' },
};
const SCORES: Record<string, number> = { 'i-1': 87, 'i-2': 42 };

/** What the in-test subgraphs saw; reset before every test. */
const seen = {
  calls: { users: 0, interviews: 0, reporting: 0 } as Record<SubgraphName, number>,
  contexts: [] as unknown[],
  reportFails: false,
};

interface Ref {
  id: string;
}

function subgraphSchema(name: SubgraphName): GraphQLSchema {
  switch (name) {
    case 'interviews':
      return buildSubgraphSchema({
        typeDefs: sdl(name),
        resolvers: {
          Interview: {
            __resolveReference: (ref: Ref, context: unknown) => {
              seen.contexts.push(context);
              const interview = INTERVIEWS[ref.id];
              if (!interview) return null;
              return {
                id: ref.id,
                title: interview.title,
                status: interview.status,
                candidate: { __typename: 'User', id: interview.candidateId },
              };
            },
          },
        },
      });
    case 'users':
      return buildSubgraphSchema({
        typeDefs: sdl(name),
        resolvers: {
          User: {
            __resolveReference: (ref: Ref) => {
              const user = USERS[ref.id];
              return user ? { id: ref.id, ...user } : null;
            },
          },
        },
      });
    case 'reporting':
      return buildSubgraphSchema({
        typeDefs: sdl(name),
        resolvers: {
          Interview: {
            report: (parent: Ref) => {
              if (seen.reportFails) throw new Error('The report store is unavailable');
              return { interviewId: parent.id, score: SCORES[parent.id] ?? null };
            },
          },
        },
      });
  }
}

/** In-process data sources that count their calls. */
function dataSources(): Record<SubgraphName, GraphQLDataSource> {
  const sources = {} as Record<SubgraphName, GraphQLDataSource>;
  for (const name of SUBGRAPHS) {
    const local = new LocalGraphQLDataSource(subgraphSchema(name));
    sources[name] = {
      process: (options) => {
        seen.calls[name]++;
        return local.process(options);
      },
    };
  }
  return sources;
}

function newPlanner(options: { cacheSize?: number } = {}): SubscriptionPlanner {
  return new SubscriptionPlanner({
    supergraphSdl: SUPERGRAPH_SDL,
    dataSources: dataSources(),
    validationRules: [depthLimitRule(6), fieldLimitRule(40)],
    logger: silentLogger,
    ...options,
  });
}

const CONTEXT: GatewayContext = { subgraphHeaders: { 'x-internal-token': 'signed-for-u-1' } };
const EVENT_ID = '9b2f7f0e-3d5c-4c1b-9a57-0c1f2e3d4b5a';
const AT = new Date('2025-12-01T09:00:00.000Z');

function liveField(name: string): LiveField {
  const field = LIVE_FIELDS.get(name);
  if (!field) throw new Error(`No live field ${name}`);
  return field;
}

let planner: SubscriptionPlanner;

beforeAll(() => {
  planner = newPlanner();
});

beforeEach(() => {
  seen.calls = { users: 0, interviews: 0, reporting: 0 };
  seen.contexts = [];
  seen.reportFails = false;
});

/** Compiles an operation the test expects to be accepted. */
function compile(query: string, operationName?: string): CompiledSubscription {
  const compiled = planner.compile(query, operationName);
  if (!('perEvent' in compiled)) {
    throw new Error(`Refused: ${compiled.map((e) => e.message).join('; ')}`);
  }
  return compiled;
}

/** Compiles an operation the test expects to be refused. */
function refusal(query: string, operationName?: string): readonly GraphQLError[] {
  const compiled = planner.compile(query, operationName);
  if ('perEvent' in compiled) throw new Error(`Accepted: ${query}`);
  expect(compiled.length).toBeGreaterThan(0);
  return compiled;
}

/** The argument values of an accepted operation for these variables. */
function argumentsOf(compiled: CompiledSubscription, variables?: Record<string, unknown> | null) {
  const input = planner.argumentsOf(compiled, variables);
  if (!('args' in input)) throw new Error(input.map((e) => e.message).join('; '));
  return input;
}

function badInput(compiled: CompiledSubscription, variables: Record<string, unknown> | null) {
  const input = planner.argumentsOf(compiled, variables);
  if ('args' in input) throw new Error(`Accepted ${JSON.stringify(variables)}`);
  return input;
}

const codes = (errors: readonly GraphQLError[]) => errors.map((e) => e.extensions['code']);

describe('the live fields', () => {
  it('match the Subscription fields of the supergraph API schema, both ways', () => {
    const subscription = planner.apiSchema.getSubscriptionType();
    expect(subscription?.name).toBe('Subscription');
    const schemaFields = Object.keys(subscription?.getFields() ?? {}).sort();
    expect(schemaFields.length).toBeGreaterThan(0);
    expect([...LIVE_FIELDS.keys()].sort()).toEqual(schemaFields);
    for (const [name, field] of LIVE_FIELDS) expect(field.name).toBe(name);
  });
});

describe('SubscriptionPlanner', () => {
  const ALIASED = `subscription S($id: ID!) {
    u: interviewUpdated(id: $id) { ident: id title candidate { email } report { score } }
  }`;

  it('executes interviewUpdated with variables and aliases across three subgraphs', async () => {
    const compiled = compile(ALIASED, 'S');
    expect(compiled.field.name).toBe('interviewUpdated');
    expect(compiled.operationName).toBe('S');
    expect(compiled.perEvent.node?.kind).toBe('Sequence');

    const input = argumentsOf(compiled, { id: 'i-1' });
    expect(input).toEqual({ args: { id: 'i-1' }, variables: { id: 'i-1' } });

    const event = InterviewEventFactory.create(
      'interview.started',
      { interviewId: 'i-1', candidateId: 'u-1', startedAt: '2025-12-01T09:01:00.000Z' },
      { eventId: EVENT_ID, timestamp: AT },
    );
    const value = liveField('interviewUpdated').value(event);
    expect(value).toEqual({ __typename: 'Interview', id: 'i-1' });

    const result = await planner.execute(compiled, value, input.variables, CONTEXT);
    expect(result).toEqual({
      data: {
        u: {
          ident: 'i-1',
          title: 'Backend screen',
          candidate: { email: 'u1@example.com' },
          report: { score: 87 },
        },
      },
    });
    expect(seen.calls).toEqual({ users: 1, interviews: 1, reporting: 1 });
    // The subgraphs run with the subscriber's context (its signed internal token).
    expect(seen.contexts).toEqual([expect.objectContaining(CONTEXT)]);
  });

  it('resolves each event from its own value with the same compiled operation', async () => {
    const compiled = compile(ALIASED, 'S');
    const field = liveField('interviewUpdated');
    const event = InterviewEventFactory.create('interview.paused', {
      interviewId: 'i-2',
      candidateId: 'u-2',
      pausedAt: '2025-12-01T09:10:00.000Z',
      reason: 'timeout',
    });
    const { variables } = argumentsOf(compiled, { id: 'i-2' });
    const result = await planner.execute(compiled, field.value(event), variables, CONTEXT);
    expect(result).toEqual({
      data: {
        u: {
          ident: 'i-2',
          title: 'Frontend screen',
          candidate: { email: 'u2@example.com' },
          report: { score: 42 },
        },
      },
    });
  });

  it('gives each event type of myInterviewEvents its __typename and its own fields', async () => {
    const compiled = compile(`
      subscription Mine {
        myInterviewEvents {
          __typename
          kind: __typename
          eventId
          eventType
          timestamp
          ... on InterviewStartedEvent { startedAt }
          ... on InterviewPausedEvent { pausedAt reason }
          ...Completed
          interview { id title }
        }
      }
      fragment Completed on InterviewCompletedEvent { completedAt durationSeconds }
    `);
    expect(compiled.operationName).toBeUndefined();
    const { variables } = argumentsOf(compiled, undefined);
    const base = { interviewId: 'i-1', candidateId: 'u-1' };
    const meta = { eventId: EVENT_ID, timestamp: AT };
    const started = InterviewEventFactory.create(
      'interview.started',
      { ...base, startedAt: '2025-12-01T09:01:00.000Z' },
      meta,
    );
    const paused = InterviewEventFactory.create(
      'interview.paused',
      { ...base, pausedAt: '2025-12-01T09:10:00.000Z', reason: 'logged_out' },
      meta,
    );
    const completed = InterviewEventFactory.create(
      'interview.completed',
      {
        ...base,
        completedAt: '2025-12-01T09:40:00.000Z',
        answeredQuestions: 3,
        totalQuestions: 3,
        durationSeconds: 2340,
      },
      meta,
    );
    const common = {
      eventId: EVENT_ID,
      timestamp: AT.toISOString(),
      interview: { id: 'i-1', title: 'Backend screen' },
    };
    const field = liveField('myInterviewEvents');
    expect(field.value(started)).toEqual(eventValue(started));

    const run = (event: Parameters<typeof eventValue>[0]) =>
      planner.execute(compiled, eventValue(event), variables, CONTEXT);

    expect(await run(started)).toEqual({
      data: {
        myInterviewEvents: {
          __typename: 'InterviewStartedEvent',
          kind: 'InterviewStartedEvent',
          eventType: 'interview.started',
          startedAt: '2025-12-01T09:01:00.000Z',
          ...common,
        },
      },
    });
    expect(await run(paused)).toEqual({
      data: {
        myInterviewEvents: {
          __typename: 'InterviewPausedEvent',
          kind: 'InterviewPausedEvent',
          eventType: 'interview.paused',
          pausedAt: '2025-12-01T09:10:00.000Z',
          reason: 'LOGGED_OUT',
          ...common,
        },
      },
    });
    expect(await run(completed)).toEqual({
      data: {
        myInterviewEvents: {
          __typename: 'InterviewCompletedEvent',
          kind: 'InterviewCompletedEvent',
          eventType: 'interview.completed',
          completedAt: '2025-12-01T09:40:00.000Z',
          durationSeconds: 2340,
          ...common,
        },
      },
    });
    // `interview { title }` is the only part outside the events subgraph: one call per event.
    expect(seen.calls).toEqual({ users: 0, interviews: 3, reporting: 0 });
  });

  it('answers a selection of the events subgraph alone without calling any other subgraph', async () => {
    const compiled = compile(`
      subscription Failures($types: [String!]) {
        systemEvents(types: $types) {
          __typename eventId eventType service
          ... on HandlerFailedEvent { error failedEventId attempts }
          ... on ServiceStartedEvent { pid }
        }
      }
    `);
    expect(compiled.perEvent.node?.kind).toBe('Fetch');
    const input = argumentsOf(compiled, { types: 'handler.failed' });
    // A single value is coerced to a one-element list, as GraphQL input coercion says.
    expect(input.args).toEqual({ types: ['handler.failed'] });

    const event = SystemEventFactory.create(
      'handler.failed',
      'reporting-service',
      {
        service: 'reporting-service',
        groupId: 'reporting-service-group',
        topic: 'interview-events',
        partition: 0,
        offset: '17',
        error: 'database is locked',
        attempts: 4,
        deadLetterTopic: 'interview-events.dlq',
      },
      { eventId: EVENT_ID, timestamp: AT },
    );
    const value = liveField('systemEvents').value(event);
    const result = await planner.execute(compiled, value, input.variables, CONTEXT);
    expect(result).toEqual({
      data: {
        systemEvents: {
          __typename: 'HandlerFailedEvent',
          eventId: EVENT_ID,
          eventType: 'handler.failed',
          service: 'reporting-service',
          error: 'database is locked',
          failedEventId: null,
          attempts: 4,
        },
      },
    });
    expect(seen.calls).toEqual({ users: 0, interviews: 0, reporting: 0 });
  });

  it('calls only the users subgraph for userActivity { user { email } }', async () => {
    const compiled = compile(`
      subscription Activity($u: ID!) {
        userActivity(userId: $u) {
          __typename
          user { email }
          ... on UserLoggedOutEvent { reason }
        }
      }
    `);
    const input = argumentsOf(compiled, { u: 'u-2' });
    expect(input.args).toEqual({ userId: 'u-2' });
    const event = UserEventFactory.createUserLoggedOut('u-2', 's-1', 'security');
    const value = liveField('userActivity').value(event);
    const result = await planner.execute(compiled, value, input.variables, CONTEXT);
    expect(result).toEqual({
      data: {
        userActivity: {
          __typename: 'UserLoggedOutEvent',
          user: { email: 'u2@example.com' },
          reason: 'SECURITY',
        },
      },
    });
    expect(seen.calls).toEqual({ users: 1, interviews: 0, reporting: 0 });
  });

  it('gives partial data and an error when the reporting subgraph fails', async () => {
    seen.reportFails = true;
    const compiled = compile(ALIASED, 'S');
    const { variables } = argumentsOf(compiled, { id: 'i-1' });
    const event = InterviewEventFactory.create('interview.started', {
      interviewId: 'i-1',
      candidateId: 'u-1',
      startedAt: '2025-12-01T09:01:00.000Z',
    });
    const result = await planner.execute(
      compiled,
      liveField('interviewUpdated').value(event),
      variables,
      CONTEXT,
    );
    expect(result.data).toEqual({
      u: {
        ident: 'i-1',
        title: 'Backend screen',
        candidate: { email: 'u1@example.com' },
        report: null,
      },
    });
    expect(result.errors).toHaveLength(1);
    const [error] = result.errors ?? [];
    expect(error?.message).toBe('The report store is unavailable');
    expect(error?.path).toEqual(['u', 'report']);
    expect(error?.extensions).toMatchObject({
      code: 'DOWNSTREAM_SERVICE_ERROR',
      serviceName: 'reporting',
    });
    expect(seen.calls).toEqual({ users: 1, interviews: 1, reporting: 1 });
  });

  describe('refuses with coded errors', () => {
    it('a parse error: GRAPHQL_PARSE_FAILED', () => {
      const errors = refusal('subscription { interviewUpdated(id: "i-1") { id }');
      expect(codes(errors)).toEqual(['GRAPHQL_PARSE_FAILED']);
      expect(errors[0]?.message).toMatch(/^Syntax Error/);
      expect(errors[0]?.locations).toEqual([{ line: 1, column: 50 }]);
    });

    it.each([
      [
        'an unknown root field',
        'subscription { nope { id } }',
        'Cannot query field "nope" on type "Subscription".',
      ],
      [
        'an unknown nested field',
        'subscription { interviewUpdated(id: "i-1") { nope } }',
        'Cannot query field "nope" on type "Interview".',
      ],
      [
        'a missing required argument',
        'subscription { interviewUpdated { id } }',
        'Field "interviewUpdated" argument "id" of type "ID!" is required, but it was not provided.',
      ],
      [
        'two root fields',
        'subscription Two { myInterviewEvents { eventId } systemEvents { eventId } }',
        'Subscription "Two" must select only one top level field.',
      ],
      [
        'an undeclared variable',
        'subscription { interviewUpdated(id: $id) { id } }',
        'Variable "$id" is not defined.',
      ],
    ])('%s: GRAPHQL_VALIDATION_FAILED', (_name, query, message) => {
      const errors = refusal(query);
      expect(new Set(codes(errors))).toEqual(new Set(['GRAPHQL_VALIDATION_FAILED']));
      expect(errors.map((e) => e.message)).toContain(message);
    });

    it.each([
      ['a query', 'query { interview(id: "i-1") { id } }', 'query is not a subscription'],
      [
        'a mutation',
        'mutation { startInterview(id: "i-1") { id } }',
        'mutation is not a subscription',
      ],
      [
        'several operations and no operation name',
        'subscription A { myInterviewEvents { eventId } } subscription B { myInterviewEvents { eventId } }',
        'Name the operation to run',
      ],
    ])('%s: BAD_REQUEST', (_name, query, message) => {
      const errors = refusal(query);
      expect(codes(errors)).toEqual(['BAD_REQUEST']);
      expect(errors[0]?.message).toBe(message);
    });

    it('an unknown operation name: BAD_REQUEST', () => {
      const errors = refusal('subscription A { myInterviewEvents { eventId } }', 'B');
      expect(codes(errors)).toEqual(['BAD_REQUEST']);
      expect(errors[0]?.message).toBe('Unknown operation B');
    });

    it('@defer, which the API schema does not even define: GRAPHQL_VALIDATION_FAILED', () => {
      expect(planner.apiSchema.getDirective('defer')).toBeUndefined();
      const errors = refusal(`subscription {
        interviewUpdated(id: "i-1") { id ... @defer { title } }
      }`);
      expect(codes(errors)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
      expect(errors[0]?.message).toBe('Unknown directive "@defer".');
    });

    const TOO_DEEP = `subscription {
      myInterviewEvents { interview { candidate { interviews { candidate { interviews { id } } } } } }
    }`;
    const tooLarge = (count: number) =>
      `subscription { myInterviewEvents { ${Array.from({ length: count - 1 }, (_, i) => `f${i}: eventId`).join(' ')} } }`;

    it('a selection beyond the depth and field limits of the gateway, with the limit in the message', () => {
      // At the limits: accepted.
      compile(
        'subscription { myInterviewEvents { interview { candidate { interviews { candidate { id } } } } } }',
      );
      compile(tooLarge(40));

      const deep = refusal(TOO_DEEP);
      expect(deep).toHaveLength(1);
      expect(deep[0]?.message).toBe('Query depth 7 exceeds the limit of 6');
      const large = refusal(tooLarge(41));
      expect(large).toHaveLength(1);
      expect(large[0]?.message).toBe(
        'Query selects 41 fields (fragments expanded), more than the limit of 40',
      );
    });

    // The same codes as a query over HTTP gets (gateway/errors.ts).
    it('the limits keep their codes QUERY_TOO_DEEP and QUERY_TOO_LARGE', () => {
      expect(codes(refusal(TOO_DEEP))).toEqual([QUERY_TOO_DEEP]);
      expect(codes(refusal(tooLarge(41)))).toEqual([QUERY_TOO_LARGE]);
    });
  });

  describe('argumentsOf', () => {
    const compiled = () => compile(ALIASED, 'S');

    it('takes argument literals and coerces variables', () => {
      const literal = compile('subscription { interviewUpdated(id: "i-9") { id } }');
      expect(argumentsOf(literal, null)).toEqual({ args: { id: 'i-9' }, variables: {} });
      // An Int is a valid ID input, coerced to a string.
      expect(argumentsOf(compiled(), { id: 7 })).toEqual({
        args: { id: '7' },
        variables: { id: '7' },
      });
    });

    it.each([
      ['missing', {}, 'Variable "$id" of required type "ID!" was not provided.'],
      ['no variables at all', null, 'Variable "$id" of required type "ID!" was not provided.'],
      ['null', { id: null }, 'Variable "$id" of non-null type "ID!" must not be null.'],
      [
        'of a wrong type',
        { id: true },
        'Variable "$id" got invalid value true; ID cannot represent value: true',
      ],
      [
        'an object',
        { id: { a: 1 } },
        'Variable "$id" got invalid value { a: 1 }; ID cannot represent value: { a: 1 }',
      ],
    ])('refuses a required variable %s with BAD_USER_INPUT', (_name, variables, message) => {
      const errors = badInput(compiled(), variables);
      expect(codes(errors)).toEqual(['BAD_USER_INPUT']);
      expect(errors[0]?.message).toBe(message);
    });

    it('refuses a list variable with a wrong item type with BAD_USER_INPUT', () => {
      const systems = compile(
        'subscription ($t: [String!]) { systemEvents(types: $t) { eventId } }',
      );
      expect(argumentsOf(systems, {}).args).toEqual({});
      expect(argumentsOf(systems, { t: null }).args).toEqual({ types: null });
      const errors = badInput(systems, { t: ['handler.failed', 3] });
      expect(codes(errors)).toEqual(['BAD_USER_INPUT']);
      expect(errors[0]?.message).toMatch(/^Variable "\$t" got invalid value 3 at "t\[1\]"/);
    });
  });

  describe('compile cache', () => {
    it('returns the same object for the same text and operation name', () => {
      const a = compile(ALIASED, 'S');
      expect(compile(ALIASED, 'S')).toBe(a);
      const text = 'subscription { myInterviewEvents { eventId } }';
      expect(compile(text)).toBe(compile(text));
      expect(compile(text)).not.toBe(compile(`${text} `));
    });

    it('keeps refusals too', () => {
      const query = 'subscription { nope }';
      expect(planner.compile(query, undefined)).toBe(planner.compile(query, undefined));
    });

    it('tells operation names apart', () => {
      const text =
        'subscription A { myInterviewEvents { eventId } } subscription B { systemEvents { eventId } }';
      const a = compile(text, 'A');
      const b = compile(text, 'B');
      expect(a).not.toBe(b);
      expect(a.field.name).toBe('myInterviewEvents');
      expect(b.field.name).toBe('systemEvents');
    });

    it('drops the least recently used entry beyond cacheSize', () => {
      const small = newPlanner({ cacheSize: 2 });
      const q = (n: number) => `subscription Q${n} { myInterviewEvents { eventId } }`;
      const a = small.compile(q(1), undefined);
      const b = small.compile(q(2), undefined);
      expect(small.compile(q(1), undefined)).toBe(a); // q(1) is now the most recent
      small.compile(q(3), undefined); // evicts q(2)
      expect(small.compile(q(1), undefined)).toBe(a);
      const b2 = small.compile(q(2), undefined);
      expect(b2).not.toBe(b);
      expect(b2).toEqual(b);
    });
  });
});
