import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listSubgraphs, readSupergraphFile, SupergraphError } from './supergraph';

const SUPERGRAPH = `
  enum join__Graph {
    USERS @join__graph(name: "users", url: "http://127.0.0.1:4001/graphql")
    INTERVIEWS @join__graph(name: "interviews", url: "http://127.0.0.1:4002/graphql")
  }
  type Query { a: Int }
`;

describe('supergraph file', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'supergraph-test-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('lists the subgraphs of the join__Graph enum', () => {
    expect(listSubgraphs(SUPERGRAPH)).toEqual([
      { name: 'users', url: 'http://127.0.0.1:4001/graphql' },
      { name: 'interviews', url: 'http://127.0.0.1:4002/graphql' },
    ]);
  });

  it('reads a valid file', async () => {
    const path = join(dir, 'ok.graphql');
    await writeFile(path, SUPERGRAPH);
    await expect(readSupergraphFile(path)).resolves.toBe(SUPERGRAPH);
  });

  it.each([
    [
      'missing.graphql',
      undefined,
      /^Cannot read the supergraph at .*missing\.graphql: no such file$/,
    ],
    [
      'broken.graphql',
      'type Query {',
      /^The supergraph at .*broken\.graphql is invalid: Syntax Error/,
    ],
    ['plain.graphql', 'type Query { a: Int }', /is invalid: it declares no subgraph/],
  ])('refuses %s in one line naming the path', async (name, content, message) => {
    const path = join(dir, name);
    if (content !== undefined) await writeFile(path, content);
    const error = await readSupergraphFile(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SupergraphError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('\n');
  });
});
