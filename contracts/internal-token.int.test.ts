/**
 * Nobody reaches a subgraph around the gateway: the whole platform runs (SQLite), and requests
 * sent straight to a subgraph without a valid `x-internal-token` get 401, whatever they ask,
 * while the same requests through the gateway work.
 */
import { randomBytes } from 'node:crypto';
import { randomName } from '../test/helpers';
import { startTestPlatform, type TestPlatform } from '../test/platform';
import {
  graphql,
  postGraphQL,
  TEST_INTERNAL_TOKEN_SECRET,
  type GraphQLResponse,
} from '../test/subgraph-helpers';
import { encodeIdentity, IDENTITY_HEADER, type Identity } from './identity';
import { INTERNAL_TOKEN_HEADER, signInternalToken } from './internal-token';

jest.setTimeout(120_000);

const ME = '{ me { id email } }';
const SERVICE = '{ _service { sdl } }';
const ENTITIES = `query ($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on User { id } }
}`;
const operations: [string, string, Record<string, unknown>][] = [
  ['a normal query', ME, {}],
  ['_service', SERVICE, {}],
  ['_entities', ENTITIES, { representations: [{ __typename: 'User', id: 'u-1' }] }],
];

let platform: TestPlatform;
let usersUrl: string;
const alice: Identity = { userId: randomName('alice'), roles: ['admin'] };

beforeAll(async () => {
  platform = await startTestPlatform();
  usersUrl = platform.subgraphs.users.url;
});

afterAll(() => platform?.stop());

function expect401(response: GraphQLResponse, message: string | RegExp) {
  expect(response.status).toBe(401);
  expect(response.data).toBeUndefined();
  expect(response.errors).toEqual([
    expect.objectContaining({
      message: typeof message === 'string' ? message : expect.stringMatching(message),
      extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }),
    }),
  ]);
}

describe('straight to a subgraph', () => {
  it.each(operations)('refuses %s without a token: 401', async (_, query, variables) => {
    const response = await postGraphQL(usersUrl, query, variables);
    expect401(
      response,
      'Missing x-internal-token: subgraphs only accept requests from the gateway',
    );
  });

  it.each(operations)(
    'refuses %s with only the x-identity header the gateway used to forward: 401',
    async (_, query, variables) => {
      const response = await postGraphQL(usersUrl, query, variables, {
        [IDENTITY_HEADER]: encodeIdentity(alice),
      });
      expect401(response, /^Missing x-internal-token/);
    },
  );

  it.each(operations)(
    'refuses %s with a token signed with another key: 401',
    async (_, query, variables) => {
      const forged = await signInternalToken(randomBytes(48).toString('base64url'), alice);
      const response = await postGraphQL(usersUrl, query, variables, {
        [INTERNAL_TOKEN_HEADER]: forged,
      });
      expect401(response, "Invalid x-internal-token: signature not made with the gateway's key");
    },
  );

  it.each(operations)('refuses %s with an expired token: 401', async (_, query, variables) => {
    const expired = await signInternalToken(TEST_INTERNAL_TOKEN_SECRET, alice, {
      issuedAt: new Date(Date.now() - 10 * 60_000),
    });
    const response = await postGraphQL(usersUrl, query, variables, {
      [INTERNAL_TOKEN_HEADER]: expired,
    });
    expect401(response, /^Invalid x-internal-token: expired at /);
  });

  it('refuses a token that is not a JWS, or is sent as a bearer token: 401', async () => {
    expect401(
      await postGraphQL(usersUrl, ME, {}, { [INTERNAL_TOKEN_HEADER]: 'garbage' }),
      /^Invalid x-internal-token: not a token signed by the gateway/,
    );
    const valid = await signInternalToken(TEST_INTERNAL_TOKEN_SECRET, alice);
    expect401(
      await postGraphQL(usersUrl, ME, {}, { authorization: `Bearer ${valid}` }),
      /^Missing x-internal-token/,
    );
  });

  it('answers every operation with a valid token, anonymous included', async () => {
    const service = await graphql<{ _service: { sdl: string } }>(usersUrl, SERVICE);
    expect(service.status).toBe(200);
    expect(service.data?._service.sdl).toMatch(/type User/);
    const entities = await graphql(usersUrl, ENTITIES, operations[2]![2], alice);
    expect(entities.status).toBe(200);
    expect(entities.data).toHaveProperty('_entities');
    const me = await graphql(usersUrl, ME, {}, alice);
    expect(me.status).toBe(200);
    expect(me.errors).toBeUndefined();
  });

  it('keeps /health and /ready open', async () => {
    for (const path of ['/health', '/ready']) {
      const response = await fetch(new URL(path, usersUrl));
      expect(response.status).toBe(200);
      await response.arrayBuffer();
    }
  });
});

describe('through the gateway', () => {
  it('works without the client sending any token', async () => {
    const response = await postGraphQL(
      platform.gatewayUrl,
      ME,
      {},
      {
        [IDENTITY_HEADER]: encodeIdentity(alice),
      },
    );
    expect(response.status).toBe(200);
    expect(response.errors).toBeUndefined();
    expect(response.data).toEqual({ me: null });
  });

  it('tells the subgraphs who the caller is', async () => {
    const query = '{ users { totalCount } }';
    const asAdmin = await postGraphQL(
      platform.gatewayUrl,
      query,
      {},
      {
        [IDENTITY_HEADER]: encodeIdentity(alice),
      },
    );
    expect(asAdmin.errors).toBeUndefined();
    expect(asAdmin.data).toEqual({ users: { totalCount: expect.any(Number) } });
    const anonymous = await postGraphQL(platform.gatewayUrl, query);
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('answers a malformed x-identity header with 401 and the reason', async () => {
    const response = await postGraphQL(platform.gatewayUrl, ME, {}, { [IDENTITY_HEADER]: '{' });
    expect(response.status).toBe(401);
    expect(response.errors).toEqual([
      expect.objectContaining({
        message: 'Invalid x-identity header: not JSON',
        extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }),
      }),
    ]);
  });
});
