/**
 * Subscriptions over HTTP through the whole platform (the three subgraphs, the real broker, the
 * gateway): graphql-sse's own client on `/graphql/stream`, a multipart client reading the parts
 * itself, and a graphql-ws client receive the same events; an SSE stream that breaks resumes
 * with `Last-Event-ID`; refusals come back as JSON with their status; a query with the
 * multipart `Accept` still reaches Apollo. Events come from mutations through the gateway.
 */
import { createClient, NetworkError, type Client as SseClient } from 'graphql-sse';
import { Agent, fetch, type RequestInit } from 'undici';
import type { Identity } from '../../contracts/identity';
import { testUser, waitFor } from '../../test/helpers';
import {
  asIdentity,
  liveClients,
  metric,
  pastCreation,
  record,
  subscribersAtLeast,
} from '../../test/live';
import {
  createInterview as create,
  gatewayCaller,
  startTestPlatform,
  type TestPlatform,
} from '../../test/platform';
import { readMultipartParts, readServerSentEvents, type StreamItem } from '../../test/http-streams';

jest.setTimeout(60_000);

interface Update {
  data?: { interviewUpdated: { id: string; status: string; answers: { id: string }[] } } | null;
  errors?: unknown;
  extensions?: { eventId: string; cursor: string };
}

const QUERY = `subscription ($id: ID!) { interviewUpdated(id: $id) { id status answers { id } } }`;
const MULTIPART = 'multipart/mixed;subscriptionSpec="1.0", application/json';

