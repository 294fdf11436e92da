/**
 * The import boundaries of scripts/eslint/boundaries.mjs, through ESLint itself with the
 * project's eslint.config.mjs: each forbidden direction fails lint with a message naming it, and
 * the allowed ones pass. ESLint runs in a child process (its config is an ES module).
 */
import { execFileSync } from 'node:child_process';
import { PROJECT_ROOT } from '../../lib/project-root';

interface Case {
  /** The file the import is written in, relative to the project root (it need not exist). */
  file: string;
  /** The import's specifier. */
  from: string;
}

/** The `boundaries/layers` messages ESLint reports for each case, in order. */
function lint(cases: Case[]): string[][] {
  const script = `
    import { ESLint } from 'eslint';
    const cases = JSON.parse(process.argv[1]);
    const eslint = new ESLint();
    const out = [];
    for (const { file, from } of cases) {
      const code = "import { thing } from '" + from + "';\\nexport const used = thing;\\n";
      const [result] = await eslint.lintText(code, { filePath: file });
      out.push(result.messages.filter((m) => m.ruleId === 'boundaries/layers').map((m) => m.message));
    }
    console.log(JSON.stringify(out));
  `;
  const stdout = execFileSync(
    process.execPath,
    ['--input-type=module', '-e', script, JSON.stringify(cases)],
    { cwd: PROJECT_ROOT, encoding: 'utf8' },
  );
  return JSON.parse(stdout) as string[][];
}

const FORBIDDEN: Case[] = [
  { file: 'gateway/probe.ts', from: '../subgraphs/users/user-service' },
  { file: 'gateway/auth/probe.ts', from: '../../notifications/service' },
  { file: 'subgraphs/users/probe.ts', from: '../../gateway/gateway' },
  { file: 'notifications/probe.ts', from: '../subgraphs/shared/subgraph' },
  { file: 'events/kafka/probe.ts', from: '../../gateway/identity' },
  { file: 'events/probe.ts', from: '../subgraphs/shared/errors' },
  { file: 'lib/probe.ts', from: '../events/envelope' },
  { file: 'lib/probe.ts', from: '../contracts/errors' },
  { file: 'config/probe.ts', from: '../lib/logger' },
  { file: 'contracts/probe.ts', from: '../gateway/identity' },
  { file: 'gateway/probe.ts', from: '../scripts/dev-idp' },
  { file: 'subgraphs/shared/probe.ts', from: '../../test/helpers' },
  { file: 'web/src/probe.tsx', from: '../../contracts/errors' },
  { file: 'web/src/api/probe.test.ts', from: '../../../test/helpers' },
  { file: 'web/src/probe.ts', from: '../../codegen' },
  { file: 'gateway/probe.ts', from: '../web/src/api' },
  { file: 'scripts/probe.ts', from: '../web/src/gql/graphql' },
];

const ALLOWED: Case[] = [
  { file: 'gateway/probe.ts', from: '../events/topics' },
  { file: 'gateway/probe.ts', from: '../contracts/identity' },
  { file: 'subgraphs/users/probe.ts', from: '../shared/subgraph' },
  { file: 'subgraphs/users/probe.ts', from: '../../lib/logger' },
  { file: 'events/probe.ts', from: '../contracts/errors' },
  { file: 'lib/probe.ts', from: '../config' },
  { file: 'gateway/probe.test.ts', from: '../test/helpers' },
  { file: 'gateway/probe.test.ts', from: '../scripts/dev-idp' },
  { file: 'scripts/probe.ts', from: '../gateway/gateway' },
  { file: 'test/probe.ts', from: '../subgraphs/users/main' },
  { file: 'web/src/pages/probe.tsx', from: '../api' },
  { file: 'web/src/api/probe.test.ts', from: '../gql/graphql' },
];

describe('import boundaries (eslint boundaries/layers)', () => {
  const forbidden = FORBIDDEN.map((c) => ({ ...c, messages: [] as string[] }));
  const allowed = ALLOWED.map((c) => ({ ...c, messages: [] as string[] }));

  beforeAll(() => {
    const results = lint([...FORBIDDEN, ...ALLOWED]);
    forbidden.forEach((c, i) => (c.messages = results[i] ?? []));
    allowed.forEach((c, i) => (c.messages = results[FORBIDDEN.length + i] ?? []));
  }, 60_000);

  it.each(forbidden)('refuses $from in $file', ({ file, from, messages }) => {
    const folder = file.split('/')[0];
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain(`${folder}/ must not import`);
    expect(messages[0]).toContain(from);
  });

  it.each(allowed)('allows $from in $file', ({ messages }) => {
    expect(messages).toEqual([]);
  });
});
