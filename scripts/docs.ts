/**
 * `npm run docs`: writes the README's generated sections from the code they describe, so the
 * two cannot drift apart; `npm run docs -- --check` (and a unit test) fails when one is stale.
 *
 * Today one section: the table of error codes, from the registry in contracts/errors.ts
 * (Apollo Federation's `genErrorCodeDoc.ts` does the same for its codes), between the
 * `<!-- error-codes:begin -->` and `<!-- error-codes:end -->` markers.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { listErrorCodes, type ErrorKind } from '../contracts/errors';
import { PROJECT_ROOT } from '../lib/project-root';

export const README_PATH = path.join(PROJECT_ROOT, 'README.md');
const BEGIN = '<!-- error-codes:begin -->';
const END = '<!-- error-codes:end -->';

const KIND_TITLES: Record<ErrorKind, string> = {
  domain: 'domain',
  graphql: 'request',
  gateway: 'gateway',
  subscription: 'subscription',
  auth: 'sign-in',
  event: 'event',
};

/** The markdown table of every registry code, grouped by kind in the registry's order. */
export function renderErrorCodeTable(): string {
  const rows = listErrorCodes().map(([code, d]) => [
    `\`${code}\``,
    KIND_TITLES[d.kind],
    String(d.httpStatus),
    d.closeCode === undefined ? '' : String(d.closeCode),
    d.retriable ? 'yes' : 'no',
    d.description.replace(/\|/g, '\\|'),
  ]);
  const header = ['code', 'kind', 'HTTP', 'close', 'retry helps', 'meaning'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/**
 * `readme` with its generated sections rewritten.
 * @throws when a section's markers are missing.
 */
export function renderReadme(readme: string): string {
  const begin = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (begin < 0 || end < begin)
    throw new Error(`README.md has no ${BEGIN} ... ${END} section for the error codes`);
  return `${readme.slice(0, begin + BEGIN.length)}\n\n${renderErrorCodeTable()}\n\n${readme.slice(end)}`;
}

function main(): void {
  const check = process.argv.includes('--check');
  const current = readFileSync(README_PATH, 'utf8');
  const wanted = renderReadme(current);
  if (current === wanted) {
    console.log('README.md: generated sections are up to date');
    return;
  }
  if (check) {
    console.error('README.md: the error-code table is stale; run `npm run docs`');
    process.exit(1);
  }
  writeFileSync(README_PATH, wanted);
  console.log('README.md: generated sections written');
}

if (require.main === module) main();
