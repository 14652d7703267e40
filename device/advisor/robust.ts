/** Small robust statistics for the advisor's pixel sets (medians and interquartile means). */

/** Median of `values` (copied, not reordered in place); NaN when empty. */
export function median(values: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  return n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

/** Indices of `keys` in ascending key order. */
export function orderBy(keys: ArrayLike<number>): Uint32Array {
  const idx = Uint32Array.from({ length: keys.length }, (_, i) => i);
  return idx.sort((a, b) => keys[a] - keys[b]);
}
