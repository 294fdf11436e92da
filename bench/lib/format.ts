/** How the benches print numbers in their tables. */

/**
 * `n` with thousands separators and exactly `digits` decimals (`12,297`, `27.5`); `missing` when
 * it is not a finite number.
 */
export function grouped(n: number, digits = 0, missing = '-'): string {
  if (!Number.isFinite(n)) return missing;
  return n.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/**
 * `value.toFixed(digits)`; `∞` for Infinity (results never delivered, see `percentile`), `-` for
 * no value (NaN).
 */
export function fixed(value: number, digits = 1): string {
  return value === Infinity ? '∞' : Number.isFinite(value) ? value.toFixed(digits) : '-';
}
