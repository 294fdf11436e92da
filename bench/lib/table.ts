/** Markdown tables, as the benches print their results (and bench/README.md quotes them). */

/** How `markdownTable` aligns its columns. */
export interface TableOptions {
  /**
   * The left-aligned columns: the first `left` of them, or those for which `left(index)` is
   * true. The others are right-aligned (`---:`).
   * @default 1
   */
  left?: number | ((column: number) => boolean);
  /**
   * Marks the left-aligned columns `:---` in the rule under the head, instead of `----`.
   * @default false
   */
  markLeft?: boolean;
}

/** A Markdown table of `rows` under `head`, every column padded to its widest cell. */
export function markdownTable(
  head: string[],
  rows: string[][],
  options: TableOptions = {},
): string {
  const { left = 1, markLeft = false } = options;
  const isLeft = typeof left === 'number' ? (i: number) => i < left : left;
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]?.length ?? 0)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (isLeft(i) ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  const rule = (w: number, i: number) =>
    !isLeft(i) ? `${'-'.repeat(w + 1)}:` : markLeft ? `:${'-'.repeat(w + 1)}` : '-'.repeat(w + 2);
  return [line(head), `|${widths.map(rule).join('|')}|`, ...rows.map(line)].join('\n');
}
