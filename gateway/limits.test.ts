import { buildSchema, getIntrospectionQuery, parse, specifiedRules, validate } from 'graphql';
import {
  depthLimitRule,
  fieldLimitRule,
  QUERY_TOO_DEEP,
  QUERY_TOO_LARGE,
  QueryLimitError,
  type LimitRuleOptions,
} from './limits';

const schema = buildSchema(`
  type Query { me: User, user(id: ID!): User }
  type User { id: ID!, name: String, friends: [User], posts: [Post] }
  type Post { id: ID!, title: String, author: User }
`);

function depthErrors(query: string, max: number, options?: LimitRuleOptions) {
  return validate(schema, parse(query), [depthLimitRule(max, options)]);
}
function fieldErrors(query: string, max: number, options?: LimitRuleOptions) {
  return validate(schema, parse(query), [fieldLimitRule(max, options)]);
}

describe('depthLimitRule', () => {
  it('accepts an operation at the limit and counts one level per nested field', () => {
    expect(depthErrors('{ me { friends { id } } }', 3)).toEqual([]);
  });

  it('refuses a deeper operation with a clear message and QUERY_TOO_DEEP', () => {
    const [error, ...rest] = depthErrors('{ me { friends { friends { id } } } }', 3);
    expect(rest).toEqual([]);
    expect(error).toBeInstanceOf(QueryLimitError);
    expect(error?.message).toBe('Query depth 4 exceeds the limit of 3');
    expect(error?.extensions.code).toBe(QUERY_TOO_DEEP);
    expect(error?.locations).toEqual([{ line: 1, column: 1 }]);
  });

  it('follows named fragments, nested fragments and inline fragments', () => {
    const query = `
      query Deep { me { ...A } }
      fragment A on User { friends { ...B } }
      fragment B on User { ... on User { posts { author { id } } } }
    `;
    expect(depthErrors(query, 5)).toEqual([]);
    expect(depthErrors(query, 4).map((e) => e.message)).toEqual([
      'Query depth 5 exceeds the limit of 4',
    ]);
  });

  it('checks every operation of a document on its own', () => {
    const query = `
      query Shallow { me { id } }
      query Deep { me { friends { friends { id } } } }
    `;
    expect(depthErrors(query, 3).map((e) => e.message)).toEqual([
      'Query depth 4 exceeds the limit of 3',
    ]);
  });

  it('leaves introspection out unless told otherwise, so GraphiQL and Sandbox work', () => {
    const introspection = getIntrospectionQuery();
    expect(depthErrors(introspection, 3)).toEqual([]);
    expect(depthErrors(introspection, 3, { ignoreIntrospection: false })).toHaveLength(1);
    expect(depthErrors('{ __typename me { __typename } }', 2)).toEqual([]);
  });

  it('survives fragment cycles (graphql reports those itself)', () => {
    const query = `
      { me { ...A } }
      fragment A on User { friends { ...B } }
      fragment B on User { friends { ...A } }
    `;
    expect(() => depthErrors(query, 10)).not.toThrow();
    const all = validate(schema, parse(query), [...specifiedRules, depthLimitRule(10)]);
    expect(all.some((e) => e.message.includes('Cannot spread fragment "A" within itself'))).toBe(
      true,
    );
  });
});

describe('fieldLimitRule', () => {
  it('counts every field, aliases included', () => {
    const query = '{ a: me { id } b: me { id name } }';
    expect(fieldErrors(query, 5)).toEqual([]);
    const [error] = fieldErrors(query, 4);
    expect(error?.message).toBe(
      'Query selects 5 fields (fragments expanded), more than the limit of 4',
    );
    expect(error?.extensions.code).toBe(QUERY_TOO_LARGE);
  });

  it('counts a fragment once per spread', () => {
    const query = `
      { a: me { ...U } b: me { ...U } c: user(id: 1) { ... on User { ...U } } }
      fragment U on User { id name }
    `;
    expect(fieldErrors(query, 9)).toEqual([]);
    expect(fieldErrors(query, 8)).toHaveLength(1);
  });

  it('measures fragment bombs in linear time', () => {
    // F0 has 2 fields; each Fn spreads Fn-1 under two aliases: 2^31 fields after expansion.
    const fragments = ['fragment F0 on User { id name }'];
    for (let i = 1; i <= 30; i += 1) {
      fragments.push(
        `fragment F${i} on User { a: friends { ...F${i - 1} } b: friends { ...F${i - 1} } }`,
      );
    }
    const query = `{ me { ...F30 } } ${fragments.join('\n')}`;
    const started = Date.now();
    const [error] = fieldErrors(query, 1000);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(error?.extensions.code).toBe(QUERY_TOO_LARGE);
    expect(error?.message).toMatch(/^Query selects \d{10} fields/);
  });

  it('leaves introspection out by default', () => {
    expect(fieldErrors(getIntrospectionQuery(), 10)).toEqual([]);
    expect(fieldErrors(getIntrospectionQuery(), 10, { ignoreIntrospection: false })).toHaveLength(
      1,
    );
  });
});
