import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const REPO_ROOT = path.resolve(__dirname, '..');

/**
 * Runs `generate` from @graphql-codegen/cli with codegen.ts, without writing, in a child Node:
 * the CLI pulls in ESM-only packages (yargs, chalk, listr2) that Node 20 loads through
 * require(esm) but jest's module registry cannot. The outputs come back through a temp file
 * rather than stdout, which the CLI may also write to.
 */
const CHILD = `
const { writeFileSync } = require('node:fs');
const { generate } = require('@graphql-codegen/cli');
const config = require('./codegen.ts').default;
generate({ ...config, cwd: process.cwd(), silent: true }, false).then(
  (outputs) => writeFileSync(process.argv[1], JSON.stringify(outputs.map(({ filename, content }) => ({ filename, content })))),
  (error) => { console.error(error instanceof Error ? error.message : String(error)); process.exit(1); },
);
`;

interface Output {
  filename: string;
  content: string;
}

async function freshCodegen(): Promise<Output[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'codegen-test-'));
  try {
    const file = path.join(dir, 'outputs.json');
    await promisify(execFile)(process.execPath, ['--import', 'tsx', '-e', CHILD, file], {
      cwd: REPO_ROOT,
      timeout: 120_000,
    });
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (!Array.isArray(parsed)) throw new Error('codegen returned no list of outputs');
    return parsed.map((item: unknown) => {
      const { filename, content } = (item ?? {}) as Partial<Record<keyof Output, unknown>>;
      if (typeof filename !== 'string' || typeof content !== 'string') {
        throw new Error(`codegen returned an output without filename or content`);
      }
      return { filename, content };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `file: missing` or `file: differs from line N`; undefined when equal. */
function staleness({ filename, content }: Output): string | undefined {
  let current: string;
  try {
    current = readFileSync(path.resolve(REPO_ROOT, filename), 'utf8');
  } catch {
    return `${filename}: missing`;
  }
  if (current === content) return undefined;
  const fresh = content.split('\n');
  const line = current.split('\n').findIndex((text, i) => text !== fresh[i]);
  return `${filename}: differs from line ${(line === -1 ? fresh.length : line) + 1}`;
}

describe('npm run codegen', () => {
  it('has its outputs checked in and up to date', async () => {
    const outputs = await freshCodegen();
    expect(outputs.map((o) => o.filename).sort()).toEqual([
      'events/subgraph/generated/resolvers-types.ts',
      'generated/graphql.ts',
      'subgraphs/interviews/generated/resolvers-types.ts',
      'subgraphs/reporting/generated/resolvers-types.ts',
      'subgraphs/users/generated/resolvers-types.ts',
      'web/src/gql/gql.ts',
      'web/src/gql/graphql.ts',
      'web/src/gql/index.ts',
    ]);
    const stale = outputs.map(staleness).filter((s) => s !== undefined);
    if (stale.length > 0) {
      throw new Error(`Generated types are stale; run npm run codegen.\n${stale.join('\n')}`);
    }
  }, 120_000);
});