describe('subscriptions over HTTP at the gateway', () => {
  let platform: TestPlatform;
  /**
   * This file's connections, destroyed at the end: undici opens a fresh, unused connection when
   * a streaming fetch is aborted, which the gateway's stop would wait out.
   */
  const agent = new Agent();
  const fetchFn = (url: string, init: RequestInit = {}) =>
    fetch(url, { ...init, dispatcher: agent });
  const aborts: AbortController[] = [];
  const sseClients: SseClient[] = [];
  const wsClients = liveClients();
  const alice = testUser('alice');
  const bob = testUser('bob');
  const gql = gatewayCaller(() => platform.gatewayUrl, alice);
  const streamUrl = () => new URL('/graphql/stream', platform.gatewayUrl).href;
  const as = (who: Identity) => ({ 'x-identity': JSON.stringify(who) });

  /** A fetch aborted when the file ends, unless the test aborts it first. */
  const open = (url: string, init: RequestInit = {}) => {
    const abort = new AbortController();
    aborts.push(abort);
    return { abort, response: fetchFn(url, { ...init, signal: abort.signal }) };
  };
  const post = (url: string, body: unknown, headers: Record<string, string>) =>
    open(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    }).response;

  const createInterview = (who: Identity, questions: number) =>
    create(
      gql,
      {
        title: `Interview of ${who.userId}`,
        position: 'Engineer',
        questions: Array.from({ length: questions }, (_, i) => `Question ${i + 1}`),
      },
      who,
    );
  const act = async (mutation: string, id: string) => {
    const response = await gql(`mutation ($id: ID!) { ${mutation}(id: $id) { status } }`, { id });
    expect(response.errors).toBeUndefined();
  };
  const answer = async (interviewId: string, questionId: string) => {
    const response = await gql(
      `mutation ($i: ID!, $q: ID!) { submitAnswer(interviewId: $i, questionId: $q, content: "an answer") { status } }`,
      { i: interviewId, q: questionId },
    );
    expect(response.errors).toBeUndefined();
  };

  /** Reads an SSE response into `items` in the background. */
  const collectEvents = (body: AsyncIterable<Uint8Array>) => {
    const items: StreamItem[] = [];
    const done = (async () => {
      for await (const item of readServerSentEvents(body)) items.push(item);
    })().catch(() => undefined);
    const events = () =>
      items.flatMap((item) =>
        item.kind === 'event' && item.event === 'next'
          ? [{ id: item.id, result: JSON.parse(item.data) as Update }]
          : [],
      );
    return { items, events, done };
  };

  /** The error code and status of a refused request. */
  const refusal = async (response: Promise<{ status: number; json(): Promise<unknown> }>) => {
    const answered = await response;
    const body = (await answered.json()) as {
      errors: { message: string; extensions: { code: string } }[];
    };
    return {
      status: answered.status,
      code: body.errors[0]?.extensions.code,
      message: body.errors[0]?.message,
    };
  };

  const idsOf = (updates: Update[]) => updates.map((update) => update.extensions?.eventId);

  beforeAll(async () => {
    platform = await startTestPlatform();
    await platform.register(alice);
    await platform.register(bob);
  });

  afterEach(async () => {
    for (const client of sseClients.splice(0)) client.dispose();
    for (const abort of aborts.splice(0)) abort.abort();
    await wsClients.disposeAll();
    // Every subscription of the test is gone before the next counts subscribers.
    await waitFor(
      'no subscribers',
      async () => (await metric(platform.gatewayUrl, 'gateway_subscriptions')) === 0,
    );
  });

  afterAll(async () => {
    await agent.destroy();
    await platform?.stop();
  });

  it('delivers the same events to graphql-sse, multipart and graphql-ws clients', async () => {
    const interview = await createInterview(alice, 3);
    const variables = { id: interview.id };
    const isLive = (update: Update) => update.data?.interviewUpdated.status !== 'DRAFT';

    const sse: Update[] = [];
    const sseClient = createClient({
      url: streamUrl(),
      headers: as(alice),
      retryAttempts: 0,
      fetchFn,
    });
    sseClients.push(sseClient);
    sseClient.subscribe<Update['data'], Update['extensions']>(
      { query: QUERY, variables },
      {
        next: (result) => {
          const update = result as Update;
          if (isLive(update)) sse.push(update);
        },
        error: (error) => sse.push({ errors: error }),
        complete: () => undefined,
      },
    );

    const multipart: Update[] = [];
    const multipartResponse = await post(
      platform.gatewayUrl,
      { query: QUERY, variables },
      { ...as(alice), accept: MULTIPART },
    );
    expect(multipartResponse.status).toBe(200);
    expect(multipartResponse.headers.get('content-type')).toBe(
      'multipart/mixed;boundary="graphql";subscriptionSpec="1.0"',
    );
    void (async () => {
      for await (const part of readMultipartParts(multipartResponse.body!)) {
        const { payload } = part as { payload?: Update };
        if (payload && isLive(payload)) multipart.push(payload);
      }
    })().catch(() => undefined);

    const { client: wsClient } = wsClients.connect(platform.gatewayUrl, asIdentity(alice));
    const ws = record<Update['data']>(wsClient, { query: QUERY, variables }, pastCreation);

    await subscribersAtLeast(platform.gatewayUrl, 3);
    await act('startInterview', interview.id);
    await answer(interview.id, interview.questions[0]!);
    await answer(interview.id, interview.questions[1]!);
    await act('pauseInterview', interview.id);

    await ws.received(4);
    await waitFor(
      '4 results over SSE and multipart',
      () => sse.length >= 4 && multipart.length >= 4,
    );
    // Nothing more comes.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const viaWs = ws.results.map(({ data, extensions }) => ({ data, extensions }) as Update);
    expect(viaWs).toHaveLength(4);
    expect(new Set(idsOf(viaWs)).size).toBe(4);
    const comparable = (updates: Update[]) =>
      updates.map((update) => ({ eventId: update.extensions?.eventId, data: update.data }));
    expect(comparable(sse)).toEqual(comparable(viaWs));
    expect(comparable(multipart)).toEqual(comparable(viaWs));
    expect(viaWs.at(-1)?.data?.interviewUpdated.status).toBe('PAUSED');
  });

  it('resumes a broken SSE stream from Last-Event-ID: exactly the missed events, then live ones', async () => {
    const interview = await createInterview(alice, 6);
    const search = new URLSearchParams({
      query: QUERY,
      variables: JSON.stringify({ id: interview.id }),
    });
    const url = `${streamUrl()}?${search}`;
    const headers = { ...as(alice), accept: 'text/event-stream' };

    // Sees every event: what the SSE client gets is checked against it.
    const { client: wsClient } = wsClients.connect(platform.gatewayUrl, asIdentity(alice));
    const witness = record<Update['data']>(
      wsClient,
      { query: QUERY, variables: { id: interview.id } },
      pastCreation,
    );

    const first = open(url, { headers });
    const firstResponse = await first.response;
    expect(firstResponse.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const before = collectEvents(firstResponse.body!);
    await subscribersAtLeast(platform.gatewayUrl, 2);
    await act('startInterview', interview.id);
    await answer(interview.id, interview.questions[0]!);
    await witness.received(2);
    await waitFor(
      '2 events before the break',
      () =>
        before.events().filter((e) => e.result.data?.interviewUpdated.status !== 'DRAFT').length >=
        2,
    );
    const seen = before.events().filter((e) => e.result.data?.interviewUpdated.status !== 'DRAFT');
    // Each event's id is its cursor.
    for (const event of seen) expect(event.id).toBe(event.result.extensions?.cursor);
    const lastId = seen.at(-1)!.id!;

    first.abort.abort();
    await waitFor(
      'the broken stream to end its subscription',
      async () => (await metric(platform.gatewayUrl, 'gateway_subscriptions')) === 1,
    );
    for (const question of interview.questions.slice(1, 4)) await answer(interview.id, question);
    await witness.received(5);

    const again = await open(url, { headers: { ...headers, 'last-event-id': lastId } }).response;
    expect(again.status).toBe(200);
    const after = collectEvents(again.body!);
    await waitFor('the 3 missed events', () => after.events().length >= 3);
    await answer(interview.id, interview.questions[4]!);
    await witness.received(6);
    await waitFor('the live event', () => after.events().length >= 4);
    await new Promise((resolve) => setTimeout(resolve, 300));

    const all = idsOf(witness.results as Update[]);
    expect(all).toHaveLength(6);
    expect(seen.map((e) => e.result.extensions?.eventId)).toEqual(all.slice(0, 2));
    expect(after.events().map((e) => e.result.extensions?.eventId)).toEqual(all.slice(2));
    for (const event of after.events()) expect(event.id).toBe(event.result.extensions?.cursor);
  });

  it('refuses with JSON and a status, and keeps serving', async () => {
    const own = await createInterview(alice, 1);
    const bobs = await createInterview(bob, 1);
    const body = (id: string) => ({ query: QUERY, variables: { id } });

    // No credentials: 401, for both, and for graphql-sse's client a NetworkError with the response.
    expect(await refusal(post(streamUrl(), body(own.id), {}))).toMatchObject({
      status: 401,
      code: 'UNAUTHENTICATED',
    });
    expect(
      await refusal(post(platform.gatewayUrl, body(own.id), { accept: MULTIPART })),
    ).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    const anonymous = createClient({ url: streamUrl(), retryAttempts: 0, fetchFn });
    sseClients.push(anonymous);
    const error = await new Promise<unknown>((resolve) =>
      anonymous.subscribe(body(own.id), {
        next: () => undefined,
        error: resolve,
        complete: () => resolve(undefined),
      }),
    );
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as NetworkError).response?.status).toBe(401);

    // An invalid operation: 400 saying what is wrong.
    expect(
      await refusal(
        post(streamUrl(), { query: 'subscription { interviewUpdated { id } }' }, as(alice)),
      ),
    ).toEqual({
      status: 400,
      code: 'GRAPHQL_VALIDATION_FAILED',
      message: expect.stringMatching(/argument "id" of type "ID!" is required/),
    });
    expect(await refusal(post(streamUrl(), { query: 'subscription {' }, as(alice)))).toMatchObject({
      status: 400,
      code: 'GRAPHQL_PARSE_FAILED',
    });

    // Another user's interview: 403.
    expect(await refusal(post(streamUrl(), body(bobs.id), as(alice)))).toMatchObject({
      status: 403,
      code: 'FORBIDDEN',
    });
    expect(
      await refusal(post(platform.gatewayUrl, body(bobs.id), { ...as(alice), accept: MULTIPART })),
    ).toMatchObject({ status: 403, code: 'FORBIDDEN' });

    // A Last-Event-ID that is no cursor of ours: 400.
    const search = new URLSearchParams({ query: QUERY, variables: JSON.stringify({ id: own.id }) });
    const badCursor = open(`${streamUrl()}?${search}`, {
      headers: { ...as(alice), accept: 'text/event-stream', 'last-event-id': 'not-a-cursor' },
    }).response;
    expect(await refusal(badCursor)).toMatchObject({ status: 400, code: 'BAD_CURSOR' });

    // A subscription as plain GraphQL over HTTP: 400 naming the ways that serve it.
    expect(await refusal(post(platform.gatewayUrl, body(own.id), as(alice)))).toEqual({
      status: 400,
      code: 'BAD_REQUEST',
      message: expect.stringMatching(/WebSocket.*\/graphql\/stream.*multipart/),
    });

    // Still serving: a subscription runs, and a query over SSE is one `next` and `complete`.
    const live = open(`${streamUrl()}?${search}`, {
      headers: { ...as(alice), accept: 'text/event-stream' },
    });
    expect((await live.response).status).toBe(200);
    await subscribersAtLeast(platform.gatewayUrl, 1);
    const query = await post(
      streamUrl(),
      { query: '{ interview(id: "' + own.id + '") { id } }' },
      as(alice),
    );
    const items = collectEvents(query.body!);
    await items.done;
    expect(items.items.filter((item) => item.kind === 'event')).toEqual([
      {
        kind: 'event',
        event: 'next',
        id: undefined,
        data: JSON.stringify({ data: { interview: { id: own.id } } }),
      },
      { kind: 'event', event: 'complete', id: undefined, data: '' },
    ]);
  });

  it('answers a query sent with the multipart Accept as Apollo does', async () => {
    const interview = await createInterview(alice, 1);
    const response = await post(
      platform.gatewayUrl,
      {
        query: 'query ($id: ID!) { interview(id: $id) { id status } }',
        variables: { id: interview.id },
      },
      { ...as(alice), accept: MULTIPART },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({
      data: { interview: { id: interview.id, status: 'DRAFT' } },
    });
  });
});
