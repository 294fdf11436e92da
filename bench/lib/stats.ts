/** Summaries of measured values: percentiles, median, mean. */

/**
 * The `p`th percentile (nearest rank) of `total` values of which `sorted` holds the known ones, in
 * ascending order. The others (results never delivered) count as infinitely late: a rank past
 * the end of `sorted` is `Infinity`. NaN when there are no values.
 * @param total - how many values there should be; `sorted.length` by default
 */
export function percentile(sorted: ArrayLike<number>, p: number, total = sorted.length): number {
  if (total === 0) return Number.NaN;
  const i = Math.min(total - 1, Math.max(0, Math.ceil((p / 100) * total) - 1));
  return i < sorted.length ? (sorted[i] ?? Number.NaN) : Infinity;
}

/** The median of `values` (any order): the mean of the middle two for an even count; NaN for none. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] ?? NaN)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** The arithmetic mean of `values`; NaN for none. */
export function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** `parts` (one per client process, say) in one array, sorted ascending. */
export function mergeSorted(parts: Float64Array[]): Float64Array {
  const merged = new Float64Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    merged.set(part, offset);
    offset += part.length;
  }
  return merged.sort();
}
