import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { composeSupergraph, supergraphFileContent, type ComposeResult } from './compose';

const REPO_ROOT = path.resolve(__dirname, '..');
const FED =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'compose-test-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Writes `files` (path relative to the temp dir -> content) and returns the config's path. */
function fixture(files: Record<string, string>): string {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  return path.join(dir, 'supergraph.yaml');
}

function errorsOf(result: ComposeResult): string[] {
  if (result.ok) throw new Error('expected composition to fail, but it succeeded');
  return result.errors;
}

const TWO_SUBGRAPHS = `
subgraphs:
  alpha:
    routing_url: http://127.0.0.1:4001/graphql
    schema:
      file: ./alpha.graphql
  beta:
    routing_url: http://127.0.0.1:4002/graphql
    schema:
      file: ./beta.graphql
`;

describe('supergraph.graphql', () => {
  it('is what npm run compose writes today', () => {
    const result = composeSupergraph(path.join(REPO_ROOT, 'supergraph.yaml'));
    if (!result.ok) throw new Error(`The subgraphs do not compose:\n${result.errors.join('\n')}`);
    const onDisk = path.join(REPO_ROOT, 'supergraph.graphql');
    const current = existsSync(onDisk) ? readFileSync(onDisk, 'utf8') : undefined;
    if (current !== supergraphFileContent(result.supergraphSdl)) {
      throw new Error(
        `supergraph.graphql is ${current === undefined ? 'missing' : 'stale'}: run npm run compose`,
      );
    }
  });
});

describe('composeSupergraph', () => {
  it('composes subgraphs whose schema files are relative to the config', () => {
    const result = composeSupergraph(
      fixture({
        'supergraph.yaml': TWO_SUBGRAPHS,
        'alpha.graphql': `${FED}\ntype Query { a: Product }\ntype Product @key(fields: "id") { id: ID! name: String }`,
        'beta.graphql': `${FED}\ntype Query { b: Product }\ntype Product @key(fields: "id") { id: ID! price: Int }`,
      }),
    );
    expect(result).toMatchObject({ ok: true, hints: [] });
    if (!result.ok) return;
    expect(result.supergraphSdl).toContain(
      'ALPHA @join__graph(name: "alpha", url: "http://127.0.0.1:4001/graphql")',
    );
    expect(result.supergraphSdl).toContain('price: Int @join__field(graph: BETA)');
  });

  it('names a missing config file', () => {
    const missing = path.join(dir, 'nope.yaml');
    expect(errorsOf(composeSupergraph(missing))).toEqual([
      `${missing}: supergraph config not found (looked for ${missing})`,
    ]);
  });

  it('reports invalid YAML with line and column', () => {
    const config = fixture({
      'supergraph.yaml': 'subgraphs:\n  alpha: {}\n  alpha: {}\n  beta: [1\n',
    });
    expect(errorsOf(composeSupergraph(config))).toEqual([
      `${config}:3:3: invalid YAML: Map keys must be unique`,
      // yaml points at where it gave up looking for the "]": the end of the file.
      `${config}:5:1: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]`,
    ]);
  });

  it('rejects a config without subgraphs', () => {
    const config = fixture({ 'supergraph.yaml': 'federation_version: =2.14.4\n' });
    expect(errorsOf(composeSupergraph(config))).toEqual([
      `${config}: "subgraphs" must be a mapping of subgraph names to their settings`,
    ]);
  });

  it('lists every subgraph without routing_url or schema.file, and missing schema files', () => {
    const config = fixture({
      'supergraph.yaml': `
subgraphs:
  no-url:
    schema:
      file: ./alpha.graphql
  bad-url:
    routing_url: localhost:4001
    schema:
      file: ./alpha.graphql
  no-file:
    routing_url: http://127.0.0.1:4002/graphql
    schema:
      subgraph_url: http://127.0.0.1:4002/graphql
  gone:
    routing_url: http://127.0.0.1:4003/graphql
    schema:
      file: ./schemas/gone.graphql
`,
      'alpha.graphql': `${FED}\ntype Query { a: Int }`,
    });
    expect(errorsOf(composeSupergraph(config))).toEqual([
      `${config}: subgraph "no-url": routing_url is missing (the URL the router sends its requests to)`,
      `${config}: subgraph "bad-url": routing_url "localhost:4001" is not an http(s) URL`,
      `${config}: subgraph "no-file": schema.file is missing (a path to its SDL, relative to the folder of ${config})`,
      `${config}: subgraph "gone": schema file "./schemas/gone.graphql" not found (looked for ${path.join(dir, 'schemas', 'gone.graphql')})`,
    ]);
  });

  it('rejects a federation_version other than the installed composer', () => {
    const config = fixture({
      'supergraph.yaml': `federation_version: =2.3.0\n${TWO_SUBGRAPHS}`,
      'alpha.graphql': `${FED}\ntype Query { a: Int }`,
      'beta.graphql': `${FED}\ntype Query { b: Int }`,
    });
    expect(errorsOf(composeSupergraph(config))).toEqual([
      expect.stringMatching(
        /federation_version =2\.3\.0 does not match the composer: @apollo\/composition 2\.\d+\.\d+ is installed/,
      ),
    ]);
  });

  it('reports a GraphQL syntax error with subgraph, file, line and column', () => {
    const config = fixture({
      'supergraph.yaml': TWO_SUBGRAPHS,
      'alpha.graphql': `${FED}\ntype Query { a: Int }`,
      'beta.graphql': `${FED}\ntype Query {\n  b: \n}\n`,
    });
    expect(errorsOf(composeSupergraph(config))).toEqual([
      `subgraph "beta": ${path.join(dir, 'beta.graphql')}:4:1: Syntax Error: Expected Name, found "}".`,
    ]);
  });

  it('reports a composition error with its code, the subgraphs and where', () => {
    // The same field with different types and no @shareable in both subgraphs.
    const config = fixture({
      'supergraph.yaml': TWO_SUBGRAPHS,
      'alpha.graphql': `${FED}\ntype Query { a: Product }\ntype Product @key(fields: "id") {\n  id: ID!\n  name: String\n}`,
      'beta.graphql': `${FED}\ntype Query { b: Product }\ntype Product @key(fields: "id") {\n  id: ID!\n  name: Int\n}`,
    });
    const errors = errorsOf(composeSupergraph(config));
    const where = `(at ${path.join(dir, 'alpha.graphql')}:5:3, ${path.join(dir, 'beta.graphql')}:5:3)`;
    expect(errors).toEqual([
      `FIELD_TYPE_MISMATCH [alpha, beta]: Type of field "Product.name" is incompatible across subgraphs: it has type "String" in subgraph "alpha" but type "Int" in subgraph "beta" ${where}`,
      `INVALID_FIELD_SHARING [alpha, beta]: Non-shareable field "Product.name" is resolved from multiple subgraphs: it is resolved from subgraphs "alpha" and "beta" and defined as non-shareable in all of them ${where}`,
    ]);
  });

  it('names the subgraph of an error found while validating one subgraph', () => {
    const config = fixture({
      'supergraph.yaml': TWO_SUBGRAPHS,
      'alpha.graphql': `${FED}\ntype Query { a: Int @nope }`,
      'beta.graphql': `${FED}\ntype Query { b: Int }`,
    });
    expect(errorsOf(composeSupergraph(config))).toEqual([
      `INVALID_GRAPHQL [alpha]: Unknown directive "@nope". (at ${path.join(dir, 'alpha.graphql')}:2:21)`,
    ]);
  });
});

