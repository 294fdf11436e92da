import { readFileSync } from 'node:fs';
import { listErrorCodes } from '../contracts/errors';
import { README_PATH, renderErrorCodeTable, renderReadme } from './docs';

describe('generated documentation', () => {
  it('the README error-code table is the registry’s (npm run docs rewrites it)', () => {
    const readme = readFileSync(README_PATH, 'utf8');
    expect(renderReadme(readme)).toBe(readme);
  });

  it('lists every code of the registry, with its status, close code and retry advice', () => {
    const table = renderErrorCodeTable();
    for (const [code, d] of listErrorCodes()) {
      const row = table.split('\n').find((line) => line.startsWith(`| \`${code}\` `));
      expect(row).toBeDefined();
      const cells = row!.split(' | ').map((c) => c.trim());
      expect(cells[2]).toBe(String(d.httpStatus));
      expect(cells[3]).toBe(d.closeCode === undefined ? '' : String(d.closeCode));
      expect(cells[4]).toBe(d.retriable ? 'yes' : 'no');
    }
  });

  it('refuses a README without the markers, naming them', () => {
    expect(() => renderReadme('# no table here\n')).toThrow('<!-- error-codes:begin -->');
  });
});