describe('npm run compose (CLI)', () => {
  /** Runs the script as npm would, in a child process; resolves whatever the exit code. */
  function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', path.join(__dirname, 'compose.ts'), ...args],
        { cwd: REPO_ROOT, timeout: 60_000 },
        (error, stdout, stderr) => {
          const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
          resolve({ code, stdout, stderr });
        },
      );
    });
  }

  it('writes the supergraph, then --check passes, and fails without writing once stale', async () => {
    const config = fixture({
      'supergraph.yaml': TWO_SUBGRAPHS,
      'alpha.graphql': `${FED}\ntype Query { a: Int }`,
      'beta.graphql': `${FED}\ntype Query { b: Int }`,
    });
    const out = path.join(dir, 'out.graphql');

    const written = await run(['--config', config, '--out', out]);
    expect(written).toMatchObject({ code: 0, stdout: `Wrote ${out} (0 hints).\n` });
    expect(readFileSync(out, 'utf8')).toMatch(/^schema\n[\s\S]*\n}\n$/);

    expect(await run(['--config', config, '--out', out, '--check'])).toMatchObject({
      code: 0,
      stdout: `${out} is up to date (0 hints).\n`,
    });

    writeFileSync(out, 'stale\n');
    const checked = await run(['--config', config, '--out', out, '--check']);
    expect(checked.code).toBe(1);
    expect(checked.stderr).toBe(
      `${out} is stale: it differs from a fresh composition. Run: npm run compose -- --config ${config} --out ${out}\n`,
    );
    expect(readFileSync(out, 'utf8')).toBe('stale\n');
  }, 60_000);

  it('exits 1 with the errors and no stack trace', async () => {
    const config = fixture({ 'supergraph.yaml': 'subgraphs: {}\n' });
    const result = await run(['--config', config, '--out', path.join(dir, 'out.graphql')]);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `Cannot compose the supergraph (1 error):\n  ${config}: "subgraphs" must be a mapping of subgraph names to their settings\n`,
    });
    expect(existsSync(path.join(dir, 'out.graphql'))).toBe(false);
  }, 60_000);
});
